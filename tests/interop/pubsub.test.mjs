// Publications, presence, history, join/leave: stock centrifuge-js against bin/centrifuge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, waitFor, waitUntil, collect, call, frames, uniq, sleep } from './harness.mjs';

const server = useServer();

test('1. gentoken token connects; a publication sent with POST /api/publish reaches the subscriber, with its offset', async () => {
  const c = server.newClient({ label: 'alice', token: server.token('alice') });
  const conn = await server.connect(c);
  assert.ok(conn.client, `connected ctx has no client id: ${JSON.stringify(conn)}`);
  assert.equal(conn.transport, 'websocket');

  const channel = uniq('news');
  const { sub } = await server.subscribe(c, channel);

  const got = waitFor(sub, 'publication', { what: `the publication on ${channel}`, clients: [c] });
  const data = { text: 'hello', n: 1, nested: { ok: true, list: [1, 2, 3] }, unicode: 'héllo ✓' };
  const res = await server.api('publish', { channel, data });
  assert.equal(typeof res.offset, 'number', `/api/publish result has no numeric offset though history_size is 100: ${JSON.stringify(res)}`);
  assert.ok(res.offset >= 1, `/api/publish offset should start at 1: ${JSON.stringify(res)}`);
  assert.equal(typeof res.epoch, 'string', `/api/publish result has no epoch: ${JSON.stringify(res)}`);
  assert.ok(res.epoch.length > 0, `/api/publish result has an empty epoch: ${JSON.stringify(res)}`);

  const pub = await got;
  assert.equal(pub.channel, channel);
  assert.deepEqual(pub.data, data, `publication data differs from what was published\n${frames(c)}`);
  assert.equal(typeof pub.offset, 'number', `publication has no offset though history is on\n${frames(c)}`);
  assert.equal(pub.offset, res.offset, `publication offset differs from the /api/publish result ${JSON.stringify(res)}\n${frames(c)}`);
});

test('2. presence and presence_stats from the client list two clients of two users', async () => {
  const a = server.newClient({ label: 'alice', token: server.token('alice', { info: { name: 'Alice' } }) });
  const b = server.newClient({ label: 'bob', token: server.token('bob', { info: { name: 'Bob' } }) });
  const ca = await server.connect(a);
  const cb = await server.connect(b);
  const channel = uniq('room');
  const { sub: sa } = await server.subscribe(a, channel);
  const { sub: sb } = await server.subscribe(b, channel);

  const pres = await call(sa.presence(), `presence(${channel})`, [a]);
  const clients = pres.clients || {};
  assert.deepEqual(Object.keys(clients).sort(), [ca.client, cb.client].sort(),
    `presence should list exactly both client ids; got ${JSON.stringify(pres)}\n${frames(a)}`);
  assert.equal(clients[ca.client].user, 'alice', `presence entry of alice: ${JSON.stringify(clients[ca.client])}`);
  assert.equal(clients[ca.client].client, ca.client);
  assert.deepEqual(clients[ca.client].connInfo, { name: 'Alice' },
    `presence entry of alice should carry the token's info as connInfo: ${JSON.stringify(clients[ca.client])}\n${frames(a)}`);
  assert.equal(clients[cb.client].user, 'bob', `presence entry of bob: ${JSON.stringify(clients[cb.client])}`);
  assert.equal(clients[cb.client].client, cb.client);
  assert.deepEqual(clients[cb.client].connInfo, { name: 'Bob' });

  const stats = await call(sa.presenceStats(), `presenceStats(${channel})`, [a]);
  assert.deepEqual({ numClients: stats.numClients, numUsers: stats.numUsers }, { numClients: 2, numUsers: 2 },
    `presence_stats should count 2 clients / 2 users\n${frames(a)}`);

  // Bob leaves the channel: presence shrinks to alice alone.
  sb.unsubscribe();
  let last;
  await waitUntil(async () => {
    last = await call(sa.presenceStats(), `presenceStats(${channel})`, [a]);
    return last.numClients === 1 && last.numUsers === 1;
  }, { what: `presence_stats to drop to 1/1 after bob unsubscribed (last: ${JSON.stringify(last)})`, clients: [a, b], interval: 100 });
});

test('3. history from the client: publications in order with offsets; since and reverse', async () => {
  const c = server.newClient({ label: 'historian', token: server.token('historian') });
  await server.connect(c);
  const channel = uniq('hist');
  const { sub } = await server.subscribe(c, channel);

  const sent = [];
  for (let n = 1; n <= 5; n++) {
    const r = await server.api('publish', { channel, data: { n } });
    sent.push({ n, offset: r.offset, epoch: r.epoch });
  }
  const epoch = sent[0].epoch;
  assert.ok(sent.every((s) => s.epoch === epoch), `epoch changed between publishes: ${JSON.stringify(sent)}`);
  assert.deepEqual(sent.map((s) => s.offset), [1, 2, 3, 4, 5].map((i) => sent[0].offset + i - 1),
    `/api/publish offsets should grow by 1: ${JSON.stringify(sent)}`);

  const all = await call(sub.history({ limit: 10 }), `history(${channel}, limit 10)`, [c]);
  assert.deepEqual(all.publications.map((p) => p.data), sent.map((s) => ({ n: s.n })),
    `history should return the 5 publications oldest first\n${frames(c)}`);
  assert.deepEqual(all.publications.map((p) => p.offset), sent.map((s) => s.offset),
    `history publications should carry their offsets\n${frames(c)}`);
  assert.equal(all.offset, sent[4].offset, `history result offset should be the top of the stream\n${frames(c)}`);
  assert.equal(all.epoch, epoch, `history result epoch should equal the publish epoch\n${frames(c)}`);

  const limited = await call(sub.history({ limit: 2 }), `history(${channel}, limit 2)`, [c]);
  assert.deepEqual(limited.publications.map((p) => p.data.n), [1, 2], `history limit 2 should give the 2 oldest\n${frames(c)}`);

  const since = await call(sub.history({ limit: 10, since: { offset: sent[1].offset, epoch } }),
    `history(${channel}, since offset ${sent[1].offset})`, [c]);
  assert.deepEqual(since.publications.map((p) => p.data.n), [3, 4, 5],
    `history since the 2nd publication's offset should give publications 3..5\n${frames(c)}`);
  assert.deepEqual(since.publications.map((p) => p.offset), sent.slice(2).map((s) => s.offset));

  const rev = await call(sub.history({ limit: 2, reverse: true }), `history(${channel}, limit 2, reverse)`, [c]);
  assert.deepEqual(rev.publications.map((p) => p.data.n), [5, 4],
    `history reverse limit 2 should give the 2 newest, newest first\n${frames(c)}`);
  assert.deepEqual(rev.publications.map((p) => p.offset), [sent[4].offset, sent[3].offset]);
});

test('4. join and leave: A sees B join and leave, with B\'s user id and conn info', async () => {
  const a = server.newClient({ label: 'alice', token: server.token('alice') });
  const b = server.newClient({ label: 'bob', token: server.token('bob', { info: { name: 'Bob' } }) });
  await server.connect(a);
  const cb = await server.connect(b);
  const channel = uniq('jl');
  const { sub: sa } = await server.subscribe(a, channel, { joinLeave: true });

  const join = waitFor(sa, 'join', { filter: (ctx) => ctx.info && ctx.info.user === 'bob', what: `alice to see bob's join on ${channel}`, clients: [a] });
  await server.subscribe(b, channel);
  const j = await join;
  assert.equal(j.channel, channel);
  assert.equal(j.info.client, cb.client, `join info.client should be bob's client id ${cb.client}\n${frames(a)}`);
  assert.deepEqual(j.info.connInfo, { name: 'Bob' }, `join info should carry bob's connInfo\n${frames(a)}`);

  const leave = waitFor(sa, 'leave', { filter: (ctx) => ctx.info && ctx.info.user === 'bob', what: `alice to see bob's leave on ${channel} after bob disconnected`, clients: [a] });
  b.disconnect();
  const l = await leave;
  assert.equal(l.channel, channel);
  assert.equal(l.info.client, cb.client, `leave info.client should be bob's client id ${cb.client}\n${frames(a)}`);
});

test('extra: a publish from one client (sub.publish) reaches another, with the publisher\'s info', async () => {
  const a = server.newClient({ label: 'alice', token: server.token('alice') });
  const b = server.newClient({ label: 'bob', token: server.token('bob') });
  await server.connect(a);
  const cb = await server.connect(b);
  const channel = uniq('talk');
  const { sub: sa } = await server.subscribe(a, channel);
  const { sub: sb } = await server.subscribe(b, channel);

  const got = waitFor(sa, 'publication', { what: `alice to get bob's publication on ${channel}`, clients: [a, b] });
  await call(sb.publish({ text: 'hi from bob' }), `bob's publish to ${channel}`, [b]);
  const pub = await got;
  assert.deepEqual(pub.data, { text: 'hi from bob' });
  assert.ok(pub.info, `a client publication should carry the publisher's info\n${frames(a)}`);
  assert.equal(pub.info.user, 'bob');
  assert.equal(pub.info.client, cb.client);
});

test('extra: server API: key required (401), presence and history shapes', async () => {
  const channel = uniq('apishape');
  const noKey = await server.apiRaw('publish', { channel, data: {} }, { apiKey: null });
  assert.equal(noKey.status, 401, `no API key should be HTTP 401, got ${noKey.status} ${noKey.text}`);
  const badKey = await server.apiRaw('publish', { channel, data: {} }, { apiKey: 'wrong' + server.apiKey });
  assert.equal(badKey.status, 401, `a wrong API key should be HTTP 401, got ${badKey.status} ${badKey.text}`);

  const c = server.newClient({ label: 'carol', token: server.token('carol') });
  const cc = await server.connect(c);
  await server.subscribe(c, channel);
  const pres = await server.api('presence', { channel });
  assert.ok(pres.presence && pres.presence[cc.client], `/api/presence should list carol's client ${cc.client}: ${JSON.stringify(pres)}`);
  assert.equal(pres.presence[cc.client].user, 'carol');
  assert.equal(pres.presence[cc.client].client, cc.client);
  const stats = await server.api('presence_stats', { channel });
  assert.deepEqual({ n: stats.num_clients, u: stats.num_users }, { n: 1, u: 1 }, `/api/presence_stats: ${JSON.stringify(stats)}`);

  const r1 = await server.api('publish', { channel, data: { n: 1 } });
  const r2 = await server.api('publish', { channel, data: { n: 2 } });
  const hist = await server.api('history', { channel, limit: 10 });
  assert.deepEqual((hist.publications || []).map((p) => [p.data, p.offset]), [[{ n: 1 }, r1.offset], [{ n: 2 }, r2.offset]],
    `/api/history: ${JSON.stringify(hist)}`);
  assert.equal(hist.epoch, r1.epoch);
  assert.equal(hist.offset, r2.offset);
  await sleep(10);
});
