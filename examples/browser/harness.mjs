// What the examples' browser tests share: the real bin/centrifuge with the
// examples' config (../centrifuge.yaml.tmpl) on a free port, an app process
// (Django's runserver, Rails' puma/WEBrick) on another, and Debian's Chromium
// through playwright-core. Everything spawned here is killed when the test
// process exits, whatever happened.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const EXAMPLES = resolve(here, '..');
export const REPO = resolve(EXAMPLES, '..');
export const BIN = process.env.CENTRIFUGE_BIN || join(REPO, 'bin/centrifuge');
export const SCREENSHOTS = join(here, 'screenshots');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync'];

const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

export function secret() {
  return randomBytes(24).toString('hex');
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** A child process in its own process group; .output() is its stdout+stderr so far. */
export function start(cmd, args, { cwd, env, label }) {
  let out = '';
  const proc = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  proc.on('exit', () => children.delete(proc));
  proc.label = label || cmd;
  proc.output = () => out;
  proc.stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    try { process.kill(-proc.pid, 'SIGTERM'); } catch { return; }
    const t = setTimeout(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(t);
  };
  return proc;
}

/** Runs a command to its end; throws with its output when it fails. */
export async function run(cmd, args, opts) {
  const p = start(cmd, args, opts);
  const code = await new Promise((r) => p.on('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${p.output().slice(-4000)}`);
  return p.output();
}

/** Resolves when url answers (any status below 500), or throws after timeoutMs. */
export async function waitHttp(url, proc, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url, { redirect: 'manual' });
      if (r.status < 500) return;
    } catch { /* not yet */ }
    if (proc.exitCode !== null) throw new Error(`${proc.label} exited:\n${proc.output().slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${proc.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * bin/centrifuge with ../centrifuge.yaml.tmpl filled with `values` (PORT is 0:
 * the port it listens on is read from its log). Returns {proc, port, url, dir}.
 */
export async function startCentrifuge(values) {
  if (!existsSync(BIN)) throw new Error(`${BIN} not found: run \`make build\` (or set CENTRIFUGE_BIN)`);
  const dir = tempDir('centrifuge-examples-');
  const tmpl = readFileSync(join(EXAMPLES, 'centrifuge.yaml.tmpl'), 'utf8');
  const config = tmpl.replace(/\$\{(\w+)\}/g, (_, k) => {
    const v = k === 'PORT' ? '0' : values[k];
    if (v === undefined) throw new Error(`centrifuge.yaml.tmpl: no value for ${k}`);
    return v;
  });
  writeFileSync(join(dir, 'config.yaml'), config);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CENTRIFUGE_')));
  const proc = start(BIN, ['serve', '--config', join(dir, 'config.yaml')], { env, label: 'centrifuge' });
  const deadline = Date.now() + 10000;
  for (;;) {
    const m = /msg="?listening"?.*?addr="?127\.0\.0\.1:(\d+)/.exec(proc.output());
    if (m) {
      const port = Number(m[1]);
      return { proc, port, url: `http://127.0.0.1:${port}`, dir };
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      throw new Error(`centrifuge did not start:\n${proc.output().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is not installed (Debian package chromium): run \`make deps\` first`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export function screenshotPath(name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, name);
}

/** ms since `t0` when `predicate` (run in the page) first holds; throws after timeoutMs. */
export async function timeUntil(page, predicate, arg, t0, timeoutMs = 5000) {
  await page.waitForFunction(predicate, arg, { timeout: timeoutMs, polling: 10 });
  return Date.now() - t0;
}

/**
 * A browser context of its own for `name` (password "password"), logged in
 * through the app's form at loginPath (fields #id_username and #id_password).
 */
export async function logIn(browser, base, name, loginPath) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${name}] page error: ${err.message}`));
  await page.goto(`${base}${loginPath}?next=/`);
  await page.fill('#id_username', name);
  await page.fill('#id_password', 'password');
  await Promise.all([page.waitForURL(`${base}/`), page.click('form button[type=submit]')]);
  return page;
}

/** Opens the first post of the list and waits for its live feed. */
export async function openFirstPost(page, base) {
  await page.goto(base + '/');
  await page.click('ul.posts li:first-child a');
  await page.waitForSelector('#live-status[data-state="live"]', { timeout: 5000 });
}

/** The text of every element matching sel. */
export function names(page, sel) {
  return page.$$eval(sel, (els) => els.map((e) => e.textContent));
}

/** Resolves when an element of sel has exactly `text` (or contains it, with contains). */
export function hasText(page, sel, text, t0, { contains = false, timeoutMs = 5000 } = {}) {
  return timeUntil(page, ([s, t, c]) => [...document.querySelectorAll(s)].some((e) => (c ? e.textContent.includes(t) : e.textContent === t)),
    [sel, text, contains], t0, timeoutMs);
}
