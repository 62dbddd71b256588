// Three nodes on one Redis (engine: redis) act as one: stock centrifuge-js against
// three bin/centrifuge processes named node-a, node-b, node-c.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, waitFor, waitUntil, collect, call, frames, uniq, sleep } from './harness.mjs';

const { cluster } = useCluster({ nodes: 3 });
const node = (name) => cluster.node(name);

/** A connected client of `user` on node `name`; returns {c, ctx}. */
async function clientOn(name, user, opts = {}) {
  const n = node(name);
  const c = n.newClient({ label: `${user}@${name}`, token: cluster.token(user), ...opts });
  const ctx = await n.connect(c);
  return { c, ctx };
}

/** /api/info of node `name`: its nodes list by name. */
async function infoOn(name) {
  const r = await node(name).api('info', {});
  return Object.fromEntries((r.nodes || []).map((x) => [x.name, x]));
}

test('multi 1. /api/info on every node lists all three nodes with their uid and client counts', async () => {
  // A client per node (two on B), to see the counts of other nodes through the heartbeats.
  const { ctx: ctxA } = await clientOn('node-a', 'info1');
  const { ctx: ctxB } = await clientOn('node-b', 'info2');
  await clientOn('node-b', 'info3');
  const { ctx: ctxC } = await clientOn('node-c', 'info4');

  const want = { 'node-a': 1, 'node-b': 2, 'node-c': 1 };
  let last = {};
  // Heartbeats every 2 s: give them up to ~6 s.
  await waitUntil(async () => {
    for (const name of Object.keys(want)) {
      last[name] = await infoOn(name);
      const got = last[name];
      if (Object.keys(got).sort().join() !== 'node-a,node-b,node-c') return false;
      for (const [n, k] of Object.entries(want)) if (got[n].num_clients !== k) return false;
    }
    return true;
  }, { timeout: 6000, interval: 200, what: `/api/info on every node to list node-a, node-b, node-c with num_clients ${JSON.stringify(want)}; last answers: ${JSON.stringify(last)}\n${cluster.log(15)}` });

  const info = last['node-b'];
  const uids = Object.values(info).map((x) => x.uid);
  assert.equal(new Set(uids).size, 3, `the three nodes should have distinct uids: ${JSON.stringify(info)}`);
  // The connect reply names the node (its uid) the client landed on (from the frames:
  // centrifuge-js does not expose it).
  const connectNode = (c) => c.trace.received().find((m) => m.id === 1 && m.connect).connect.node;
  const [ca] = [...node('node-a').clients];
  const [cb] = [...node('node-b').clients];
  const [cc] = [...node('node-c').clients];
  assert.equal(connectNode(ca), info['node-a'].uid, `connect reply node of a client on node-a\n${frames(ca)}`);
  assert.equal(connectNode(cb), info['node-b'].uid, `connect reply node of a client on node-b\n${frames(cb)}`);
  assert.equal(connectNode(cc), info['node-c'].uid, `connect reply node of a client on node-c\n${frames(cc)}`);
  assert.ok(ctxA.client && ctxB.client && ctxC.client);
});

test('multi 2. a publication sent with /api/publish on node C reaches subscribers on nodes A and B', async () => {
  const { c: a } = await clientOn('node-a', 'puba');
  const { c: b } = await clientOn('node-b', 'pubb');
  const channel = uniq('news');
  const { sub: sa } = await node('node-a').subscribe(a, channel);
  const { sub: sb } = await node('node-b').subscribe(b, channel);
  const pa = collect(sa, 'publication');
  const pb = collect(sb, 'publication');

  const gotA = waitFor(sa, 'publication', { what: `the publication from node-c on ${channel} at node-a`, clients: [a] });
  const gotB = waitFor(sb, 'publication', { what: `the publication from node-c on ${channel} at node-b`, clients: [b] });
  const data = { text: 'from C', n: 1 };
  const res = await node('node-c').api('publish', { channel, data });
  const [pubA, pubB] = await Promise.all([gotA, gotB]);
  assert.deepEqual(pubA.data, data, `node-a subscriber got other data\n${frames(a)}`);
  assert.deepEqual(pubB.data, data, `node-b subscriber got other data\n${frames(b)}`);
  assert.equal(pubA.offset, res.offset, `offset at node-a differs from /api/publish on node-c ${JSON.stringify(res)}\n${frames(a)}`);
  assert.equal(pubB.offset, res.offset);

  // And back the other way, from a client on B to a client on A, in order.
  for (let n = 2; n <= 4; n++) await call(sb.publish({ n }), `client publish ${n} on node-b`, [b]);
  await waitUntil(() => pa.length >= 4 && pb.length >= 4, { what: `publications 2..4 at both nodes (A ${pa.length}, B ${pb.length})`, clients: [a, b] });
  await sleep(200);
  assert.deepEqual(pa.map((p) => p.data.n), [1, 2, 3, 4], `node-a subscriber: every publication once, in order\n${frames(a)}`);
  assert.deepEqual(pb.map((p) => p.data.n), [1, 2, 3, 4], `node-b subscriber: every publication once, in order\n${frames(b)}`);
});

test('multi 3. presence asked on node B (client and /api/presence) lists the clients of all three nodes; joins cross nodes', async () => {
  const channel = uniq('chat:pres');
  const { c: a, ctx: ca } = await clientOn('node-a', 'pres-a');
  const { c: b, ctx: cb } = await clientOn('node-b', 'pres-b');
  const { c: c, ctx: cc } = await clientOn('node-c', 'pres-c');
  const { sub: sa } = await node('node-a').subscribe(a, channel);
  const joins = collect(sa, 'join');
  const { sub: sb } = await node('node-b').subscribe(b, channel);
  await node('node-c').subscribe(c, channel);
  const all = [ca.client, cb.client, cc.client].sort();

  const pres = await call(sb.presence(), `presence(${channel}) from the client on node-b`, [b]);
  const clients = pres.clients || {};
  assert.deepEqual(Object.keys(clients).sort(), all,
    `client presence on node-b should list the clients of node-a, node-b and node-c: ${JSON.stringify(pres)}\n${frames(b)}`);
  assert.equal(clients[ca.client].user, 'pres-a');
  assert.equal(clients[cc.client].user, 'pres-c');

  const stats = await call(sb.presenceStats(), `presenceStats(${channel}) on node-b`, [b]);
  assert.deepEqual({ numClients: stats.numClients, numUsers: stats.numUsers }, { numClients: 3, numUsers: 3 },
    `presence stats on node-b should count 3 clients / 3 users\n${frames(b)}`);

  const api = await node('node-b').api('presence', { channel });
  assert.deepEqual(Object.keys(api.presence || {}).sort(), all, `/api/presence on node-b: ${JSON.stringify(api)}`);
  assert.equal(api.presence[cc.client].user, 'pres-c');
  const apiStats = await node('node-b').api('presence_stats', { channel });
  assert.deepEqual({ n: apiStats.num_clients, u: apiStats.num_users }, { n: 3, u: 3 }, `/api/presence_stats on node-b: ${JSON.stringify(apiStats)}`);

  // force_push_join_leave on chat: the subscriber on A saw B and C join.
  await waitUntil(() => ['pres-b', 'pres-c'].every((u) => joins.some((j) => j.info.user === u)),
    { what: `node-a subscriber to see joins of pres-b (node-b) and pres-c (node-c); got ${JSON.stringify(joins.map((j) => j.info.user))}`, clients: [a] });

  // C leaves (disconnects): presence on B shrinks to A and B, A sees the leave.
  const leave = waitFor(sa, 'leave', { filter: (ctx) => ctx.info.user === 'pres-c', what: `node-a subscriber to see pres-c (node-c) leave`, clients: [a] });
  c.disconnect();
  await leave;
  let last;
  await waitUntil(async () => {
    last = await node('node-b').api('presence', { channel });
    return Object.keys(last.presence || {}).sort().join() === [ca.client, cb.client].sort().join();
  }, { interval: 100, what: `/api/presence on node-b to drop the client of node-c (last ${JSON.stringify(last)})` });
});

test('multi 4. history and recovery on a DIFFERENT node: a new client on B subscribes with since {offset, epoch} from A and recovers 2..4', async () => {
  const channel = uniq('chat:roam');
  const { c: a } = await clientOn('node-a', 'roamer');
  const { sub: sa, ctx: first } = await node('node-a').subscribe(a, channel);
  assert.equal(first.recoverable, true, `chat: is force_recovery: subscribe should be recoverable\n${frames(a)}`);
  const p1 = waitFor(sa, 'publication', { what: `pub 1 on ${channel} at node-a`, clients: [a] });
  const r1 = await node('node-a').api('publish', { channel, data: { n: 1 } });
  const pub1 = await p1;
  assert.equal(pub1.offset, r1.offset);
  const epoch = first.streamPosition.epoch;
  assert.equal(r1.epoch, epoch, `epoch of /api/publish on node-a vs subscribe reply\n${frames(a)}`);
  a.disconnect();

  const sent = [];
  for (let n = 2; n <= 4; n++) {
    const r = await node('node-c').api('publish', { channel, data: { n } });
    assert.equal(r.epoch, epoch, `epoch of /api/publish on node-c differs from node-a's: the stream must be shared (${JSON.stringify(r)})`);
    sent.push(r.offset);
  }
  assert.deepEqual(sent, [r1.offset + 1, r1.offset + 2, r1.offset + 3], `offsets across nodes should continue one stream: ${JSON.stringify(sent)}`);

  // History of the stream, asked on node-b.
  const hist = await node('node-b').api('history', { channel, limit: 10 });
  assert.deepEqual((hist.publications || []).map((p) => [p.data.n, p.offset]), [1, 2, 3, 4].map((n) => [n, r1.offset + n - 1]),
    `/api/history on node-b: ${JSON.stringify(hist)}`);
  assert.equal(hist.epoch, epoch);

  const { c: b } = await clientOn('node-b', 'roamer');
  const sub = b.newSubscription(channel, { since: { offset: pub1.offset, epoch } });
  sub.on('state', (ctx) => b.trace.push('#', `subscription ${channel} ${ctx.oldState} -> ${ctx.newState}`));
  const pubs = collect(sub, 'publication');
  const subscribed = waitFor(sub, 'subscribed', { what: `the recovering subscribe to ${channel} on node-b`, clients: [b] });
  sub.subscribe();
  const ctx = await subscribed;
  assert.equal(ctx.wasRecovering, true, `subscribe with since should be a recovery (recover: true)\n${frames(b)}`);
  assert.equal(ctx.recovered, true, `node-b should recover the 3 publications made on node-c after offset ${pub1.offset}\n${frames(b)}`);
  await waitUntil(() => pubs.length >= 3, { what: `recovered publications 2..4 on node-b (got ${pubs.length})`, clients: [b] });
  await sleep(300);
  assert.deepEqual(pubs.map((p) => p.data.n), [2, 3, 4], `publications 2..4 exactly once, in order\n${frames(b)}`);
  assert.deepEqual(pubs.map((p) => p.offset), sent);

  const p5 = waitFor(sub, 'publication', { filter: (p) => p.data.n === 5, what: `live pub 5 (published on node-a) at node-b`, clients: [b] });
  await node('node-a').api('publish', { channel, data: { n: 5 } });
  await p5;
  await sleep(200);
  assert.deepEqual(pubs.map((p) => p.data.n), [2, 3, 4, 5], `no duplicates after recovery\n${frames(b)}`);
});

test('multi 5. one client reconnects by itself to ANOTHER node (A, then B) and recovers what node-c published meanwhile', async () => {
  const channel = uniq('chat:hop');
  const user = 'hopper';
  // Each new WebSocket of this client goes to the next node: A first, then B.
  const route = [node('node-a').wsUrl(), node('node-b').wsUrl()];
  let connects = 0;
  const c = node('node-a').newClient({
    label: `${user}@a->b`,
    token: cluster.token(user),
    minReconnectDelay: 1500,
    maxReconnectDelay: 3000,
    routeUrl: () => route[Math.min(connects++, route.length - 1)],
  });
  await node('node-a').connect(c);
  const { sub } = await node('node-a').subscribe(c, channel);
  const p1 = waitFor(sub, 'publication', { what: `pub 1 on ${channel}`, clients: [c] });
  const r1 = await node('node-c').api('publish', { channel, data: { n: 1 } });
  await p1;

  const pubs = collect(sub, 'publication');
  const again = waitFor(sub, 'subscribed', { timeout: 10000, what: `the resubscribe to ${channel} on node-b`, clients: [c] });
  const lost = waitFor(c, 'connecting', { what: 'the client to go connecting after /api/disconnect 3011', clients: [c] });
  await node('node-c').api('disconnect', { user, disconnect: { code: 3011, reason: 'move' } });
  const lostCtx = await lost;
  assert.equal(lostCtx.code, 3011, `disconnect code sent via node-c: ${JSON.stringify(lostCtx)}\n${frames(c)}`);
  const sent = [];
  for (let n = 2; n <= 4; n++) sent.push((await node('node-c').api('publish', { channel, data: { n } })).offset);
  assert.equal(c.state, 'connecting', 'test precondition: the client is still reconnecting after pubs 2..4');

  const ctx = await again;
  const connectsSeen = c.trace.frames.filter((f) => f.dir === '#' && f.text.startsWith('open ')).map((f) => f.text);
  assert.ok(connectsSeen.length === 2 && connectsSeen[1].includes(`:${node('node-b').port}/`),
    `test precondition: the reconnect should go to node-b: ${JSON.stringify(connectsSeen)}`);
  assert.equal(ctx.wasRecovering, true, `resubscribe on node-b should be a recovery\n${frames(c)}`);
  assert.equal(ctx.recovered, true, `node-b should recover pubs 2..4 (offsets ${sent}) after offset ${r1.offset}\n${frames(c)}`);
  await waitUntil(() => pubs.length >= 3, { what: `pubs 2..4 after recovery on node-b (got ${pubs.length})`, clients: [c] });
  await sleep(300);
  assert.deepEqual(pubs.map((p) => p.data.n), [2, 3, 4], `pubs 2..4 exactly once, in order\n${frames(c)}`);
  assert.deepEqual(pubs.map((p) => p.offset), sent);
});

test('multi 6. /api/disconnect of a user on node A closes its connections on B and C with 3503, no reconnect; others stay', async () => {
  const user = uniq('victim');
  const { c: vb } = await clientOn('node-b', user, { minReconnectDelay: 200, maxReconnectDelay: 500 });
  const { c: vc } = await clientOn('node-c', user, { minReconnectDelay: 200, maxReconnectDelay: 500 });
  const { c: other } = await clientOn('node-c', 'bystander');
  const dB = waitFor(vb, 'disconnected', { what: `${user} on node-b to be disconnected`, clients: [vb] });
  const dC = waitFor(vc, 'disconnected', { what: `${user} on node-c to be disconnected`, clients: [vc] });
  const otherEvents = [];
  other.on('connecting', (x) => otherEvents.push(['connecting', x]));
  other.on('disconnected', (x) => otherEvents.push(['disconnected', x]));

  const res = await node('node-a').api('disconnect', { user });
  assert.deepEqual(res, {}, `/api/disconnect result: ${JSON.stringify(res)}`);
  const [xb, xc] = await Promise.all([dB, dC]);
  assert.equal(xb.code, 3503, `default /api/disconnect code at node-b: ${JSON.stringify(xb)}\n${frames(vb)}`);
  assert.equal(xc.code, 3503, `default /api/disconnect code at node-c: ${JSON.stringify(xc)}\n${frames(vc)}`);

  // An explicit code reaches other nodes as sent.
  const user2 = uniq('banned');
  const { c: wb } = await clientOn('node-b', user2);
  const dW = waitFor(wb, 'disconnected', { what: `${user2} on node-b to be disconnected with 3600`, clients: [wb] });
  await node('node-a').api('disconnect', { user: user2, disconnect: { code: 3600, reason: 'banned' } });
  const xw = await dW;
  assert.deepEqual({ code: xw.code, reason: xw.reason }, { code: 3600, reason: 'banned' }, `explicit disconnect at node-b\n${frames(wb)}`);

  await sleep(1200); // longer than the reconnect delays: no reconnect may happen
  for (const v of [vb, vc, wb]) {
    assert.equal(v.state, 'disconnected', `"${v.trace.label}" should stay disconnected\n${frames(v)}`);
    assert.equal(v.trace.transports, 1, `"${v.trace.label}" must not reconnect\n${frames(v)}`);
  }
  assert.deepEqual(otherEvents, [], `the bystander on node-c (another user) must stay connected\n${frames(other)}`);
  assert.equal(other.state, 'connected');
});

test('multi 7. /api/unsubscribe on node A and /api/subscribe on node B reach a client on node C', async () => {
  const user = uniq('subber');
  const { c } = await clientOn('node-c', user);
  const channel = uniq('room');
  const { sub } = await node('node-c').subscribe(c, channel);
  const unsub = waitFor(sub, 'unsubscribed', { what: `the server unsubscribe (sent via node-a) of ${channel} at node-c`, clients: [c] });
  await node('node-a').api('unsubscribe', { user, channel });
  const u = await unsub;
  assert.equal(u.code, 2000, `server unsubscribe code: ${JSON.stringify(u)}\n${frames(c)}`);

  const serverChannel = uniq('srv');
  const subscribed = waitFor(c, 'subscribed', { filter: (x) => x.channel === serverChannel, what: `server-side subscription to ${serverChannel} (sent via node-b) at node-c`, clients: [c] });
  await node('node-b').api('subscribe', { user, channel: serverChannel });
  await subscribed;
  const got = waitFor(c, 'publication', { filter: (x) => x.channel === serverChannel, what: `publication on server-side ${serverChannel}`, clients: [c] });
  await node('node-a').api('publish', { channel: serverChannel, data: { via: 'node-a' } });
  const p = await got;
  assert.deepEqual(p.data, { via: 'node-a' });
});
