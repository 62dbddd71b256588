// examples/rails in Chromium: the real server, the Rails app (WEBrick), and
// three readers (alice, bob, carol) in browser contexts of their own on the
// same post. A comment appears on the others' pages in under a second without
// a reload; presence lists every reader; a reply notifies only the author
// replied to.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  EXAMPLES, REPO, freePort, hasText, launchBrowser, logIn, names, openFirstPost, run, screenshotPath, secret, start,
  startCentrifuge, tempDir, waitHttp,
} from './harness.mjs';

const APP = join(EXAMPLES, 'rails');
const LIVE_MS = 1000;

let centrifuge;
let rails;
let browser;
let base;
const pages = {};

before(async () => {
  if (!existsSync(join(REPO, 'sdk-js/dist/centrifuge.js'))) throw new Error('sdk-js/dist/centrifuge.js not built: run `make sdk-js`');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const s = { RAILS_SECRET: secret(), RAILS_API_KEY: secret() };
  centrifuge = await startCentrifuge({
    ...s, ORIGINS: JSON.stringify([base]), DJANGO_URL: 'http://127.0.0.1:9',
    DJANGO_SECRET: secret(), DJANGO_API_KEY: secret(), PROXY_KEY: secret(), CHECK_LIFETIME: '1h', CHECK_INTERVAL: '10s',
  });
  const tmp = tempDir('rails-blog-');
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CENTRIFUGE_'))),
    CENTRIFUGE_ADDRESS: centrifuge.url, CENTRIFUGE_API_KEY: s.RAILS_API_KEY, CENTRIFUGE_SECRET: s.RAILS_SECRET,
    RAILS_ENV: 'development', RAILS_DB: join(tmp, 'db.sqlite3'), RAILS_LOG_LEVEL: 'warn',
  };
  await run('bin/rails', ['db:schema:load'], { cwd: APP, env });
  await run('bin/rails', ['db:seed'], { cwd: APP, env });
  rails = start('bin/rails', ['server', '-u', 'webrick', '-b', '127.0.0.1', '-p', String(port), '-P', join(tmp, 'server.pid')],
    { cwd: APP, env, label: 'rails' });
  await waitHttp(`${base}/`, rails);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await rails?.stop();
  await centrifuge?.proc.stop();
});

test('a comment appears live on the other readers\' pages, presence lists them', async () => {
  for (const name of ['alice', 'bob', 'carol']) {
    pages[name] = await logIn(browser, base, name, '/login');
    await openFirstPost(pages[name], base);
  }
  for (const name of ['alice', 'bob', 'carol']) {
    await pages[name].waitForFunction(() => document.querySelectorAll('#readers li').length === 3, null, { timeout: 5000 });
    assert.deepEqual(await names(pages[name], '#readers li'), ['alice', 'bob', 'carol']);
  }
  const text = `Hello from bob ${Date.now()}`;
  const urlBefore = pages.alice.url();
  await pages.bob.fill('#comment-text', text);
  const t0 = Date.now();
  await pages.bob.click('#comment-submit');
  const ms = await hasText(pages.alice, '#comments li .text', text, t0);
  console.log(`# rails: bob's comment on alice's page after ${ms} ms`);
  assert.ok(ms < LIVE_MS, `comment appeared after ${ms} ms`);
  assert.equal(pages.alice.url(), urlBefore, 'no navigation');
  await hasText(pages.carol, '#comments li .text', text, t0);
  assert.equal((await names(pages.bob, '#comments li .text')).filter((t) => t === text).length, 1);
});

test('a reply notifies only the author replied to', async () => {
  const text = `Thanks bob ${Date.now()}`;
  await pages.alice.click('#comments li:last-child button.reply');
  await pages.alice.fill('#comment-text', text);
  const t0 = Date.now();
  await pages.alice.click('#comment-submit');
  const ms = await hasText(pages.bob, '#notifications li', text, t0, { contains: true });
  console.log(`# rails: alice's reply notified bob after ${ms} ms`);
  assert.ok(ms < LIVE_MS, `notification after ${ms} ms`);
  await hasText(pages.carol, '#comments li .text', text, t0);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await names(pages.alice, '#notifications li'), []);
  assert.deepEqual(await names(pages.carol, '#notifications li'), []);
  assert.equal((await names(pages.bob, '#notifications li')).length, 1);
  await pages.bob.screenshot({ path: screenshotPath('rails.png') });
});

test('a reader who leaves leaves the others\' presence list', async () => {
  await pages.carol.context().close();
  await pages.alice.waitForFunction(() => !([...document.querySelectorAll('#readers li')].some((e) => e.textContent === 'carol')),
    null, { timeout: 5000 });
  assert.deepEqual(await names(pages.alice, '#readers li'), ['alice', 'bob']);
});
