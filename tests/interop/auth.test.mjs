// Tokens and channel permissions: stock centrifuge-js against bin/centrifuge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  useServer, waitFor, collect, frames, uniq, sleep, deadline, randomHex, resignJwt, decodeJwt, signJwt,
} from './harness.mjs';

const server = useServer();

/** A bare protocol client: JSON frames over `ws`, split on newlines. */
function rawClient(url) {
  const ws = new WebSocket(url);
  const messages = [];
  const log = [];
  const waiters = [];
  ws.on('message', (data) => {
    log.push(`< ${data}`);
    for (const line of data.toString().trim().split('\n')) {
      if (!line.trim()) continue;
      const m = JSON.parse(line);
      if (Object.keys(m).length === 0) { ws.send('{}'); continue; } // ping -> pong
      messages.push(m);
      for (const w of [...waiters]) if (w.filter(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
    }
  });
  const opened = new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const closed = new Promise((resolve) => ws.once('close', (code, reason) => {
    log.push(`# close ${code} ${reason}`);
    resolve({ code, reason: reason.toString() });
  }));
  return {
    ws, opened, closed, messages,
    send(obj) { const t = JSON.stringify(obj); log.push(`> ${t}`); ws.send(t); },
    next(filter, timeout) {
      const have = messages.find(filter);
      if (have) return Promise.resolve(have);
      return new Promise((resolve, reject) => {
        const w = { filter, resolve };
        waiters.push(w);
        setTimeout(() => { if (waiters.includes(w)) { waiters.splice(waiters.indexOf(w), 1); reject(new Error(`no matching frame within ${timeout} ms\n${log.join('\n')}`)); } }, timeout).unref();
      });
    },
    dump() { return `  raw frames:\n    ${log.join('\n    ')}`; },
  };
}

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

// centrifuge-js without getToken gives up by itself when the ttl runs out (before the
// server acts), so this one speaks the protocol over a bare WebSocket.
test('extra: a connection whose token expires is closed with 3005; connecting with the expired token gets error 109', async () => {
  const user = 'expirer';
  const tok = server.token(user, { ttl: '2s' });
  const { exp } = decodeJwt(tok).payload;

  const raw = rawClient(server.wsUrl());
  await raw.opened;
  raw.send({ id: 1, connect: { token: tok, name: 'interop-raw' } });
  const reply = await raw.next((m) => m.id === 1, 5000);
  assert.ok(reply.connect, `connect should succeed: ${JSON.stringify(reply)}`);
  assert.equal(reply.connect.expires, true, `connect reply should say expires: true: ${JSON.stringify(reply)}`);
  assert.ok(reply.connect.ttl > 0 && reply.connect.ttl <= 3, `connect reply ttl should be 1..3 s: ${JSON.stringify(reply)}`);
  const close = await Promise.race([raw.closed, deadline(Math.max(0, exp * 1000 + 5000 - Date.now()), null)]);
  assert.ok(close, `server did not close the expired connection within exp + 5 s\n${raw.dump()}`);
  assert.equal(close.code, 3005, `expected close code 3005 (connection expired), got ${JSON.stringify(close)}\n${raw.dump()}`);

  const again = rawClient(server.wsUrl());
  await again.opened;
  again.send({ id: 1, connect: { token: tok } });
  const r2 = await Promise.race([again.next((m) => m.id === 1, 5000), again.closed.then((c) => ({ closed: c }))]);
  again.ws.close();
  assert.ok(r2.error, `connect with an expired token should be answered with an error: ${JSON.stringify(r2)}\n${again.dump()}`);
  assert.equal(r2.error.code, 109, `connect with an expired token should get error 109 (token expired): ${JSON.stringify(r2)}`);
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
  const r = await Promise.race([outcome, deadline(8000, { event: 'timeout' })]);
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
