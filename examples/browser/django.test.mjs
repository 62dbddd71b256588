// examples/django in Chromium: the real server, Django's runserver, and three
// readers (alice, bob, carol the moderator) in browser contexts of their own on
// the same post. A comment appears on the others' pages in under a second
// without a reload; presence lists every reader; a reply notifies only the
// author replied to; the moderators' channel (subscribe proxy) gets every
// comment; bob deactivated in Django's admin loses the live feed within the
// configured connection check interval.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  EXAMPLES, REPO, freePort, launchBrowser, logIn, names, openFirstPost, run, screenshotPath, secret, start, startCentrifuge,
  tempDir, timeUntil, waitHttp,
} from './harness.mjs';

const APP = join(EXAMPLES, 'django');
const PYTHON = process.env.DJANGO_PYTHON || join(APP, '.venv/bin/python');
const CHECK_LIFETIME_S = 1;
const CHECK_INTERVAL_S = 2;
const LIVE_MS = 1000;

let centrifuge;
let django;
let browser;
let base;
const pages = {};

before(async () => {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: run \`make example-django-venv\``);
  if (!existsSync(join(REPO, 'sdk-js/dist/centrifuge.js'))) throw new Error('sdk-js/dist/centrifuge.js not built: run `make sdk-js`');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const s = { DJANGO_SECRET: secret(), DJANGO_API_KEY: secret(), PROXY_KEY: secret() };
  centrifuge = await startCentrifuge({
    ...s, ORIGINS: JSON.stringify([base]), DJANGO_URL: base,
    CHECK_LIFETIME: `${CHECK_LIFETIME_S}s`, CHECK_INTERVAL: `${CHECK_INTERVAL_S}s`,
    RAILS_SECRET: secret(), RAILS_API_KEY: secret(),
  });
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CENTRIFUGE_'))),
    CENTRIFUGE_ADDRESS: centrifuge.url, CENTRIFUGE_API_KEY: s.DJANGO_API_KEY, CENTRIFUGE_SECRET: s.DJANGO_SECRET,
    BLOG_PROXY_KEY: s.PROXY_KEY, BLOG_DB: join(tempDir('blog-db-'), 'db.sqlite3'), DJANGO_DEBUG: '0',
    PYTHONUNBUFFERED: '1',
  };
  await run(PYTHON, ['manage.py', 'migrate', '--noinput'], { cwd: APP, env });
  await run(PYTHON, ['manage.py', 'seed_blog'], { cwd: APP, env });
  django = start(PYTHON, ['manage.py', 'runserver', `127.0.0.1:${port}`, '--noreload', '--insecure'], { cwd: APP, env, label: 'django' });
  await waitHttp(`${base}/`, django);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await django?.stop();
  await centrifuge?.proc.stop();
});

const reader = (name) => logIn(browser, base, name, '/accounts/login/');
const openPost = (page) => openFirstPost(page, base);


test('a comment appears live on the other readers\' pages, presence lists them', async () => {
  for (const name of ['alice', 'bob', 'carol']) {
    pages[name] = await reader(name);
    await openPost(pages[name]);
  }
  // Presence (then join/leave): each page lists all three readers.
  for (const name of ['alice', 'bob', 'carol']) {
    await pages[name].waitForFunction(() => document.querySelectorAll('#readers li').length === 3, null, { timeout: 5000 });
    assert.deepEqual(await names(pages[name], '#readers li'), ['alice', 'bob', 'carol']);
  }
  // The moderator's page is subscribed to $moderation (the server asked the app).
  await pages.carol.waitForSelector('#moderation[data-state="subscribed"]', { state: 'attached', timeout: 5000 });

  const text = `Hello from bob ${Date.now()}`;
  const urlBefore = pages.alice.url();
  await pages.bob.fill('#comment-text', text);
  const t0 = Date.now();
  await pages.bob.click('#comment-submit');
  const ms = await timeUntil(pages.alice, (t) => [...document.querySelectorAll('#comments li .text')].some((e) => e.textContent === t), text, t0);
  console.log(`# django: bob's comment on alice's page after ${ms} ms`);
  assert.ok(ms < LIVE_MS, `comment appeared after ${ms} ms`);
  assert.equal(pages.alice.url(), urlBefore, 'no navigation');
  await timeUntil(pages.carol, (t) => [...document.querySelectorAll('#moderation li')].some((e) => e.textContent.includes(t)), text, t0);
  // Bob's own page shows it once.
  assert.equal((await names(pages.bob, '#comments li .text')).filter((t) => t === text).length, 1);
});

test('a reply notifies only the author replied to', async () => {
  const text = `Thanks bob ${Date.now()}`;
  await pages.alice.click('#comments li:last-child button.reply');
  await pages.alice.fill('#comment-text', text);
  const t0 = Date.now();
  await pages.alice.click('#comment-submit');
  const ms = await timeUntil(pages.bob, (t) => [...document.querySelectorAll('#notifications li')].some((e) => e.textContent.includes(t)), text, t0);
  console.log(`# django: alice's reply notified bob after ${ms} ms`);
  assert.ok(ms < LIVE_MS, `notification after ${ms} ms`);
  // The reply is a comment everyone sees; the notification is bob's alone.
  await timeUntil(pages.carol, (t) => [...document.querySelectorAll('#comments li .text')].some((e) => e.textContent === t), text, t0);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await names(pages.alice, '#notifications li'), []);
  assert.deepEqual(await names(pages.carol, '#notifications li'), []);
  assert.equal((await names(pages.bob, '#notifications li')).length, 1);
  await pages.bob.screenshot({ path: screenshotPath('django.png') });
});

test('a user deactivated in Django\'s admin loses the live feed within the check interval', async () => {
  const admin = await reader('admin');
  await admin.goto(`${base}/admin/auth/user/?q=bob`);
  await admin.click('#result_list a:text-is("bob")');
  await admin.uncheck('#id_is_active');
  const t0 = Date.now();
  await Promise.all([admin.waitForURL(/\/admin\/auth\/user\/(\?.*)?$/), admin.click('input[name=_save]')]);
  const ms = await timeUntil(pages.bob, () => document.querySelector('#live-status').dataset.state === 'disconnected',
    null, t0, (CHECK_LIFETIME_S + CHECK_INTERVAL_S) * 1000 + 3000);
  console.log(`# django: bob deactivated in the admin, his page disconnected after ${ms} ms (check interval ${CHECK_INTERVAL_S} s)`);
  assert.ok(ms <= CHECK_INTERVAL_S * 1000 + 1000, `disconnected after ${ms} ms`);
  // The others stay live; bob no longer sees new comments, nor is he a reader.
  const text = `After bob left ${Date.now()}`;
  await pages.alice.fill('#comment-text', text);
  await pages.alice.click('#comment-submit');
  await timeUntil(pages.carol, (t) => [...document.querySelectorAll('#comments li .text')].some((e) => e.textContent === t), text, Date.now());
  await pages.alice.waitForFunction(() => !([...document.querySelectorAll('#readers li')].some((e) => e.textContent === 'bob')), null, { timeout: 5000 });
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!(await names(pages.bob, '#comments li .text')).includes(text));
  assert.equal(await pages.bob.$eval('#live-status', (e) => e.dataset.state), 'disconnected');
  await admin.context().close();
});
