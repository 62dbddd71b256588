// nginx in front of two nodes (engine: redis), configured with the shipped
// deploy/nginx.conf (only its listen port and upstream servers replaced): stock
// centrifuge-js connects through nginx only, over WebSocket, SockJS (sticky
// upstream) and HTTP-streaming (emulation requests on either node).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import SockJS from 'sockjs-client';
import {
  useCluster, startNginx, freePorts, waitFor, waitUntil, collect, call, frames, uniq, sleep,
} from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SHIPPED = resolve(here, '../../deploy/nginx.conf');

// nginx needs fixed upstream ports: chosen now, given to the nodes instead of port 0.
const [portA, portB, nginxPort] = await freePorts(3);
const { cluster } = useCluster({ nodes: 2, ports: [portA, portB] });
const node = (name) => cluster.node(name);
let nginx = null;

/** Replaces exactly `count` occurrences of `from` in `text`, or throws naming the file. */
function replaceN(text, from, to, count = 1) {
  const n = text.split(from).length - 1;
  if (n !== count) throw new Error(`${SHIPPED} should contain "${from}" exactly ${count} time(s) (found ${n}): the test edits only that`);
  return text.split(from).join(to);
}

before(async () => {
  let conf = readFileSync(SHIPPED, 'utf8');
  conf = replaceN(conf, 'listen 127.0.0.1:8000;', `listen 127.0.0.1:${nginxPort};`);
  // Two upstreams list the nodes: least_conn, and the sticky one for SockJS.
  conf = replaceN(conf, 'server 127.0.0.1:8001 ', `server 127.0.0.1:${portA} `, 2);
  conf = replaceN(conf, 'server 127.0.0.1:8002 ', `server 127.0.0.1:${portB} `, 2);
  nginx = await startNginx({ includeText: conf, port: nginxPort });
});

after(async () => {
  if (nginx) {
    await nginx.stop();
    if (process.env.INTEROP_KEEP !== '1') nginx.cleanup();
  }
});

const LB = `http://127.0.0.1:${nginxPort}`;
const LB_WS = `ws://127.0.0.1:${nginxPort}/connection/websocket`;

/** Server API call through nginx: returns `result`, throws on anything else. */
async function lbApi(method, body) {
  const res = await fetch(`${LB}/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': node('node-a').apiKey },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  if (res.status !== 200 || !json || json.error || !('result' in json)) {
    throw new Error(`POST ${LB}/api/${method} (through nginx) ${JSON.stringify(body)} -> HTTP ${res.status} ${text.slice(0, 500)}\n${nginx.log(20)}`);
  }
  return json.result;
}

/**
 * Publishes through nginx with an idempotency key, retrying a 502: nginx does
 * not pass a POST it has sent to a node that died (its kept-alive upstream
 * connection reset) to the other node, so an app publishing during a node's
 * death retries, and the key makes the retry safe.
 */
async function lbPublishRetry(body, attempts = 5) {
  const req = { ...body, idempotency_key: uniq('idem') };
  for (let i = 1; ; i++) {
    try {
      return await lbApi('publish', req);
    } catch (err) {
      if (i >= attempts || !/-> HTTP 502 /.test(err.message)) throw err;
      await sleep(100);
    }
  }
}

/** A client connected through nginx; returns {c, ctx, nodeUid}. */
async function lbClient(user, opts = {}) {
  const c = node('node-a').newClient({ label: `${user}@nginx`, url: LB_WS, token: cluster.token(user), ...opts });
  const ctx = await node('node-a').connect(c, `client "${user}" to connect through nginx`);
  return { c, ctx, nodeUid: connectNode(c, 1) };
}

/** The node uid in the n-th connect reply (1 = first connection) of a client. */
function connectNode(c, nth) {
  const replies = c.trace.received().filter((m) => m.connect);
  return replies[nth - 1] ? replies[nth - 1].connect.node : undefined;
}

/** uid -> name of the nodes /api/info (through nginx) lists; waits until both are listed. */
async function nodeNames() {
  let names = {};
  await waitUntil(async () => {
    const info = await lbApi('info', {});
    names = Object.fromEntries((info.nodes || []).map((n) => [n.uid, n.name]));
    return Object.values(names).sort().join() === 'node-a,node-b';
  }, { timeout: 6000, interval: 200, what: `/api/info through nginx to list node-a and node-b (last ${JSON.stringify(names)})` });
  return names;
}

test('nginx 1. clients through the shipped nginx.conf spread over both nodes; a publication sent to nginx reaches all; presence lists all', async () => {
  const names = await nodeNames();
  const clients = [];
  for (let i = 0; i < 6; i++) clients.push(await lbClient(`lb${i}`));
  const where = clients.map((x) => names[x.nodeUid] || `unknown uid ${x.nodeUid}`);
  assert.deepEqual([...new Set(where)].sort(), ['node-a', 'node-b'],
    `least_conn should spread 6 WebSockets over both nodes; connect replies name: ${JSON.stringify(where)}`);

  // /api/info (heartbeats, every 2 s) agrees: both nodes have clients.
  let last;
  await waitUntil(async () => {
    last = await lbApi('info', {});
    const by = Object.fromEntries(last.nodes.map((n) => [n.name, n.num_clients]));
    return by['node-a'] > 0 && by['node-b'] > 0 && by['node-a'] + by['node-b'] === 6;
  }, { timeout: 6000, interval: 200, what: `/api/info through nginx to show clients on both nodes, 6 in all (last ${JSON.stringify(last)}; connect replies: ${JSON.stringify(where)})` });

  const channel = uniq('lbnews');
  const subs = [];
  for (const x of clients) subs.push((await node('node-a').subscribe(x.c, channel)).sub);
  const got = subs.map((s, i) => waitFor(s, 'publication', { what: `the publication at client lb${i} (${where[i]})`, clients: [clients[i].c] }));
  const data = { via: 'nginx', n: 1 };
  const res = await lbApi('publish', { channel, data });
  const pubs = await Promise.all(got);
  for (const [i, p] of pubs.entries()) {
    assert.deepEqual(p.data, data, `client lb${i}\n${frames(clients[i].c)}`);
    assert.equal(p.offset, res.offset);
  }

  const ids = clients.map((x) => x.ctx.client).sort();
  const pres = await lbApi('presence', { channel });
  assert.deepEqual(Object.keys(pres.presence || {}).sort(), ids, `/api/presence through nginx should list all 6 clients: ${JSON.stringify(pres)}`);
  const cp = await call(subs[0].presence(), `presence(${channel}) from lb0`, [clients[0].c]);
  assert.deepEqual(Object.keys(cp.clients || {}).sort(), ids, `client presence through nginx should list all 6 clients: ${JSON.stringify(cp)}`);
});

/** Clients per node name, from /api/info through nginx (heartbeats every 2 s). */
async function clientsPerNode() {
  const info = await lbApi('info', {});
  return Object.fromEntries(info.nodes.map((n) => [n.name, n.num_clients]));
}

test('nginx 2. SockJS through the sticky upstream: every request of a polling session reaches its node; HTTP-streaming emulation requests are served wherever they land', async () => {
  await nodeNames();
  // Clients of earlier tests are gone from both nodes.
  await waitUntil(async () => Object.values(await clientsPerNode()).every((n) => n === 0),
    { timeout: 8000, interval: 200, what: 'no clients left on either node' });
  const channel = uniq('lbsockjs');
  const sjClients = [];
  for (const [i, t] of ['xhr-polling', 'xhr-streaming', 'xhr-polling', 'websocket'].entries()) {
    const c = node('node-a').newClient({
      label: `sockjs-${t}-${i}@nginx`,
      url: [{ transport: 'sockjs', endpoint: `${LB}/connection/sockjs` }],
      token: cluster.token(`lbsj${i}`),
      sockjs: SockJS,
      sockjsOptions: { transports: [t] },
    });
    const ctx = await node('node-a').connect(c, `SockJS ${t} client to connect through nginx`);
    assert.equal(ctx.transport, `sockjs-${t}`);
    c.sub = (await node('node-a').subscribe(c, channel)).sub;
    c.pubs = collect(c.sub, 'publication');
    sjClients.push(c);
  }
  // Sticky by address: every SockJS session of 127.0.0.1 is on one node.
  let per;
  await waitUntil(async () => {
    per = await clientsPerNode();
    return Object.values(per).sort().join() === '0,4';
  }, { timeout: 6000, interval: 200, what: `the 4 SockJS clients on one node (last ${JSON.stringify(per)})` });

  // Many requests per polling session: publications both ways.
  for (let n = 1; n <= 5; n++) await lbApi('publish', { channel, data: { n } });
  for (const [i, c] of sjClients.entries()) {
    await call(c.sub.publish({ from: i }), `publish from SockJS client ${i}`, [c]);
  }
  await waitUntil(() => sjClients.every((c) => c.pubs.length === 5 + sjClients.length), {
    what: `every SockJS client to get 5 API publications and ${sjClients.length} client ones (${sjClients.map((c) => c.pubs.length)})`,
    clients: sjClients,
  });
  for (const c of sjClients) {
    assert.deepEqual(c.pubs.slice(0, 5).map((p) => p.data.n), [1, 2, 3, 4, 5]);
  }

  // HTTP-streaming: the stream on one node (least_conn), its emulation requests
  // on whichever node nginx picks; the node forwards them through Redis.
  const hs = [];
  for (let i = 0; i < 4; i++) {
    const c = node('node-a').newClient({
      label: `http_stream-${i}@nginx`,
      url: [{ transport: 'http_stream', endpoint: `${LB}/connection/http_stream` }],
      token: cluster.token(`lbhs${i}`),
      emulationEndpoint: `${LB}/emulation`,
    });
    const ctx = await node('node-a').connect(c, `http_stream client ${i} to connect through nginx`);
    assert.equal(ctx.transport, 'http_stream');
    c.sub = (await node('node-a').subscribe(c, channel)).sub;
    c.pubs = collect(c.sub, 'publication');
    hs.push(c);
  }
  for (const [i, c] of hs.entries()) {
    await call(c.sub.publish({ hs: i }), `publish from http_stream client ${i}`, [c]);
    const h = await call(c.sub.history({ limit: 3 }), `history from http_stream client ${i}`, [c]);
    assert.ok(h.publications.length > 0);
  }
  await waitUntil(() => hs.every((c) => c.pubs.length === hs.length) && sjClients.every((c) => c.pubs.length === 9 + hs.length), {
    what: `the http_stream publications everywhere (${hs.map((c) => c.pubs.length)} / ${sjClients.map((c) => c.pubs.length)})`,
    clients: [...sjClients, ...hs],
  });
});

// Kills a node: keep this test last.
test('nginx 3. a node is killed: its clients reconnect through nginx to the other node and recover; the others are untouched', async () => {
  const names = await nodeNames();
  const channel = uniq('chat:lb');
  const clients = [];
  for (let i = 0; i < 4; i++) {
    const x = await lbClient(`lbrec${i}`, { minReconnectDelay: 1500, maxReconnectDelay: 3000 });
    x.where = names[x.nodeUid];
    x.sub = (await node('node-a').subscribe(x.c, channel)).sub;
    clients.push(x);
  }
  const victimName = clients[0].where;
  const victims = clients.filter((x) => x.where === victimName);
  const survivors = clients.filter((x) => x.where !== victimName);
  assert.ok(survivors.length > 0, `test precondition: the 4 clients should be on both nodes: ${JSON.stringify(clients.map((x) => x.where))}`);
  const survivorName = survivors[0].where;
  const survivorUid = Object.keys(names).find((u) => names[u] === survivorName);

  const got1 = clients.map((x, i) => waitFor(x.sub, 'publication', { filter: (p) => p.data.n === 1, what: `pub 1 at lbrec${i}`, clients: [x.c] }));
  const r1 = await lbApi('publish', { channel, data: { n: 1 } });
  await Promise.all(got1);
  for (const x of clients) {
    x.pubs = collect(x.sub, 'publication');
    x.connecting = collect(x.c, 'connecting');
  }
  for (const x of victims) {
    x.again = waitFor(x.sub, 'subscribed', { timeout: 12000, what: `"${x.c.trace.label}" to resubscribe through nginx after ${victimName} died`, clients: [x.c] });
  }
  const lost = victims.map((x) => waitFor(x.c, 'connecting', { what: `a client of ${victimName} to lose its connection`, clients: [x.c] }));

  node(victimName).kill('SIGKILL');
  await Promise.all(lost);
  const sent = [];
  for (let n = 2; n <= 4; n++) sent.push((await lbPublishRetry({ channel, data: { n } })).offset);
  assert.deepEqual(sent, [r1.offset + 1, r1.offset + 2, r1.offset + 3], `offsets through nginx after the kill: ${JSON.stringify(sent)}`);
  for (const x of victims) assert.equal(x.c.state, 'connecting', 'test precondition: the victims are still reconnecting after pubs 2..4');

  for (const x of victims) {
    const ctx = await x.again;
    assert.equal(connectNode(x.c, 2), survivorUid, `the reconnect should land on ${survivorName} (the only one alive)\n${frames(x.c)}`);
    assert.equal(ctx.wasRecovering, true, `resubscribe on ${survivorName} should be a recovery\n${frames(x.c)}`);
    assert.equal(ctx.recovered, true, `${survivorName} should recover pubs 2..4 after offset ${r1.offset}\n${frames(x.c)}\n${nginx.log(10)}`);
  }
  await waitUntil(() => clients.every((x) => x.pubs.length >= 3), {
    what: `pubs 2..4 at every client (${clients.map((x) => x.pubs.length)})`, clients: clients.map((x) => x.c),
  });
  await sleep(300);
  for (const x of clients) {
    assert.deepEqual(x.pubs.map((p) => p.data.n), [2, 3, 4], `"${x.c.trace.label}" (${x.where}): pubs 2..4 exactly once, in order\n${frames(x.c)}`);
    assert.deepEqual(x.pubs.map((p) => p.offset), sent);
  }
  for (const x of survivors) {
    assert.deepEqual(x.connecting, [], `a client of ${survivorName} must keep its connection\n${frames(x.c)}`);
  }

  // Live again, through nginx, on the survivor.
  const p5 = victims.map((x) => waitFor(x.sub, 'publication', { filter: (p) => p.data.n === 5, what: 'live pub 5 after recovery', clients: [x.c] }));
  await lbPublishRetry({ channel, data: { n: 5 } });
  await Promise.all(p5);
});
