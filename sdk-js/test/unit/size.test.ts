// The core <script> bundle stays under 10 KB gzip -9, without sockjs-client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const LIMIT = 10 * 1024;

test('dist/centrifuge.js is at most 10 KB gzip -9 and does not contain sockjs-client', () => {
  const js = readFileSync(new URL('../../dist/centrifuge.js', import.meta.url));
  const gz = gzipSync(js, { level: 9 }).length;
  assert.ok(gz <= LIMIT, `dist/centrifuge.js is ${gz} bytes gzipped, over the ${LIMIT} limit`);
  const text = js.toString();
  for (const s of ['xhr-streaming', 'iframe-htmlfile', 'jsonp-polling']) assert.ok(!text.includes(s), `bundle contains sockjs-client (${s})`);
  for (const s of ['http_stream', 'sse', 'websocket', 'emulation']) assert.ok(text.includes(s), `bundle lacks ${s}`);
});
