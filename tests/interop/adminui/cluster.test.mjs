// The admin UI with two nodes on the Redis engine (the dashboard lists both and
// their numbers), with admin.enabled false (no page, no asset, no API), and the
// login form's message when the per-address login limit refuses attempts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useCluster, useServer } from '../harness.mjs';
import { adminYaml, login, newPage, shoot, useBrowser } from './ui.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { cluster } = useCluster({ nodes: 2 });
for (const n of cluster.nodes) n.extraYaml = adminYaml();
const disabled = useServer({ extraYaml: adminYaml({ enabled: false }) });
const limited = useServer({ extraYaml: adminYaml({ loginAttempts: 2 }) });
const browser = useBrowser();

/** The text of a node's cell on the dashboard. */
const cell = (page, node, field) => page.locator(`tr[data-node="${node}"] td[data-field="${field}"]`).textContent();

test('two nodes on Redis: the dashboard lists both with their numbers', async () => {
  const page = await newPage(browser.context);
  const a = cluster.node('node-a');
  const b = cluster.node('node-b');
  await login(page, a.base);
  await page.locator('tr[data-node="node-b"]').waitFor();
  assert.equal(await page.locator('tr[data-node]').count(), 2);
  for (const n of ['node-a', 'node-b']) {
    assert.equal(await page.locator(`tr[data-node="${n}"] td`).nth(1).textContent(), 'redis');
  }
  // Two clients on node-b, one on node-a; each node's row shows its own.
  for (const [node, user] of [[b, 'u1'], [b, 'u2'], [a, 'u3']]) {
    const c = node.newClient({ label: user, token: cluster.token(user) });
    await node.connect(c);
    await node.subscribe(c, 'news');
  }
  await page.waitForFunction(() => {
    const v = (n) => document.querySelector(`tr[data-node="${n}"] td[data-field="clients"]`)?.textContent;
    return v('node-a') === '1' && v('node-b') === '2';
  }, null, { timeout: 10000 });
  assert.equal(await cell(page, 'node-b', 'users'), '2');
  // The chart sums the cluster.
  await page.waitForFunction(() => document.querySelector('[data-chart="connections"] dd[data-series="clients"]')?.textContent === '3', null, { timeout: 10000 });
  // Publications through node-a's API for a few samples: the rates show them.
  const until = Date.now() + 7000;
  let sent = 0;
  while (Date.now() < until) {
    await a.api('publish', { channel: 'news', data: { n: ++sent } });
    await new Promise((r) => setTimeout(r, 100));
  }
  const rate = (s) => page.locator(`[data-chart] dd[data-series="${s}"]`).textContent().then((t) => parseFloat(t));
  for (const s of ['pubs', 'deliveries', 'calls']) {
    assert.ok(await rate(s) > 0, `${s} per second shows ${await rate(s)} after ${sent} publications`);
  }
  assert.equal(await rate('errors'), 0);
  await shoot(page, 'dashboard-cluster');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('admin.enabled false: no admin page, asset or API route', async () => {
  const html = readFileSync(resolve(here, '../../../server/web/dist/index.html'), 'utf8');
  const assets = [...html.matchAll(/\/assets\/[^"]+/g)].map((m) => m[0]);
  assert.equal(assets.length, 2, html);
  // The same paths answer on an enabled node.
  const enabled = cluster.node('node-a').base;
  for (const path of ['/', '/login', '/projects', '/projects/x/live', ...assets]) {
    const on = await fetch(enabled + path);
    assert.equal(on.status, 200, `${path} on an enabled node`);
    const off = await fetch(disabled.base + path);
    assert.equal(off.status, 404, `${path} with admin.enabled false`);
    const body = await off.text();
    assert.ok(!body.includes('<script'), `${path}: ${body}`);
  }
  for (const [method, path] of [['GET', '/admin/api/session'], ['POST', '/admin/api/login'], ['GET', '/admin/api/nodes']]) {
    assert.equal((await fetch(disabled.base + path, { method })).status, 404, `${method} ${path}`);
  }
  const page = await newPage(browser.context);
  await page.goto(`${disabled.base}/`);
  assert.equal(await page.locator('#app').count(), 0);
  await page.close();
});

test('the login form says when attempts are rate limited', async () => {
  // Cookies are per host, not per port: the cluster's session would log us in.
  await browser.context.clearCookies();
  const page = await newPage(browser.context);
  await page.goto(`${limited.base}/`);
  for (let i = 0; i < 2; i++) {
    await page.getByLabel('Password').fill(`wrong-${i}`);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Wrong password.').waitFor();
    await page.getByRole('button', { name: 'Log in' }).waitFor({ state: 'visible' });
    await page.waitForFunction(() => !document.querySelector('button[aria-busy]'));
  }
  await page.getByLabel('Password').fill('wrong-again');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText(/Too many attempts: .*try again in \d+ ?s/).waitFor();
  await shoot(page, 'login-rate-limited');
  await page.close();
});
