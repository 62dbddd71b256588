// The ./server entry in Node against the real binary: ServerClient calls typed
// from openapi.yaml, its errors, and tokens signed by TokenSigner (HS256,
// RS256, ES256) accepted by the server, checked by connecting the package's
// own client (ESM, in Node over `ws`) with them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { useServer, uniq } from '../../../tests/interop/harness.mjs';
import { ServerClient, ServerApiError, TokenSigner, connectionToken, subscriptionToken } from '../../dist/server/index.js';
import { Centrifuge } from '../../dist/index.js';

// `ws` from the interop suite's node_modules (the harness needs it anyway).
const WebSocket = createRequire(new URL('../../../tests/interop/package.json', import.meta.url))('ws');

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (k) => k.export({ type: 'spki', format: 'pem' });
const server = useServer({
  defaultProjectYaml: `    token_rsa_public_key: ${JSON.stringify(pem(rsa.publicKey))}\n    token_ecdsa_public_key: ${JSON.stringify(pem(ec.publicKey))}`,
});

const api = () => new ServerClient({ url: server.base, apiKey: server.apiKey });

/** Connects the package's client with token; resolves with {client, subs} once connected, rejects on disconnected. */
function connectWith(token, channel) {
  const c = new Centrifuge(server.wsUrl(), { token, websocket: WebSocket, timeout: 5000 });
  return new Promise((resolve, reject) => {
    const serverSubs = [];
    c.on('subscribed', (ctx) => serverSubs.push(ctx.channel));
    c.on('connected', async (ctx) => {
      try {
        let sub;
        if (channel) {
          sub = c.newSubscription(channel, { getToken: async () => subscriptionToken(server.secret, { user: 'u1', channel, ttl: 60 }) });
          sub.subscribe();
          await sub.ready(5000);
        }
        resolve({ c, client: ctx.client, serverSubs, sub });
      } catch (e) {
        c.disconnect();
        reject(e);
      }
    });
    c.on('disconnected', (ctx) => reject(new Error(`disconnected: ${JSON.stringify(ctx)}\n${server.log(10)}`)));
    c.connect();
  });
}

test('ServerClient: publish, history, presence, presence_stats, channels, info, batch', async () => {
  const channel = uniq('sdk_api');
  const r = await api().publish({ channel, data: { a: 1 } });
  assert.equal(typeof r.offset, 'number');
  assert.equal(typeof r.epoch, 'string');
  const h = await api().history({ channel, limit: 10 });
  assert.deepEqual(h.publications.map((p) => p.data), [{ a: 1 }]);
  assert.deepEqual(await api().presenceStats({ channel }), { num_clients: 0, num_users: 0 });
  const ch = await api().channels({ pattern: 'sdk_api*' });
  assert.equal(typeof ch.channels, 'object');
  const info = await api().info();
  assert.equal(info.nodes.length, 1);
  const b = await api().batch({ commands: [{ publish: { channel, data: 2 } }, { history: { channel, limit: 1, reverse: true } }] });
  assert.equal(b.replies.length, 2);
  assert.deepEqual(b.replies[1].history.publications[0].data, 2);
});

test('ServerClient errors: a method error keeps its protocol code (HTTP 200); a wrong key is 401', async () => {
  await assert.rejects(api().publish({ channel: 'nosuchns:x', data: 1 }), (e) => e instanceof ServerApiError && e.code === 102 && e.status === 200);
  const bad = new ServerClient({ url: server.base, apiKey: 'wrong' });
  await assert.rejects(bad.info(), (e) => e instanceof ServerApiError && e.code === 401 && e.status === 401);
  const other = new ServerClient({ url: server.base, apiKey: server.otherApiKey, project: 'other' });
  assert.deepEqual(await other.publish({ channel: 'x', data: 1 }), {}); // no history in project other: no position
  assert.throws(() => new ServerClient({ url: 'ftp://x', apiKey: 'k' }), TypeError);
});

test('tokens: HS256 (with info and server-side channels), RS256 and ES256 are accepted; a subscription token opens a private channel', async () => {
  const channel = uniq('sdk_srv');
  const hs = await connectionToken(server.secret, { user: 'u1', ttl: 60, info: { name: 'Ann' }, channels: [channel] });
  const a = await connectWith(hs, uniq('$sdk_priv'));
  assert.deepEqual(a.serverSubs, [channel]);
  const presence = await a.c.presence(a.sub.channel);
  assert.deepEqual(Object.values(presence.clients)[0].conn_info, { name: 'Ann' });
  a.c.disconnect();

  for (const signer of [await TokenSigner.rs256(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' })), await TokenSigner.es256(ec.privateKey)]) {
    const t = await signer.connectionToken({ user: 'u1', ttl: 60 });
    const x = await connectWith(t);
    assert.ok(x.client);
    x.c.disconnect();
  }
  // A token of another key is refused (terminal 3500).
  const wrong = await TokenSigner.es256(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  await assert.rejects(connectWith(await wrong.connectionToken({ user: 'u1', ttl: 60 })), /3500/);
});
