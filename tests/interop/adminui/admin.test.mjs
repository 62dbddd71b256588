// The admin UI in Chromium against the real binary (memory engine): log in (and
// fail with a wrong password), create a project and a namespace, copy its secret
// into a token made with `centrifuge gentoken`, connect a client with it, publish
// from the actions page and see it in the live view, regenerate the secret and see
// the old token refused, delete the project and see its clients disconnected, the
// dashboard's chart counting the connections; every change carries the CSRF token
// and one without it is refused. Screenshots of every page into output/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useServer, waitFor, randomHex, BIN, WAIT_MS } from '../harness.mjs';
import { adminYaml, login, newPage, shoot, useBrowser, PASSWORD } from './ui.mjs';

const server = useServer({ extraYaml: adminYaml() });
const browser = useBrowser();
const project = `ui_${randomHex(3)}`;
const tmp = mkdtempSync(join(tmpdir(), 'centrifuge-adminui-cli-'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  if (alice) alice.disconnect();
});

let page; // the main tab
let live; // a second tab on the live view
let alice; // a client connected with the CLI token
let oldConfig; // a config holding the project's first secret

/** A token from `centrifuge gentoken` with `secret` as the project's secret (written to a config). */
function cliToken(secret, user, name) {
  const path = join(tmp, `${name}.yaml`);
  writeFileSync(path, `projects:\n  - {name: ${project}, secret: "${secret}", api_key: "${randomHex(16)}"}\n`);
  return { token: gentoken(path, user), config: path };
}

function gentoken(config, user) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CENTRIFUGE_')));
  return execFileSync(BIN, ['gentoken', '--config', config, '--project', project, '--user', user],
    { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The link of the main navigation. */
const nav = (p, name) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });

const base = () => server.base;
const problems = () => [page, live].filter(Boolean).flatMap((p) => p.problems).join('\n');

test('login: a wrong password is refused with a message, the right one opens the dashboard', async () => {
  page = await newPage(browser.context);
  await page.goto(`${base()}/`);
  await page.getByLabel('Password').waitFor();
  await shoot(page, 'login');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('Wrong password.').waitFor();
  // By keyboard: the field has the focus after the error; Enter submits.
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'password');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.locator('tr[data-node]').first().waitFor();
  assert.equal(await page.locator('tr[data-node] td').nth(1).textContent(), 'memory');
});

test('create a project and a namespace; options are validated next to their field', async () => {
  await nav(page, 'Projects').click();
  await page.getByRole('heading', { name: 'All projects' }).waitFor();
  await page.locator('li[data-project="default"]').waitFor();
  await shoot(page, 'projects');
  // A bad name: the server's message shows next to the field.
  await page.getByLabel('Name', { exact: true }).fill('no spaces allowed');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.locator('.field-error').first().waitFor();
  await page.getByLabel('Name', { exact: true }).fill(project);
  await page.getByLabel('Display name (optional)').fill('UI test');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.waitForURL(`${base()}/projects/${project}`);
  await page.getByRole('heading', { name: 'Credentials' }).waitFor();
  await shoot(page, 'project-credentials');

  // Settings: a bad value is refused with the message under that option.
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.locator('[data-option="options.history_size"] input').fill('-5');
  await page.getByRole('button', { name: 'Save' }).click();
  const fieldError = page.locator('[data-option="options.history_size"] .field-error');
  await fieldError.waitFor();
  assert.match(await fieldError.textContent(), /history_size|negative|0/i);
  await page.locator('[data-option="options.history_size"] input').fill('10');
  await page.locator('[data-option="options.history_ttl"] input').fill('60s');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved.').waitFor();
  await shoot(page, 'project-settings');

  await page.getByRole('link', { name: 'Namespaces' }).click();
  await page.getByText('No namespace yet.').waitFor();
  await page.getByLabel('Name', { exact: true }).fill('chat');
  await page.getByRole('button', { name: 'Create namespace' }).click();
  const ns = page.locator('[data-namespace="chat"]');
  for (const o of ['presence', 'join_leave', 'force_push_join_leave', 'allow_subscribe_for_client']) {
    await ns.locator(`[data-option="options.${o}"] input`).check();
  }
  await ns.getByRole('button', { name: 'Save' }).click();
  await ns.getByText('Saved.').waitFor();
  await shoot(page, 'project-namespaces');
  // Another one, deleted after typing its name.
  await page.getByLabel('Name', { exact: true }).fill('tmp');
  await page.getByRole('button', { name: 'Create namespace' }).click();
  const tmpNs = page.locator('[data-namespace="tmp"]');
  await tmpNs.getByRole('button', { name: 'Delete namespace' }).click();
  await tmpNs.getByRole('dialog').getByRole('textbox').fill('tmp');
  await tmpNs.getByRole('button', { name: 'Delete namespace' }).click();
  await tmpNs.waitFor({ state: 'detached' });
  const p = await (await fetch(`${base()}/admin/api/projects/${project}`, { headers: { Cookie: await cookie() } })).json();
  assert.equal(p.options.history_size, 10);
  assert.deepEqual(p.namespaces.map((n) => [n.name, n.options.join_leave, n.options.allow_subscribe_for_client]), [['chat', true, true]]);
});

/** The session cookie of the browser, for direct API checks. */
async function cookie() {
  const c = (await browser.context.cookies(`${base()}/admin/api/`)).find((x) => x.name === 'centrifuge_admin');
  assert.ok(c, 'no centrifuge_admin cookie in the browser');
  return `centrifuge_admin=${c.value}`;
}

test('copy the secret into a CLI token; the live view sees a client join and a publication from the actions page', async () => {
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base() });
  await page.getByRole('link', { name: 'Credentials' }).click();
  await page.getByRole('heading', { name: 'Credentials' }).waitFor();
  await page.getByRole('button', { name: 'Copy secret' }).click();
  await page.getByRole('button', { name: 'Copied' }).waitFor();
  const secret = await page.evaluate(() => navigator.clipboard.readText());
  assert.ok(secret.length >= 16, `copied secret ${JSON.stringify(secret)}`);
  const { token, config } = cliToken(secret, 'alice', 'old');
  oldConfig = config;

  // The curl command shown publishes as it is.
  await page.getByRole('button', { name: 'Copy command with the key' }).click();
  const command = await page.evaluate(() => navigator.clipboard.readText());
  const reply = JSON.parse(execFileSync('bash', ['-c', command], { encoding: 'utf8' }));
  assert.ok(reply.result, JSON.stringify(reply));

  // The token generator makes a token the server accepts too.
  await page.getByLabel('User ID').fill('bob');
  await page.getByRole('button', { name: 'Generate token' }).click();
  const generated = await page.locator('#token-out').inputValue();
  assert.match(generated, /^[\w-]+\.[\w-]+\.[\w-]+$/);

  live = await newPage(browser.context);
  await live.goto(`${base()}/projects/${project}/live`);
  await live.getByLabel('Channels to watch').fill('chat:room');
  await live.getByRole('button', { name: 'Watch' }).click();
  await live.locator('[data-state="connected"]').waitFor({ timeout: WAIT_MS });

  alice = server.newClient({ label: 'alice', project, token });
  server.clients.delete(alice); // kept connected across this file's tests; closed in after()
  await server.connect(alice, 'alice with the CLI token made from the copied secret');
  const { sub } = await server.subscribe(alice, 'chat:room');
  await live.locator('li[data-kind="join"][data-channel="chat:room"]').filter({ hasText: 'alice' }).waitFor();

  const got = waitFor(sub, 'publication', { what: 'the publication from the actions page at alice', clients: [alice] });
  await page.getByRole('link', { name: 'Actions' }).click();
  await page.getByLabel('Method').selectOption('publish');
  await page.getByLabel('Channel', { exact: true }).fill('chat:room');
  await page.getByLabel('Data (JSON)').fill('{"text": "hello from the actions page"}');
  await page.getByRole('button', { name: 'Send publish' }).click();
  await page.locator('pre.json').waitFor();
  assert.match(await page.locator('pre.json').textContent(), /"result"/);
  await shoot(page, 'project-actions');
  const pub = await got;
  assert.deepEqual(pub.data, { text: 'hello from the actions page' });
  await live.locator('li[data-kind="publication"]').filter({ hasText: 'hello from the actions page' }).waitFor();

  // Pause holds events, filter narrows, clear empties.
  await live.getByRole('button', { name: 'Pause' }).click();
  await server.api('publish', { channel: 'chat:room', data: { text: 'while paused' } }, { project, apiKey: (await apiKey()) });
  await live.getByRole('button', { name: 'Resume (1 new)' }).waitFor();
  assert.equal(await live.locator('li[data-kind="publication"]').filter({ hasText: 'while paused' }).count(), 0);
  await live.getByRole('button', { name: 'Resume (1 new)' }).click();
  await live.locator('li[data-kind="publication"]').filter({ hasText: 'while paused' }).waitFor();
  await live.getByLabel('Filter events').fill('actions page');
  await live.locator('li.event').first().waitFor();
  assert.equal(await live.locator('li.event').count(), 1);
  await live.getByLabel('Filter events').fill('');
  await shoot(live, 'project-live');
  await live.getByLabel('Channels to watch').fill('');
  await live.getByRole('button', { name: 'Add active channels' }).click();
  await live.waitForFunction(() => document.querySelector('#live-channels').value === 'chat:room');
  await live.getByRole('button', { name: 'Clear' }).click();
  await live.getByText('Waiting for publications, joins and leaves').waitFor();

  // Other methods show their JSON result too.
  await page.getByLabel('Method').selectOption('presence');
  await page.getByLabel('Channel', { exact: true }).fill('chat:room');
  await page.getByRole('button', { name: 'Send presence' }).click();
  await page.locator('pre.json').filter({ hasText: 'alice' }).waitFor();
  await page.getByLabel('Method').selectOption('channels');
  await page.getByRole('button', { name: 'Send channels' }).click();
  await page.locator('pre.json').filter({ hasText: 'chat:room' }).waitFor();
});

async function apiKey() {
  const p = await (await fetch(`${base()}/admin/api/projects/${project}`, { headers: { Cookie: await cookie() } })).json();
  return p.api_key;
}

test('the dashboard chart shows the connections made', async () => {
  await nav(page, 'Dashboard').click();
  // alice and the live view's connection.
  const clients = page.locator('[data-chart="connections"] dd[data-series="clients"]');
  const deadline = Date.now() + 10000;
  while (Number(await clients.textContent()) < 2) {
    assert.ok(Date.now() < deadline, `the chart's connections stayed at ${await clients.textContent()}`);
    await page.waitForTimeout(250);
  }
  assert.equal(await page.locator('tr[data-node] td[data-field="clients"]').textContent(), '2');
  // The chart has drawn its canvas with the samples.
  assert.ok(await page.locator('[data-chart="connections"] canvas').count() >= 1);
  await page.waitForTimeout(3500); // a few samples on the charts
  await shoot(page, 'dashboard');
});

test('regenerating the secret refuses the old token', async () => {
  await page.goto(`${base()}/projects/${project}/credentials`);
  const before = await page.locator('.secret').first().getByRole('button', { name: 'Show' }).click().then(() => page.locator('#secret').getAttribute('data-value'));
  await page.getByRole('button', { name: 'Regenerate secret' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('textbox').fill(project.slice(0, -1));
  assert.ok(await dialog.getByRole('button', { name: 'Regenerate secret' }).isDisabled(), 'confirm enabled before the full name was typed');
  await dialog.getByRole('textbox').fill(project);
  await dialog.getByRole('button', { name: 'Regenerate secret' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.waitForFunction((old) => {
    const v = document.querySelector('#secret')?.getAttribute('data-value');
    return v && v !== old;
  }, before);
  const old = gentoken(oldConfig, 'carol');
  const carol = server.newClient({ label: 'carol', project, token: old });
  await assert.rejects(server.connect(carol, 'carol with a token of the old secret'), /disconnected while connecting: \{"code":3500/);
  // A token made with the new secret, copied the same way, connects.
  await page.getByRole('button', { name: 'Copy secret' }).click();
  const fresh = cliToken(await page.evaluate(() => navigator.clipboard.readText()), 'dave', 'new');
  const dave = server.newClient({ label: 'dave', project, token: fresh.token });
  await server.connect(dave, 'dave with a token of the new secret');

  // The API key too: the old one is refused by the server API, the new one works.
  const oldKey = await apiKey();
  await page.getByRole('button', { name: 'Regenerate API key' }).click();
  await page.getByRole('dialog').getByRole('textbox').fill(project);
  await page.getByRole('dialog').getByRole('textbox').press('Enter');
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  const newKey = await apiKey();
  assert.notEqual(newKey, oldKey);
  const refused = await server.apiRaw('channels', {}, { project, apiKey: oldKey });
  assert.equal(refused.status, 401, refused.text);
  await server.api('channels', {}, { project, apiKey: newKey });
});

test('deleting the project disconnects its clients', async () => {
  const gone = waitFor(alice, 'disconnected', { what: 'alice disconnected after her project was deleted', clients: [alice] });
  await nav(page, 'Projects').click();
  const row = page.locator(`li[data-project="${project}"]`);
  await row.getByRole('button', { name: 'Delete project' }).click();
  await row.getByRole('textbox').fill(project);
  await row.getByRole('button', { name: 'Delete project' }).click();
  await row.waitFor({ state: 'detached' });
  const ctx = await gone;
  assert.equal(ctx.code, 3503, JSON.stringify(ctx));
});

test('every change carries the CSRF token; one without it is refused', async () => {
  const changes = page.requests.filter((r) => r.method !== 'GET' && r.path !== '/admin/api/login');
  assert.ok(changes.length >= 8, JSON.stringify(changes));
  for (const r of changes) assert.ok(r.csrf, `${r.method} ${r.path} without X-CSRF-Token`);
  const res = await page.evaluate(async () => {
    const r = await fetch('/admin/api/projects', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'csrf_less' }) });
    return { status: r.status, body: await r.text() };
  });
  assert.equal(res.status, 403, res.body);
  assert.match(res.body, /CSRF/);
  const list = await (await fetch(`${base()}/admin/api/projects`, { headers: { Cookie: await cookie() } })).json();
  assert.ok(!list.projects.some((p) => p.name === 'csrf_less'));
});

test('logout ends the session', async () => {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Password').waitFor();
  const status = await page.evaluate(async () => (await fetch('/admin/api/session')).status);
  assert.equal(status, 401);
  assert.equal(problems(), '', 'console errors or CSP violations in the pages');
});
