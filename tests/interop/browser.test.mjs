// The stock centrifuge-js browser bundle (dist/centrifuge.js) and sockjs-client
// (dist/sockjs.min.js) in real Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), on a page served here from another origin than the server:
// every transport connects, subscribes, receives a publication sent through the
// API, publishes, reads history and recovers missed publications after a reconnect
// the server forces; with WebSocket refused by the server, a client configured
// with several transports falls back; a page on an origin not allowed gets nowhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { useServer, uniq } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync'];

// The page's files: ours, and the stock bundles from node_modules.
const FILES = {
  '/index.html': [resolve(here, 'browser/index.html'), 'text/html; charset=utf-8'],
  '/page.js': [resolve(here, 'browser/page.js'), 'text/javascript; charset=utf-8'],
  '/centrifuge.js': [resolve(here, 'node_modules/centrifuge/dist/centrifuge.js'), 'text/javascript; charset=utf-8'],
  '/sockjs.min.js': [resolve(here, 'node_modules/sockjs-client/dist/sockjs.min.js'), 'text/javascript; charset=utf-8'],
};
const pageServer = http.createServer((req, res) => {
  const f = FILES[new URL(req.url, 'http://x').pathname];
  if (!f) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'Content-Type': f[1], 'Cache-Control': 'no-store' }).end(readFileSync(f[0]));
});
await new Promise((r) => pageServer.listen(0, '127.0.0.1', r));
pageServer.unref();
const PAGE_PORT = pageServer.address().port;
// The page's origin (allowed) and the same page on an origin that is not allowed.
const PAGE = `http://127.0.0.1:${PAGE_PORT}`;
const PAGE_DENIED = `http://localhost:${PAGE_PORT}`;

const config = {
  httpExtra: `allowed_origins: ["${PAGE}"]`,
  // The iframe transports load sockjs-client from the page's server (no CDN in tests).
  extraYaml: `sockjs: {client_url: "${PAGE}/sockjs.min.js", heartbeat_delay: 5s}`,
};
const server = useServer(config);
// The same, refusing WebSocket upgrades (as a proxy that strips them).
const noWs = useServer({ ...config, httpExtra: `${config.httpExtra}, disable_websocket: true` });

let browser = null;
let userDataDir = null;

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is not installed (Debian package chromium): run \`make deps\` (scripts/deps.sh) first`);
  }
  userDataDir = mkdtempSync(join(tmpdir(), 'centrifuge-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
  });
});

after(async () => {
  if (browser) await browser.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  pageServer.close();
});

/** A fresh page of the test site; its console and errors go to its log. */
async function openPage(origin = PAGE) {
  const page = await browser.newPage();
  page.consoleLines = [];
  page.on('console', (m) => page.consoleLines.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => page.consoleLines.push(`[pageerror] ${e.message}`));
  await page.goto(`${origin}/index.html`);
  return page;
}

/** What to show when a step fails: the page's client log, console, and the server log. */
async function pageDump(page, srv) {
  let log = '';
  try { log = await page.evaluate(() => window.T.log()); } catch (e) { log = `(page log unavailable: ${e.message})`; }
  return `--- page client log ---\n${log}\n--- page console ---\n${page.consoleLines.slice(-30).join('\n')}\n${srv.log(30)}`;
}

/** Calls window.T[method](...args) in the page; a failure names the step and dumps the logs. */
async function step(page, srv, method, ...args) {
  try {
    return await page.evaluate(([m, a]) => window.T[m](...a), [method, args]);
  } catch (e) {
    throw new Error(`page step ${method}(${JSON.stringify(args).slice(0, 200)}) failed: ${e.message}\n${await pageDump(page, srv)}`);
  }
}

function endpoints(srv, transport) {
  const base = srv.base;
  const ws = base.replace(/^http/, 'ws');
  switch (transport) {
    case 'websocket': return `${ws}/connection/websocket`;
    case 'sockjs': return [{ transport: 'sockjs', endpoint: `${base}/connection/sockjs` }];
    case 'http_stream': return [{ transport: 'http_stream', endpoint: `${base}/connection/http_stream` }];
    case 'sse': return [{ transport: 'sse', endpoint: `${base}/connection/sse` }];
    default: throw new Error(transport);
  }
}

/**
 * One client on `transport` (sockjs: restricted to sockjsTransport): connect,
 * subscribe, a publication from the API, one from the page, history, then a
 * reconnect forced by the server with publications missed meanwhile recovered.
 */
async function scenario(transport, sockjsTransport) {
  const label = sockjsTransport ? `sockjs-${sockjsTransport}` : transport;
  const page = await openPage();
  try {
    const connected = await step(page, server, 'connect', {
      endpoints: endpoints(server, transport),
      token: server.token(`user-${label}`),
      sockjsTransports: sockjsTransport ? [sockjsTransport] : undefined,
      emulationEndpoint: `${server.base}/emulation`,
      minReconnectDelay: 1000,
      maxReconnectDelay: 1200,
    });
    assert.equal(connected.transport, label, `connected over ${connected.transport}, want ${label}\n${await pageDump(page, server)}`);
    if (sockjsTransport) {
      assert.equal(await step(page, server, 'sockjsTransport'), sockjsTransport);
    }

    const channel = uniq(`br_${label.replace(/-/g, '_')}`);
    const sub = await step(page, server, 'subscribe', channel);
    assert.equal(sub.recoverable, true, `subscription should be recoverable: ${JSON.stringify(sub)}`);

    const r1 = await server.api('publish', { channel, data: { n: 1, from: 'api' } });
    let pubs = await step(page, server, 'pubs', channel, 1);
    assert.deepEqual(pubs[0], { data: { n: 1, from: 'api' }, offset: r1.offset });

    await step(page, server, 'publish', channel, { n: 2, from: label });
    pubs = await step(page, server, 'pubs', channel, 2);
    assert.deepEqual(pubs[1].data, { n: 2, from: label });

    const hist = await step(page, server, 'history', channel, 10);
    assert.deepEqual(hist.publications.map((p) => p.data.n), [1, 2], `history: ${JSON.stringify(hist)}`);
    assert.equal(hist.epoch, r1.epoch);

    // The server forces a reconnect (3011); publications 3 and 4 come while the
    // client is away and must be recovered on resubscribe.
    await step(page, server, 'armReconnect', channel);
    await server.api('disconnect', { user: `user-${label}`, client: connected.client, disconnect: { code: 3011, reason: 'test reconnect' } });
    const lost = await step(page, server, 'waitLost');
    assert.equal(lost.code, 3011, `lost with ${JSON.stringify(lost)}`);
    await server.api('publish', { channel, data: { n: 3 } });
    await server.api('publish', { channel, data: { n: 4 } });
    const again = await step(page, server, 'waitResubscribed');
    assert.deepEqual(again, { recovered: true, wasRecovering: true }, `resubscribe: ${JSON.stringify(again)}\n${await pageDump(page, server)}`);
    pubs = await step(page, server, 'pubs', channel, 4);
    assert.deepEqual(pubs.map((p) => p.data.n), [1, 2, 3, 4], `publications, each once: ${JSON.stringify(pubs)}`);
    assert.deepEqual(pubs.map((p) => p.offset), [r1.offset, r1.offset + 1, r1.offset + 2, r1.offset + 3]);
  } finally {
    await step(page, server, 'disconnect').catch(() => {});
    await page.close();
  }
}

test('browser: websocket', () => scenario('websocket'));
for (const t of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource', 'iframe-htmlfile', 'jsonp-polling']) {
  test(`browser: sockjs ${t}`, () => scenario('sockjs', t));
}
test('browser: http_stream', () => scenario('http_stream'));
test('browser: sse', () => scenario('sse'));

test('browser: with WebSocket refused, [websocket, http_stream, sse, sockjs] falls back and receives', async () => {
  const base = noWs.base;
  const all = [
    { transport: 'websocket', endpoint: `${base.replace(/^http/, 'ws')}/connection/websocket` },
    { transport: 'http_stream', endpoint: `${base}/connection/http_stream` },
    { transport: 'sse', endpoint: `${base}/connection/sse` },
    { transport: 'sockjs', endpoint: `${base}/connection/sockjs` },
  ];
  for (const [list, want] of [[all, /^http_stream$/], [[all[0], all[3]], /^sockjs-(?!websocket)/]]) {
    const page = await openPage();
    try {
      const connected = await step(page, noWs, 'connect', {
        endpoints: list, token: noWs.token('fallback'), emulationEndpoint: `${base}/emulation`,
      });
      assert.match(connected.transport, want, `${list.map((x) => x.transport)} connected over ${connected.transport}\n${await pageDump(page, noWs)}`);
      const channel = uniq('br_fallback');
      await step(page, noWs, 'subscribe', channel);
      await noWs.api('publish', { channel, data: { fallback: true } });
      const pubs = await step(page, noWs, 'pubs', channel, 1);
      assert.deepEqual(pubs[0].data, { fallback: true });
    } finally {
      await step(page, noWs, 'disconnect').catch(() => {});
      await page.close();
    }
  }
});

test('browser: a page on an origin not allowed reaches no transport', async () => {
  const page = await openPage(PAGE_DENIED);
  try {
    const base = server.base;
    const got = await page.evaluate(async (b) => {
      const out = {};
      const fetchOutcome = (url, opts) => fetch(url, opts).then((r) => `HTTP ${r.status}`, (e) => `rejected: ${e.name}`);
      out.httpStream = await fetchOutcome(`${b}/connection/http_stream`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"id":1,"connect":{}}' });
      out.emulation = await fetchOutcome(`${b}/emulation`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"session":"x","node":"y","data":"{}"}' });
      out.sockjsInfo = await fetchOutcome(`${b}/connection/sockjs/info`, {});
      out.sse = await new Promise((resolve) => {
        const es = new EventSource(`${b}/connection/sse?cf_connect=${encodeURIComponent('{"id":1,"connect":{}}')}`);
        es.onopen = () => { es.close(); resolve('open'); };
        es.onerror = () => { es.close(); resolve('error'); };
      });
      out.websocket = await new Promise((resolve) => {
        const ws = new WebSocket(`${b.replace(/^http/, 'ws')}/connection/websocket`);
        ws.onopen = () => { ws.close(); resolve('open'); };
        ws.onclose = (e) => resolve(`closed ${e.code}`);
      });
      return out;
    }, base);
    assert.deepEqual(got, {
      httpStream: 'rejected: TypeError', emulation: 'rejected: TypeError', sockjsInfo: 'rejected: TypeError',
      sse: 'error', websocket: 'closed 1006',
    });
    assert.match(server.stderr, /./); // the server is alive and logging
  } finally {
    await page.close();
  }
});
