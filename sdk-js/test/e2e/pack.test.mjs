// `npm pack` of the package installed into an empty project: its files work
// from a <script> tag and as ESM in Chromium, and its ./server entry and
// types resolve in Node through the exports map.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useServer, uniq, signJwt } from '../../../tests/interop/harness.mjs';
import { pageServer, openPage, step } from './browser.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const PKG = resolve(here, '../..');
const dir = mkdtempSync(join(tmpdir(), 'centrifuge-sdkjs-pack-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000 });

// Packed and installed at load, before the page server (which serves the installed copy).
const out = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], PKG));
const tgz = join(dir, out[0].filename);
const files = out[0].files.map((f) => f.path);
const app = join(dir, 'app');
execFileSync('mkdir', ['-p', app]);
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tgz], app);
const installed = join(app, 'node_modules/@centrifuge/sdk');

writeFileSync(join(dir, 'script.html'), `<!doctype html><meta charset="utf-8">
<script src="/pkg/dist/centrifuge.js"></script><script src="/page/driver.js"></script>`);
writeFileSync(join(dir, 'esm.html'), `<!doctype html><meta charset="utf-8">
<script src="/page/driver.js"></script>
<script type="module">import { Centrifuge } from '/pkg/dist/index.js'; window.T.use(Centrifuge); window.esmReady = true;</script>`);
const { origin: PAGE } = await pageServer({ dirs: { '/pkg/': installed, '/app/': dir } });
const server = useServer({ httpExtra: `allowed_origins: ["${PAGE}"]` });

test('the packed files: dist, README, CHANGELOG, package.json; no sources or tests', () => {
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/centrifuge.js', 'dist/sockjs.min.js', 'dist/server/index.js', 'dist/server/index.d.ts', 'README.md', 'CHANGELOG.md', 'package.json']) {
    assert.ok(files.includes(f), `${f} packed: ${files.join(', ')}`);
  }
  assert.deepEqual(files.filter((f) => f.startsWith('src/') || f.startsWith('test/')), []);
});

for (const [kind, pageName] of [['<script> tag', 'script.html'], ['ESM import', 'esm.html']]) {
  test(`installed package from a ${kind}: connect, subscribe, receive`, async () => {
    const page = await openPage(`${PAGE}/app/${pageName}`);
    try {
      if (pageName === 'esm.html') await page.waitForFunction(() => window.esmReady === true);
      const t = signJwt({ sub: 'packed', exp: Math.floor(Date.now() / 1000) + 60 }, server.secret);
      const c = await step(page, [server], 'connect', server.base, { token: t });
      assert.equal(c.transport, 'websocket');
      const channel = uniq('sdk_pack');
      await step(page, [server], 'subscribe', channel);
      await server.api('publish', { channel, data: { kind: pageName } });
      assert.deepEqual((await step(page, [server], 'pubs', channel, 1))[0].data, { kind: pageName });
    } finally {
      await page.close();
    }
  });
}

test('installed package in Node: "." and "./server" resolve through the exports map, with types', () => {
  writeFileSync(join(app, 'check.mjs'), `
import { Centrifuge, ErrorCode } from '@centrifuge/sdk';
import { ServerClient, connectionToken } from '@centrifuge/sdk/server';
const t = await connectionToken('s'.repeat(32), { user: '42', ttl: 60 });
new ServerClient({ url: 'http://127.0.0.1:1', apiKey: 'k' });
console.log(typeof Centrifuge, ErrorCode.TokenExpired, t.split('.').length);
`);
  assert.equal(execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' }).trim(), 'function 109 3');
  // The types the exports map names exist in the installed copy.
  assert.ok(existsSync(join(installed, 'dist/index.d.ts')) && existsSync(join(installed, 'dist/server/index.d.ts')));
  assert.ok(readdirSync(join(installed, 'dist/server')).includes('openapi.gen.d.ts'));
});
