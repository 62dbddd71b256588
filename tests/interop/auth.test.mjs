// Tokens and channel permissions: stock centrifuge-js against bin/centrifuge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer, waitFor, collect, frames, uniq, sleep, randomHex, resignJwt, decodeJwt, signJwt,
} from './harness.mjs';

const server = useServer();

/** The connect reply of a client's first connection, from its frames. */
function connectReply(c) {
  return c.trace.received().find((m) => m.id === 1 && (m.connect || m.error)) || null;
}

test('6. token refresh through getToken keeps a connection with a 3 s token alive past its expiry', async () => {
  const user = 'refresher';
  const first = server.token(user, { ttl: '3s' });
  const { exp } = decodeJwt(first).payload;
  assert.equal(typeof exp, 'number', `gentoken --ttl 3s should set exp: ${JSON.stringify(decodeJwt(first))}`);
  let getTokenCalls = 0;
  const c = server.newClient({
    label: user,
    token: first,
    getToken: async () => {
      getTokenCalls++;
      c.trace.push('#', `getToken called (#${getTokenCalls})`);
      return server.token(user, { ttl: '1h' });
    },
  });
  await server.connect(c);
  const channel = uniq('refresh');
  const { sub } = await server.subscribe(c, channel);
  const reconnects = collect(c, 'connecting');
  const disconnects = collect(c, 'disconnected');

  // 6 s past the first token's expiry (the server closes expired connections 1 s after).
  await sleep(Math.max(0, exp * 1000 + 6000 - Date.now()));

  const reply = connectReply(c);
  const hint = `connect reply: ${JSON.stringify(reply)}`;
  assert.ok(getTokenCalls >= 1, `getToken was never called; the client refreshes only when the connect reply has expires: true and ttl (${hint})\n${frames(c)}`);
  assert.deepEqual(disconnects, [], `the connection must not be closed\n${frames(c)}`);
  assert.deepEqual(reconnects, [], `the connection must not be dropped (a 3005 here means the refresh was not accepted)\n${frames(c)}`);
  assert.equal(c.trace.transports, 1, `the client should keep its first WebSocket\n${frames(c)}`);
  assert.equal(c.state, 'connected');

  // The refresh went through the refresh command, and the server accepted it.
  const sentRefresh = c.trace.sent().filter((m) => m.refresh);
  assert.ok(sentRefresh.length >= 1, `the client should have sent a refresh command\n${frames(c)}`);
  const ids = new Set(sentRefresh.map((m) => m.id));
  const replies = c.trace.received().filter((m) => ids.has(m.id));
  assert.ok(replies.length >= 1 && replies.every((m) => m.refresh && !m.error),
    `the refresh command should get a refresh result: ${JSON.stringify(replies)}\n${frames(c)}`);

  const got = waitFor(sub, 'publication', { what: `a publication on ${channel} after the refresh`, clients: [c] });
  await server.api('publish', { channel, data: { still: 'here' } });
  assert.deepEqual((await got).data, { still: 'here' });
});

test('extra: an expiring token without getToken: server closes with 3005, the reconnect is refused with 109', async () => {
  const user = 'expirer';
  const tok = server.token(user, { ttl: '2s' });
  const { exp } = decodeJwt(tok).payload;
  const c = server.newClient({ label: user, token: tok, minReconnectDelay: 200, maxReconnectDelay: 500 });
  await server.connect(c);
  const lost = waitFor(c, 'connecting', {
    timeout: Math.max(0, exp * 1000 + 5000 - Date.now()),
    what: 'the server to close the connection with 3005 after the token expired (+1 s grace)',
    clients: [c],
  });
  const ended = waitFor(c, 'disconnected', { timeout: Math.max(0, exp * 1000 + 10000 - Date.now()), what: 'the client to give up', clients: [c] });
  const ctx = await lost;
  assert.equal(ctx.code, 3005, `expected disconnect code 3005 (connection expired), got ${JSON.stringify(ctx)}\n${frames(c)}`);
  await ended;
  const connectErrors = c.trace.received().filter((m) => m.error);
  assert.ok(connectErrors.some((m) => m.error.code === 109),
    `a reconnect with the expired token should be answered with error 109: ${JSON.stringify(connectErrors)}\n${frames(c)}`);
});

test('7. user-limited channel dialog#42,56: user 42 subscribes, user 7 is refused with 103', async () => {
  const channel = 'dialog#42,56';
  const c42 = server.newClient({ label: '42', token: server.token('42') });
  await server.connect(c42);
  await server.subscribe(c42, channel);

  const c7 = server.newClient({ label: '7', token: server.token('7') });
  await server.connect(c7);
  const sub = c7.newSubscription(channel);
  sub.on('error', (ctx) => c7.trace.push('#', `subscription error event ${JSON.stringify(ctx)}`));
  const outcome = new Promise((resolve) => {
    sub.on('subscribed', (ctx) => resolve({ event: 'subscribed', ctx }));
    sub.on('unsubscribed', (ctx) => resolve({ event: 'unsubscribed', code: ctx.code, ctx }));
    sub.on('error', (ctx) => resolve({ event: 'error', code: ctx.error && ctx.error.code, ctx }));
  });
  sub.subscribe();
  const r = await Promise.race([outcome, sleep(8000).then(() => ({ event: 'timeout' }))]);
  assert.notEqual(r.event, 'subscribed', `user 7 must not subscribe to ${channel}\n${frames(c7)}`);
  assert.notEqual(r.event, 'timeout', `no answer to user 7's subscribe within 8 s\n${frames(c7)}`);
  assert.equal(r.code, 103, `user 7 should be refused with 103 permission denied, got ${r.event} ${JSON.stringify(r.ctx)}\n${frames(c7)}`);
});

test('8. a token signed with a wrong secret: disconnected with 3500, no reconnect', async () => {
  const bad = resignJwt(server.token('mallory'), randomHex(16));
  const c = server.newClient({ label: 'mallory', token: bad, minReconnectDelay: 100, maxReconnectDelay: 200 });
  const reconnects = collect(c, 'connecting');
  const done = waitFor(c, 'disconnected', { what: 'the connection with a badly signed token to be refused', clients: [c] });
  c.connect();
  const ctx = await done;
  assert.equal(ctx.code, 3500, `expected disconnected code 3500 (invalid token), got ${JSON.stringify(ctx)}\n${frames(c)}`);
  await sleep(1200);
  assert.equal(c.state, 'disconnected', `client must stay disconnected\n${frames(c)}`);
  assert.equal(c.trace.transports, 1, `client must not reconnect after 3500\n${frames(c)}`);
  assert.equal(reconnects.filter((r) => r.code !== 0).length, 0, `no reconnect attempt expected: ${JSON.stringify(reconnects)}`);
});

test('extra: alg none and another project\'s token are refused with 3500; the other project\'s endpoint takes its own token', async () => {
  const { payload } = decodeJwt(server.token('eve'));
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;
  const forged = signJwt({ sub: 'eve', exp: Math.floor(Date.now() / 1000) + 3600 }, randomHex(16));
  const other = server.token('eve', { project: 'other' });
  for (const [label, token] of [['alg none', none], ['forged', forged], ['other project token', other]]) {
    const c = server.newClient({ label, token, minReconnectDelay: 100, maxReconnectDelay: 200 });
    const done = waitFor(c, 'disconnected', { what: `the ${label} connection to be refused`, clients: [c] });
    c.connect();
    const ctx = await done;
    assert.equal(ctx.code, 3500, `${label}: expected disconnected code 3500, got ${JSON.stringify(ctx)}\n${frames(c)}`);
    c.disconnect();
  }
  const ok = server.newClient({ label: 'eve@other', token: other, project: 'other' });
  await server.connect(ok, 'the other project\'s token on /connection/other/websocket to connect');
});
