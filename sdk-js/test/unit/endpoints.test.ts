import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointFor, parseUrl, resolveEndpoints } from '../../src/endpoints';

test('a transport URL means that transport only', () => {
  assert.deepEqual(resolveEndpoints('ws://h:8000/connection/websocket'), {
    endpoints: [{ transport: 'websocket', endpoint: 'ws://h:8000/connection/websocket' }],
    emulation: 'http://h:8000/emulation',
  });
});

test('a base URL derives every default transport, for a project', () => {
  const r = resolveEndpoints('https://h/rt/', undefined, 'blog');
  assert.deepEqual(r.endpoints.map((e) => e.endpoint), [
    'wss://h/rt/connection/blog/websocket', 'https://h/rt/connection/blog/http_stream', 'https://h/rt/connection/blog/sse',
  ]);
  // Emulation sessions are bound to their project: /emulation/<project>.
  assert.equal(r.emulation, 'https://h/rt/emulation/blog');
});

test('a project URL with transports listed derives the others under the same project', () => {
  const r = resolveEndpoints('ws://h/connection/blog/websocket', ['websocket', 'sse', 'sockjs']);
  assert.deepEqual(r.endpoints.map((e) => e.endpoint), [
    'ws://h/connection/blog/websocket', 'http://h/connection/blog/sse', 'http://h/connection/blog/sockjs',
  ]);
  assert.deepEqual(parseUrl('ws://h/connection/blog/websocket'), { base: 'http://h', transport: 'websocket', project: 'blog' });
  assert.equal(r.emulation, 'http://h/emulation/blog');
  const list = [{ transport: 'http_stream' as const, endpoint: 'http://h/connection/blog/http_stream' }];
  assert.equal(resolveEndpoints(list).emulation, 'http://h/emulation/blog');
});

test('the default project uses the unprefixed paths; an explicit list is kept', () => {
  assert.equal(endpointFor('http://h', 'sse', 'default'), 'http://h/connection/sse');
  const list = [{ transport: 'sse' as const, endpoint: 'http://h:1/connection/sse' }];
  assert.deepEqual(resolveEndpoints(list), { endpoints: list, emulation: 'http://h:1/emulation' });
  assert.throws(() => resolveEndpoints([]));
});
