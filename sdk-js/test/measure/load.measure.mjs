// Measurement, not a pass/fail timing test (run by `make sdk-js-measure`): one
// Chromium page holds 1,000 subscriptions of one @centrifuge/sdk client while
// the server publishes RATE publications a second into them (broadcast
// requests of 100 channels). Prints what arrived, the delivery latency, and
// the page's frames (requestAnimationFrame intervals; a frame counts as
// dropped when its interval exceeds 1.5 x the median) and long tasks.
// Asserts only that every publication arrived.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, randomHex, signJwt, sleep } from '../../../tests/interop/harness.mjs';
import { pageServer, openPage, step } from '../e2e/browser.mjs';

const SUBS = Number(process.env.SUBS || 1000);
const RATE = Number(process.env.RATE || 10000); // publications a second, over all channels
const DURATION = Number(process.env.DURATION || 10);
const PER_REQUEST = 100;

const { origin: PAGE } = await pageServer();

// Our own config: the harness's fixes the client section, and the defaults cap
// a connection at 128 subscriptions and 100 commands a second.
const dir = mkdtempSync(join(tmpdir(), 'centrifuge-sdkjs-measure-'));
const secret = randomHex(16);
const apiKey = randomHex(16);
writeFileSync(join(dir, 'config.yaml'), `http: {address: "127.0.0.1", port: 0, allowed_origins: ["${PAGE}"]}
log: {level: info}
client: {max_subscriptions: ${SUBS + 10}, max_commands_per_second: 0}
projects:
  - name: default
    secret: "${secret}"
    api_key: "${apiKey}"
    options: {history_size: 10, history_ttl: 60s, allow_subscribe_for_client: true}
`);
const proc = spawn(BIN, ['serve', '--config', join(dir, 'config.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
after(() => { proc.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
const port = await new Promise((resolve, reject) => {
  let err = '';
  proc.stderr.on('data', (d) => {
    err += d;
    const m = /listening.*?addr="?127\.0\.0\.1:(\d+)/.exec(err);
    if (m) resolve(Number(m[1]));
  });
  proc.on('exit', () => reject(new Error(`server exited: ${err}`)));
});
const base = `http://127.0.0.1:${port}`;

test(`1 page, ${SUBS} subscriptions, ${RATE} publications/s for ${DURATION} s`, async () => {
  const page = await openPage(`${PAGE}/page/index.html`);
  const token = signJwt({ sub: 'load', exp: Math.floor(Date.now() / 1000) + 3600 }, secret);
  const channels = Array.from({ length: SUBS }, (_, i) => `load_${i}`);
  const t0 = Date.now();
  await page.evaluate(async ({ base, token, channels }) => {
    const c = new Centrifuge(base, { token, transports: ['websocket'] });
    const m = (window.M = { received: 0, lat: [], frames: [], longtasks: [], on: false });
    const onPub = (ctx) => {
      m.received++;
      if ((m.received & 15) === 0) m.lat.push(Date.now() - ctx.data.t);
    };
    for (const ch of channels) {
      const s = c.newSubscription(ch, { recoverable: true });
      s.on('publication', onPub);
      s.subscribe();
    }
    c.connect();
    await Promise.all(channels.map((ch) => c.getSubscription(ch).ready(30000)));
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (m.on) m.longtasks.push(e.duration); }).observe({ entryTypes: ['longtask'] });
    const frame = (ts) => { if (m.on) m.frames.push(ts); requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
    window.C = c;
  }, { base, token, channels });
  const subscribeMs = Date.now() - t0;

  await page.evaluate(() => { window.M.on = true; });
  let sent = 0;
  const interval = 1000 / (RATE / PER_REQUEST);
  const start = Date.now();
  let next = start;
  let g = 0;
  const inflight = new Set();
  while (Date.now() - start < DURATION * 1000) {
    const group = channels.slice((g * PER_REQUEST) % SUBS, ((g * PER_REQUEST) % SUBS) + PER_REQUEST);
    g++;
    const p = fetch(`${base}/api/broadcast`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
      body: JSON.stringify({ channels: group, data: { t: Date.now() } }),
    }).then((r) => r.json()).then((j) => { if (j.result) sent += group.length; });
    inflight.add(p);
    p.finally(() => inflight.delete(p));
    next += interval;
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
  }
  await Promise.all(inflight);
  const elapsed = (Date.now() - start) / 1000;
  const until = Date.now() + 20000;
  while ((await page.evaluate(() => window.M.received)) < sent && Date.now() < until) await sleep(100);
  const m = await page.evaluate(() => { window.M.on = false; return window.M; });
  await step(page, [], 'disconnect').catch(() => {});
  await page.evaluate(() => window.C.disconnect());
  await page.close();

  const iv = m.frames.slice(1).map((t, i) => t - m.frames[i]).sort((a, b) => a - b);
  const med = iv[Math.floor(iv.length / 2)] || 0;
  const dropped = iv.filter((x) => x > med * 1.5).length;
  const lat = m.lat.sort((a, b) => a - b);
  const pct = (a, p) => a[Math.min(a.length - 1, Math.floor(a.length * p))];
  const report = {
    subscriptions: SUBS,
    subscribe_all_ms: subscribeMs,
    target_rate: RATE,
    achieved_rate: Math.round(sent / elapsed),
    published: sent,
    received: m.received,
    latency_ms: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: lat[lat.length - 1] },
    frames: iv.length + 1,
    frame_interval_median_ms: +med.toFixed(1),
    frames_over_1_5x_median: dropped,
    max_frame_interval_ms: +(iv[iv.length - 1] || 0).toFixed(1),
    long_tasks: m.longtasks.length,
    long_task_total_ms: Math.round(m.longtasks.reduce((a, b) => a + b, 0)),
  };
  console.log(`MEASURE ${JSON.stringify(report, null, 2)}`);
  assert.equal(m.received, sent, 'every publication arrived');
});
