// Shared by the end-to-end files: a page server (another origin than the
// Centrifuge servers) serving dist/ and the test page, and Debian's Chromium
// driven by playwright-core. The servers, Redis and nginx come from the interop
// suite's harness (tests/interop/harness.mjs).
import { after } from 'node:test';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startNginx } from '../../../tests/interop/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const DIST = resolve(here, '../../dist');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync'];
const TYPES = { '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.html': 'text/html; charset=utf-8', '.map': 'application/json' };

/**
 * Serves `dirs` (url prefix -> directory) and `routes` (path -> async (url) =>
 * {status, body}) on 127.0.0.1:0; returns {origin, server}. Closed after the file.
 */
export async function pageServer({ dirs = {}, routes = {} } = {}) {
  const all = { '/page/': resolve(here, 'page'), '/dist/': DIST, ...dirs };
  const srv = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    try {
      const route = routes[url.pathname];
      if (route) {
        const r = await route(url);
        res.writeHead(r.status || 200, { 'Content-Type': r.type || 'text/plain', 'Cache-Control': 'no-store' }).end(r.body);
        return;
      }
      for (const [prefix, dir] of Object.entries(all)) {
        if (!url.pathname.startsWith(prefix)) continue;
        const file = resolve(dir, `.${url.pathname.slice(prefix.length - 1)}`);
        if (!file.startsWith(dir) || !existsSync(file)) break;
        res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' })
          .end(readFileSync(file));
        return;
      }
      res.writeHead(404).end('not found');
    } catch (e) {
      res.writeHead(500).end(String(e && e.stack));
    }
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  srv.unref();
  after(() => srv.close());
  return { origin: `http://127.0.0.1:${srv.address().port}`, server: srv };
}

let browser = null;
let userDataDir = null;

/** The Chromium of this file (started once, closed after the file). */
export async function chromiumBrowser() {
  if (browser) return browser;
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is not installed (Debian package chromium): run \`make deps\` (scripts/deps.sh) first`);
  }
  userDataDir = mkdtempSync(join(tmpdir(), 'centrifuge-sdkjs-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  return browser;
}

// Registered at import, so at the top level of the test file: closes Chromium after the file.
after(async () => {
  if (browser) await browser.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/** A page at `url`; its console lines are kept in page.consoleLines. */
export async function openPage(url) {
  const b = await chromiumBrowser();
  const page = await b.newPage();
  page.consoleLines = [];
  page.on('console', (m) => page.consoleLines.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => page.consoleLines.push(`[pageerror] ${e.message}`));
  await page.goto(url);
  return page;
}

/** The page's client log, console and the server logs, for failure messages. */
export async function pageDump(page, servers = []) {
  let log = '';
  try { log = await page.evaluate(() => window.T.log()); } catch (e) { log = `(page log unavailable: ${e.message})`; }
  return `--- page client log ---\n${log.split('\n').slice(-60).join('\n')}\n--- page console ---\n${page.consoleLines.slice(-30).join('\n')}\n` +
    servers.map((s) => s.log(30)).join('\n');
}

/** Calls window.T[method](...args) in the page; a failure names the step and dumps the logs. */
export async function step(page, servers, method, ...args) {
  try {
    return await page.evaluate(([m, a]) => window.T[m](...a), [method, args]);
  } catch (e) {
    throw new Error(`page step ${method}(${JSON.stringify(args).slice(0, 300)}) failed: ${e.message}\n${await pageDump(page, servers)}`);
  }
}

const SHIPPED_NGINX = resolve(here, '../../../deploy/nginx.conf');

/** nginx with the shipped deploy/nginx.conf in front of nodes on portA and portB (only listen and upstreams replaced). */
export async function startShippedNginx({ port, portA, portB }) {
  const replaceN = (text, from, to, count = 1) => {
    const n = text.split(from).length - 1;
    if (n !== count) throw new Error(`${SHIPPED_NGINX} should contain "${from}" exactly ${count} time(s) (found ${n})`);
    return text.split(from).join(to);
  };
  let conf = readFileSync(SHIPPED_NGINX, 'utf8');
  conf = replaceN(conf, 'listen 127.0.0.1:8000;', `listen 127.0.0.1:${port};`);
  conf = replaceN(conf, 'server 127.0.0.1:8001 ', `server 127.0.0.1:${portA} `, 2);
  conf = replaceN(conf, 'server 127.0.0.1:8002 ', `server 127.0.0.1:${portB} `, 2);
  return startNginx({ includeText: conf, port });
}
