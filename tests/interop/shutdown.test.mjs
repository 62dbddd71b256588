// Graceful shutdown: runs last (alphabetically) in its own process with its own server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, waitFor, frames, deadline } from './harness.mjs';

const server = useServer();

test('extra: SIGTERM closes every client with 3001 (they reconnect) and the server exits 0', async () => {
  // Several clients, so that a close frame lost in a race with the process exit shows up.
  const clients = [];
  for (let i = 0; i < 10; i++) {
    const c = server.newClient({ label: `stayer${i}`, token: server.token(`stayer${i}`), minReconnectDelay: 5000, maxReconnectDelay: 5000 });
    await server.connect(c);
    clients.push(c);
  }
  const lost = clients.map((c) => waitFor(c, 'connecting', { what: `client "${c.trace.label}" to be closed by the shutdown`, clients: [c] }));
  server.kill('SIGTERM');
  const ctxs = await Promise.all(lost);
  for (const c of clients) c.disconnect();
  const bad = clients.filter((c, i) => ctxs[i].code !== 3001);
  assert.deepEqual(bad.map((c) => c.trace.label), [],
    `every client should be closed with code 3001 (shutdown); ${bad.length} of ${clients.length} got ` +
    `${JSON.stringify(ctxs.filter((x) => x.code !== 3001))}\n${frames(...bad.slice(0, 2))}\n${server.log(30)}`);
  const exit = await Promise.race([server.exited, deadline(10000, 'still running after 10 s')]);
  assert.deepEqual(exit, { code: 0, signal: null }, `server should exit 0 on SIGTERM, got ${JSON.stringify(exit)}\n${server.log(30)}`);
});
