// Graceful shutdown: runs last (alphabetically) in its own process with its own server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, waitFor, frames, deadline } from './harness.mjs';

const server = useServer();

test('extra: SIGTERM closes clients with 3001 (they reconnect) and the server exits 0', async () => {
  const c = server.newClient({ label: 'stayer', token: server.token('stayer'), minReconnectDelay: 5000, maxReconnectDelay: 5000 });
  await server.connect(c);
  const lost = waitFor(c, 'connecting', { what: 'the client to be closed by the shutdown', clients: [c] });
  server.proc.kill('SIGTERM');
  const ctx = await lost;
  assert.equal(ctx.code, 3001, `expected close code 3001 (shutdown), got ${JSON.stringify(ctx)}\n${frames(c)}`);
  c.disconnect();
  const exit = await Promise.race([server.exited, deadline(10000, 'still running after 10 s')]);
  assert.deepEqual(exit, { code: 0, signal: null }, `server should exit 0 on SIGTERM, got ${JSON.stringify(exit)}\n${server.log(30)}`);
});
