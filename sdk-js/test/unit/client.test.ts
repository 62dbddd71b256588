// The connection and subscription state machines, driven through a fake WebSocket.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Centrifuge, ConnectingCode } from '../../src/index';
import { FakeWS, tick, until } from './fake';

beforeEach(() => FakeWS.reset());

const URL = 'ws://h/connection/websocket';
const opts = { websocket: FakeWS, minReconnectDelay: 5, maxReconnectDelay: 10, timeout: 1000 };

/** A client connected over a fake socket (connect reply id 1 with `result`). */
async function connected(extra: object = {}, result: object = {}) {
  const c = new Centrifuge(URL, { ...opts, ...extra });
  const events: string[] = [];
  c.on('state', (x) => events.push(`${x.oldState}->${x.newState}`));
  c.connect();
  await until(() => FakeWS.all.length > 0 && FakeWS.last().sent.length > 0, 'connect command');
  const ws = FakeWS.last();
  const cmd = ws.cmds()[0];
  ws.push({ id: cmd.id, connect: { client: 'cid', version: '1', ping: 0, ...result } });
  return { c, ws, events, cmd };
}

test('connect: disconnected -> connecting -> connected, with the token in the command', async () => {
  const { c, events, cmd } = await connected({ token: 'T', data: { a: 1 } });
  assert.equal(c.state, 'connected');
  assert.deepEqual(events, ['disconnected->connecting', 'connecting->connected']);
  assert.deepEqual(cmd.connect, { token: 'T', data: { a: 1 } });
  c.disconnect();
  assert.equal(c.state, 'disconnected');
});

test('subscribe, publications with offsets, then a reconnect recovers from the last offset', async () => {
  const { c, ws } = await connected();
  const sub = c.newSubscription('news', { recoverable: true, joinLeave: true });
  const got: unknown[] = [];
  const subscribed: { recovered: boolean; wasRecovering: boolean }[] = [];
  sub.on('publication', (p) => got.push(p.data));
  sub.on('subscribed', (x) => subscribed.push({ recovered: x.recovered, wasRecovering: x.wasRecovering }));
  sub.subscribe();
  assert.equal(sub.state, 'subscribing');
  await until(() => ws.sent.length > 1, 'subscribe command');
  const s = ws.cmds()[1];
  assert.deepEqual(s.subscribe, { channel: 'news', recoverable: true, join_leave: true });
  // Reply and two publications in one frame.
  ws.push({ id: s.id, subscribe: { recoverable: true, epoch: 'E', offset: 4 } },
    { push: { channel: 'news', pub: { data: 'p5', offset: 5 } } }, { push: { channel: 'news', pub: { data: 'p6', offset: 6 } } });
  assert.equal(sub.state, 'subscribed');
  assert.deepEqual(sub.position, { offset: 6, epoch: 'E' });

  ws.serverClose(3001, 'shutdown');
  assert.equal(c.state, 'connecting');
  assert.equal(sub.state, 'subscribing');
  await until(() => FakeWS.all.length === 2 && FakeWS.last().sent.length > 0, 'reconnect');
  const ws2 = FakeWS.last();
  ws2.push({ id: ws2.cmds()[0].id, connect: { client: 'c2' } });
  await until(() => ws2.sent.length > 1, 'resubscribe');
  const s2 = ws2.cmds()[1];
  assert.deepEqual(s2.subscribe, { channel: 'news', recoverable: true, join_leave: true, recover: true, offset: 6, epoch: 'E' });
  // Recovered: 7 and 8 (6 again is a duplicate and dropped).
  ws2.push({ id: s2.id, subscribe: { recoverable: true, recovered: true, epoch: 'E', offset: 8, publications: [{ data: 'p6', offset: 6 }, { data: 'p7', offset: 7 }, { data: 'p8', offset: 8 }] } });
  assert.deepEqual(got, ['p5', 'p6', 'p7', 'p8']);
  assert.deepEqual(subscribed, [{ recovered: false, wasRecovering: false }, { recovered: true, wasRecovering: true }]);
  assert.deepEqual(sub.position, { offset: 8, epoch: 'E' });
  c.disconnect();
});

test('a terminal disconnect code (3500) ends in disconnected, without reconnecting', async () => {
  const { c, ws } = await connected();
  const d: number[] = [];
  c.on('disconnected', (x) => d.push(x.code));
  ws.serverClose(3500, 'invalid token');
  assert.equal(c.state, 'disconnected');
  await tick(30);
  assert.equal(FakeWS.all.length, 1);
  assert.deepEqual(d, [3500]);
});

test('a disconnect push is handled as a close with that code', async () => {
  const { c, ws } = await connected();
  const codes: number[] = [];
  c.on('connecting', (x) => codes.push(x.code));
  ws.push({ push: { disconnect: { code: 3011, reason: 'force reconnect' } } });
  assert.equal(c.state, 'connecting');
  assert.deepEqual(codes, [3011]);
  c.disconnect();
});

test('fallback: a socket refused before opening moves to the next endpoint at once', async () => {
  FakeWS.refuse = 1;
  const c = new Centrifuge([{ transport: 'websocket', endpoint: 'ws://a/connection/websocket' }, { transport: 'websocket', endpoint: 'ws://b/connection/websocket' }], opts);
  c.connect();
  await until(() => FakeWS.all.length === 2 && FakeWS.last().sent.length > 0, 'second endpoint');
  assert.equal(FakeWS.last().url, 'ws://b/connection/websocket');
  c.disconnect();
});

test('ping: answered with a pong; silence past ping + maxServerPingDelay reconnects (no ping)', async () => {
  const { c, ws } = await connected({ maxServerPingDelay: 50 }, { ping: 1, pong: true });
  ws.push({});
  await tick(5);
  assert.deepEqual(ws.cmds().slice(-1), [{}]);
  const codes: number[] = [];
  c.on('connecting', (x) => codes.push(x.code));
  await until(() => codes.length > 0, 'no ping', 2000);
  assert.deepEqual(codes, [ConnectingCode.NoPing]);
  assert.ok(ws.closed);
  c.disconnect();
});

test('an expired token (error 109) is replaced by getToken and the client reconnects', async () => {
  let calls = 0;
  const c = new Centrifuge(URL, { ...opts, token: 'old', getToken: async () => `new${++calls}` });
  c.connect();
  await until(() => FakeWS.all.length === 1 && FakeWS.last().sent.length > 0, 'connect');
  FakeWS.last().push({ id: FakeWS.last().cmds()[0].id, error: { code: 109, message: 'token expired' } });
  await until(() => FakeWS.all.length === 2 && FakeWS.last().sent.length > 0, 'reconnect');
  assert.equal(FakeWS.last().cmds()[0].connect.token, 'new1');
  c.disconnect();
});

test('connection token refresh: at ttl, refresh {token} from getToken', async () => {
  let n = 0;
  const { c, ws } = await connected({ token: 't0', getToken: async () => `t${++n}` }, { expires: true, ttl: 0 });
  await until(() => ws.cmds().some((x) => x.refresh), 'refresh command');
  assert.equal(ws.cmds().find((x) => x.refresh).refresh.token, 't1');
  c.disconnect();
});

test('unsubscribe push: >= 2500 resubscribes, 2000 ends unsubscribed', async () => {
  const { c, ws } = await connected();
  const sub = c.newSubscription('a');
  sub.subscribe();
  await until(() => ws.sent.length > 1, 'subscribe');
  ws.push({ id: ws.cmds()[1].id, subscribe: {} });
  ws.push({ push: { channel: 'a', unsubscribe: { code: 2500, reason: 'insufficient' } } });
  assert.equal(sub.state, 'subscribing');
  await until(() => ws.sent.length > 2, 'resubscribe');
  ws.push({ id: ws.cmds()[2].id, subscribe: {} });
  assert.equal(sub.state, 'subscribed');
  const u: number[] = [];
  sub.on('unsubscribed', (x) => u.push(x.code));
  ws.push({ push: { channel: 'a', unsubscribe: { code: 2000, reason: 'server' } } });
  assert.equal(sub.state, 'unsubscribed');
  assert.deepEqual(u, [2000]);
  c.disconnect();
});

test('subscribe errors: temporary retried, permission denied ends unsubscribed with the code', async () => {
  const { c, ws } = await connected();
  const sub = c.newSubscription('b');
  const errs: number[] = [];
  sub.on('error', (x) => errs.push(x.error.code));
  sub.subscribe();
  await until(() => ws.sent.length > 1, 'subscribe');
  ws.push({ id: ws.cmds()[1].id, error: { code: 100, message: 'internal', temporary: true } });
  await until(() => ws.sent.length > 2, 'retry');
  ws.push({ id: ws.cmds()[2].id, error: { code: 103, message: 'permission denied' } });
  assert.equal(sub.state, 'unsubscribed');
  assert.deepEqual(errs, [100, 103]);
  c.disconnect();
});

test('requests: replies matched by id, errors as CentrifugeError; calls fail when the connection closes', async () => {
  const { c, ws } = await connected();
  const p = c.presence('x');
  const r = c.rpc('m', 1);
  await until(() => ws.sent.length > 2, 'requests');
  const [pc, rc] = ws.cmds().slice(1);
  ws.push({ id: rc.id, error: { code: 104, message: 'method not found' } }, { id: pc.id, presence: { presence: { a: { user: 'u', client: 'a' } } } });
  assert.deepEqual(await p, { clients: { a: { user: 'u', client: 'a' } } });
  await assert.rejects(r, (e: Error & { code: number }) => e.name === 'CentrifugeError' && e.code === 104);
  const h = c.history('x', { limit: 1 });
  await until(() => ws.sent.length > 3, 'history');
  ws.serverClose(3001, 'bye');
  await assert.rejects(h, (e: Error & { code: number }) => e.code === 11);
  c.disconnect();
});

test('server-side subscriptions: connect reply subs and pushes are client events; recovered on reconnect', async () => {
  const { c, ws } = await connected({}, { subs: { 'chat:a': { recoverable: true, epoch: 'E', offset: 1 } } });
  void ws;
  const pubs: unknown[] = [];
  c.on('publication', (p) => pubs.push([p.channel, p.data]));
  FakeWS.last().push({ push: { channel: 'chat:a', pub: { data: 2, offset: 2 } } });
  FakeWS.last().serverClose(3001, 'restart');
  await until(() => FakeWS.all.length === 2 && FakeWS.last().sent.length > 0, 'reconnect');
  assert.deepEqual(FakeWS.last().cmds()[0].connect.subs, { 'chat:a': { recover: true, offset: 2, epoch: 'E' } });
  const recovered: boolean[] = [];
  c.on('subscribed', (x) => recovered.push(x.recovered && x.wasRecovering));
  FakeWS.last().push({ id: FakeWS.last().cmds()[0].id, connect: { client: 'c2', subs: { 'chat:a': {
    recoverable: true, recovered: true, epoch: 'E', offset: 3, publications: [{ data: 2, offset: 2 }, { data: 3, offset: 3 }] } } } });
  FakeWS.last().push({ push: { channel: 'chat:a', pub: { data: 3, offset: 3 } } }, { push: { channel: 'chat:a', pub: { data: 4, offset: 4 } } });
  assert.deepEqual(recovered, [true]);
  assert.deepEqual(pubs, [['chat:a', 2], ['chat:a', 3], ['chat:a', 4]], 'missed ones once, duplicates dropped');
  c.disconnect();
});

test('a malformed frame disconnects with bad protocol', async () => {
  const { c, ws } = await connected();
  ws.onmessage!({ data: '{"id":' });
  assert.equal(c.state, 'disconnected');
});

test('the commands of one task go out in one frame, split below the server frame limit', async () => {
  const { c, ws } = await connected();
  const frames: string[] = [];
  const send = ws.send.bind(ws);
  ws.send = (s: string) => { frames.push(s); send(s); };
  for (let i = 0; i < 600; i++) c.newSubscription(`channel_with_a_longish_name_${i}`, { recoverable: true }).subscribe();
  await tick(5);
  assert.ok(frames.length >= 3 && frames.length <= 5, `frames: ${frames.length}`);
  assert.ok(frames.every((f) => f.length <= 16384), 'every frame under 16384 chars');
  assert.equal(frames.join('\n').split('\n').length, 600);
  c.disconnect();
});

test('a stream the server made recoverable (force_recovery) is recovered though the subscription did not ask', async () => {
  const { c, ws } = await connected();
  const sub = c.newSubscription('chat:x');
  sub.subscribe();
  await until(() => ws.sent.length > 1, 'subscribe');
  assert.equal(ws.cmds()[1].subscribe.recover, undefined);
  ws.push({ id: ws.cmds()[1].id, subscribe: { recoverable: true, epoch: 'E', offset: 7 } });
  ws.serverClose(3001, 'restart');
  await until(() => FakeWS.all.length === 2 && FakeWS.last().sent.length > 0, 'reconnect');
  const ws2 = FakeWS.last();
  ws2.push({ id: ws2.cmds()[0].id, connect: { client: 'c2' } });
  await until(() => ws2.sent.length > 1, 'resubscribe');
  assert.deepEqual(ws2.cmds()[1].subscribe, { channel: 'chat:x', recover: true, offset: 7, epoch: 'E' });
  c.disconnect();
});
