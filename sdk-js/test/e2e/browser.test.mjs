// @centrifuge/sdk's <script> bundle in Debian's Chromium against the real
// binary (memory engine): every transport connects, subscribes, receives, 
// publishes, reads history and presence, and recovers what it missed after a
// reconnect the server forces; fallback when WebSocket is refused; connection
// and subscription tokens refreshed; one page's publish seen by another; a
// project other than default; server-side subscriptions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, useCluster, freePorts, uniq, signJwt, sleep } from '../../../tests/interop/harness.mjs';
import { pageServer, openPage, step, pageDump, startShippedNginx } from './browser.mjs';

const now = () => Math.floor(Date.now() / 1000);

// Tokens for the page's getToken / getSubscriptionToken: signed here with the project secret.
const routes = {
  '/token': async (u) => {
    const srv = u.searchParams.get('noWs') ? noWs : server;
    const secret = u.searchParams.get('project') === 'other' ? srv.otherSecret : srv.secret;
    const ttl = Number(u.searchParams.get('ttl') || 3600);
    return { body: signJwt({ sub: u.searchParams.get('user') || '', exp: now() + ttl, iat: now() }, secret) };
  },
  '/subtoken': async (u) => {
    const ttl = Number(u.searchParams.get('ttl') || 3600);
    return { body: signJwt({ sub: u.searchParams.get('user') || '', channel: u.searchParams.get('channel'), exp: now() + ttl }, server.secret) };
  },
};
const { origin: PAGE } = await pageServer({ routes });

const config = { httpExtra: `allowed_origins: ["${PAGE}"]`, extraYaml: 'sockjs: {heartbeat_delay: 5s}' };
// SDKJS_E2E_CLUSTER=1: the same suite against two nodes (Redis engine) behind
// the shipped deploy/nginx.conf; `server` then is node-a seen through nginx
// (its base URL is nginx's; secrets, keys and the API are the cluster's).
const CLUSTER = process.env.SDKJS_E2E_CLUSTER === '1';
let server;
if (CLUSTER) {
  const [portA, portB, port] = await freePorts(3);
  const { cluster } = useCluster({ nodes: 2, ports: [portA, portB] });
  for (const n of cluster.nodes) Object.assign(n, { httpExtra: config.httpExtra, extraYaml: config.extraYaml });
  let nginx = null;
  before(async () => { nginx = await startShippedNginx({ port, portA, portB }); });
  after(async () => { if (nginx) { await nginx.stop(); nginx.cleanup(); } });
  server = Object.create(cluster.nodes[0], {
    base: { get: () => `http://127.0.0.1:${port}` },
    log: { value: (n) => `${cluster.log(n)}\n${nginx ? nginx.log(n) : ''}` },
  });
} else {
  server = useServer(config);
}
const noWs = useServer({ ...config, httpExtra: `${config.httpExtra}, disable_websocket: true` });

const token = (srv, user, { ttl = 3600, project, channels } = {}) =>
  signJwt({ sub: user, exp: now() + ttl, iat: now(), ...(channels ? { channels } : {}) }, project === 'other' ? srv.otherSecret : srv.secret);

async function withPage(fn) {
  const page = await openPage(`${PAGE}/page/index.html`);
  try {
    return await fn(page);
  } finally {
    await page.evaluate(() => window.T.disconnect()).catch(() => {});
    await page.close();
  }
}

const fast = { minReconnectDelay: 300, maxReconnectDelay: 600, timeout: 6000 };

/**
 * On `transport` (target as the constructor takes it): connect, subscribe, a
 * publication from the API, one from the page, history, presence, then a
 * reconnect forced by the server with the publications missed meanwhile recovered.
 */
async function scenario(label, target, want, opts = {}) {
  await withPage(async (page) => {
    const user = `user-${label}`;
    const connected = await step(page, [server], 'connect', target, { token: token(server, user), ...fast, ...opts });
    assert.match(connected.transport, want, `connected over ${connected.transport}\n${await pageDump(page, [server])}`);

    const channel = uniq(`sdk_${label.replace(/-/g, '_')}`);
    const sub = await step(page, [server], 'subscribe', channel);
    assert.equal(sub.recoverable, true, JSON.stringify(sub));
    assert.equal(sub.wasRecovering, false);

    const r1 = await server.api('publish', { channel, data: { n: 1, from: 'api' } });
    let pubs = await step(page, [server], 'pubs', channel, 1);
    assert.deepEqual(pubs[0].data, { n: 1, from: 'api' });
    assert.equal(pubs[0].offset, r1.offset);

    await step(page, [server], 'publish', channel, { n: 2, from: label });
    pubs = await step(page, [server], 'pubs', channel, 2);
    assert.deepEqual(pubs[1].data, { n: 2, from: label });
    assert.equal(pubs[1].info.user, user, 'a client publication carries its publisher');

    const hist = await step(page, [server], 'history', channel, { limit: 10 });
    assert.deepEqual(hist.publications.map((p) => p.data.n), [1, 2]);
    assert.equal(hist.epoch, sub.streamPosition.epoch);
    const presence = await step(page, [server], 'presence', channel);
    assert.deepEqual(Object.values(presence.clients).map((c) => c.user), [user]);
    assert.deepEqual(await step(page, [server], 'presenceStats', channel), { numClients: 1, numUsers: 1 });

    // The server forces a reconnect (3011); pubs 3 and 4 come while the client is away.
    // (The current client id: SockJS polling may have reconnected by itself meanwhile, 2010.)
    const before = (await step(page, [server], 'events')).filter((e) => e.ev === 'subscribed').length;
    const clientId = await step(page, [server], 'clientId');
    await server.api('disconnect', { user, client: clientId, disconnect: { code: 3011, reason: 'test reconnect' } });
    const lost = await step(page, [server], 'waitEvents', "e.ev === 'connecting' && e.code === 3011");
    assert.equal(lost[0].reason, 'test reconnect');
    await server.api('publish', { channel, data: { n: 3 } });
    await server.api('publish', { channel, data: { n: 4 } });
    const again = (await step(page, [server], 'waitEvents', "e.ev === 'subscribed'", before + 1)).slice(before);
    assert.ok(again.every((e) => e.wasRecovering && e.recovered), JSON.stringify(again));
    pubs = await step(page, [server], 'pubs', channel, 4);
    await sleep(200); // room for duplicates to show up
    pubs = await step(page, [server], 'pubsNow', channel);
    assert.deepEqual(pubs.map((p) => p.data.n), [1, 2, 3, 4], 'each publication once, in order');
    assert.deepEqual(pubs.map((p) => p.offset), [0, 1, 2, 3].map((i) => r1.offset + i));
  });
}

const ws = () => `${server.base.replace(/^http/, 'ws')}/connection/websocket`;
test('websocket (a ws:// endpoint)', () => scenario('websocket', ws(), /^websocket$/));
test('http_stream (the base URL, transports: [http_stream])', () => scenario('http_stream', server.base, /^http_stream$/, { transports: ['http_stream'] }));
test('sse (an endpoint list)', () => scenario('sse', [{ transport: 'sse', endpoint: `${server.base}/connection/sse` }], /^sse$/));
for (const t of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource']) {
  test(`sockjs ${t} (sockjs-client loaded by the transport)`, () =>
    scenario(`sockjs-${t}`, server.base, new RegExp(`^sockjs-${t}$`), { transports: ['sockjs'], sockjsOptions: { transports: [t] } }));
}

test('with WebSocket refused, the default transports fall back to http_stream; [websocket, sse] to sse; [websocket, sockjs] to a SockJS stream', async () => {
  await withPage(async (page) => {
    const connected = await step(page, [noWs], 'connect', noWs.base, { token: token(noWs, 'fallback'), ...fast });
    assert.equal(connected.transport, 'http_stream');
    const channel = uniq('sdk_fallback');
    await step(page, [noWs], 'subscribe', channel);
    await noWs.api('publish', { channel, data: { fallback: true } });
    assert.deepEqual((await step(page, [noWs], 'pubs', channel, 1))[0].data, { fallback: true });
  });
  await withPage(async (page) => {
    const connected = await step(page, [noWs], 'connect', noWs.base, { token: token(noWs, 'fallback'), ...fast, transports: ['websocket', 'sse'] });
    assert.equal(connected.transport, 'sse');
  });
  await withPage(async (page) => {
    // SockJS itself falls back below its websocket to a streaming transport.
    const connected = await step(page, [noWs], 'connect', noWs.base, { token: token(noWs, 'fallback'), ...fast, transports: ['websocket', 'sockjs'] });
    assert.match(connected.transport, /^sockjs-(?!websocket)/);
  });
});

test('connection token refreshed before it expires; subscription token of a private channel too', async () => {
  await withPage(async (page) => {
    const user = 'refresher';
    // Tokens of 3 s (the server gives a grace of expired_close_delay 1 s).
    await step(page, [server], 'connect', ws(), {
      ...fast, tokenUrl: `${PAGE}/token?user=${user}&ttl=3`, subTokenUrl: `${PAGE}/subtoken?user=${user}&ttl=3`,
    });
    const channel = uniq('$sdk_private');
    await step(page, [server], 'subscribe', channel);
    await sleep(7000);
    const counters = await step(page, [server], 'counters');
    assert.ok(counters.tokenCalls >= 3, `connection token fetched at connect and refreshed twice: ${JSON.stringify(counters)}`);
    assert.ok(counters.subTokenCalls >= 3, `subscription token fetched at subscribe and refreshed twice: ${JSON.stringify(counters)}`);
    assert.deepEqual((await step(page, [server], 'events')).filter((e) => (e.ev === 'connecting' && e.code !== 0) || e.ev === 'disconnected' || e.ev === 'unsubscribed'), [],
      `no reconnect and no unsubscribe\n${await pageDump(page, [server])}`);
    await server.api('publish', { channel, data: 'still here' });
    assert.equal((await step(page, [server], 'pubs', channel, 1))[0].data, 'still here');
  });
});

test('an expired connection token is replaced through getToken (error 109, then reconnect)', async () => {
  await withPage(async (page) => {
    const expired = signJwt({ sub: 'late', exp: now() - 10 }, server.secret);
    const c = await step(page, [server], 'connect', ws(), { ...fast, token: expired, tokenUrl: `${PAGE}/token?user=late` });
    assert.equal(c.transport, 'websocket');
    assert.equal((await step(page, [server], 'counters')).tokenCalls, 1);
  });
});

test('a publish from one page is seen by another; join and leave', async () => {
  await withPage((a) => withPage(async (b) => {
    const channel = uniq('sdk_two');
    await step(a, [server], 'connect', ws(), { token: token(server, 'alice'), ...fast });
    await step(b, [server], 'connect', server.base, { token: token(server, 'bob'), ...fast, transports: ['sse'] });
    await step(a, [server], 'subscribe', channel);
    await step(b, [server], 'subscribe', channel);
    const joins = await step(a, [server], 'waitEvents', "e.ev === 'join' && e.info.user === 'bob'");
    assert.equal(joins[0].channel, channel);
    await step(b, [server], 'publish', channel, { hello: 'from bob' });
    const got = await step(a, [server], 'pubs', channel, 1);
    assert.deepEqual(got[0].data, { hello: 'from bob' });
    assert.equal(got[0].info.user, 'bob');
    await step(b, [server], 'unsubscribe', channel);
    await step(a, [server], 'waitEvents', "e.ev === 'leave' && e.info.user === 'bob'");
  }));
});

test('project "other": endpoints derived from the project option, its token; the default project refuses that token', async () => {
  for (const transport of ['websocket', 'http_stream', 'sse']) {
    await withPage(async (page) => {
      const c = await step(page, [server], 'connect', { url: server.base, project: 'other', transports: [transport] }, { token: token(server, 'o', { project: 'other' }), ...fast });
      assert.equal(c.transport, transport);
      const channel = uniq('sdk_other');
      await step(page, [server], 'subscribe', channel, { recoverable: false });
      await server.api('publish', { channel, data: 'other' }, { project: 'other', apiKey: server.otherApiKey });
      assert.equal((await step(page, [server], 'pubs', channel, 1))[0].data, 'other');
      // Project "other" does not let clients publish: its own options apply.
      const pub = await step(page, [server], 'tryCall', `c.publish(${JSON.stringify(channel)}, 1)`);
      assert.equal(pub.error && pub.error.code, 103, JSON.stringify(pub));
    });
  }
  await withPage(async (page) => {
    await step(page, [server], 'connect', ws(), { token: token(server, 'o', { project: 'other' }), ...fast }, { wait: false });
    const d = await step(page, [server], 'waitEvents', "e.ev === 'disconnected'");
    assert.equal(d[0].code, 3500, `another project's token is invalid here: ${JSON.stringify(d)}`);
  });
});

test('server-side subscriptions from the token arrive as client events, and recover', async () => {
  await withPage(async (page) => {
    const channel = uniq('chat:sdk_server_side'); // chat: force_recovery
    const c = await step(page, [server], 'connect', ws(), { token: token(server, 'srv', { channels: [channel] }), ...fast });
    const subd = await step(page, [server], 'waitEvents', "e.ev === 'server-subscribed'");
    assert.equal(subd[0].channel, channel);
    await server.api('publish', { channel, data: { s: 1 } });
    await step(page, [server], 'pubs', channel, 1);
    await server.api('disconnect', { user: 'srv', client: c.client, disconnect: { code: 3011, reason: 'again' } });
    await step(page, [server], 'waitEvents', "e.ev === 'connecting'");
    await server.api('publish', { channel, data: { s: 2 } });
    const again = await step(page, [server], 'waitEvents', "e.ev === 'server-subscribed'", 2);
    assert.equal(again[1].recovered, true, JSON.stringify(again[1]));
    const pubs = await step(page, [server], 'pubs', channel, 2);
    assert.deepEqual(pubs.map((p) => p.data.s), [1, 2]);
  });
});

test('rpc without a proxy and a publish refused are errors with server codes; disconnect() is clean', async () => {
  await withPage(async (page) => {
    await step(page, [server], 'connect', ws(), { token: token(server, 'rpc'), ...fast });
    const rpc = await step(page, [server], 'tryCall', "c.rpc('nope', {})");
    assert.ok(rpc.error && rpc.error.code >= 100 && rpc.error.code < 200 && rpc.error.name === 'CentrifugeError', JSON.stringify(rpc));
    const pub = await step(page, [server], 'tryCall', "c.publish('nsmissing:x', 1)");
    assert.equal(pub.error && pub.error.code, 102, JSON.stringify(pub));
    assert.equal(await step(page, [server], 'disconnect'), 'disconnected');
  });
});
