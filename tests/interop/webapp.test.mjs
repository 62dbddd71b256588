// The web app in charge (issue 6): stock centrifuge-js against the subscribe
// proxy and the batched connection check, with a Node HTTP server as the app.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { useServer, waitFor, collect, frames, uniq, sleep } from './harness.mjs';

// The web app: /subscribe stalls past the proxy's timeout on the first request
// for each channel, then allows with info and data; /check names the users of
// `inactive` inactive.
const stalled = new Set();
const inactive = new Set();
const checked = [];
const app = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const msg = JSON.parse(body || '{}');
    if (req.url === '/subscribe') {
      if (!stalled.has(msg.channel)) {
        stalled.add(msg.channel);
        setTimeout(() => res.destroy(), 1500).unref(); // no answer in time
        return;
      }
      res.end(JSON.stringify({ result: { info: { via: 'proxy' }, data: { welcome: msg.user } } }));
      return;
    }
    if (req.url === '/check') {
      checked.push(...msg.users);
      const out = msg.users.filter((u) => inactive.has(u));
      res.end(JSON.stringify({ inactive: out }));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
});
await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
const appUrl = `http://127.0.0.1:${app.address().port}`;
after(() => app.close());

const server = useServer({
  defaultProjectYaml: `
      - {name: gated, options: {presence: true, join_leave: true, proxy_subscribe: true, subscribe_proxy: {url: "${appUrl}/subscribe", timeout: 300ms}}}
    connection_check_address: "${appUrl}/check"
    connection_lifetime: 2s
    connection_check_interval: 200ms`,
});

test('a subscribe proxy timeout is a temporary error: centrifuge-js resubscribes by itself', async () => {
  const channel = uniq('gated:room');
  const c = server.newClient({ label: 'sub', token: server.token('42') });
  const sub = c.newSubscription(channel);
  const errors = collect(sub, 'error');
  const subscribed = waitFor(sub, 'subscribed', { what: `a subscription to ${channel} after the retry`, clients: [c], timeout: 10000 });
  sub.subscribe();
  c.connect();
  const ctx = await subscribed;
  assert.deepEqual(ctx.data, { welcome: '42' }, `subscribe data from the proxy\n${frames(c)}`);
  assert.ok(errors.some((e) => e.error && e.error.code === 100 && e.error.temporary === true),
    `the first attempt should have failed with a temporary error 100: ${JSON.stringify(errors)}\n${frames(c)}`);
  const p = await sub.presence();
  const mine = Object.values(p.clients).find((i) => i.user === '42');
  assert.deepEqual(mine && mine.chanInfo, { via: 'proxy' }, `channel info from the proxy in presence: ${JSON.stringify(p)}`);
});

test('a user the connection check names inactive is disconnected for good; its old token is refused', async () => {
  const oldToken = server.token('gone');
  inactive.add('gone');
  const gone = server.newClient({ label: 'gone', token: oldToken });
  const stays = server.newClient({ label: 'stays', token: server.token('stays') });
  const disconnected = waitFor(gone, 'disconnected', { what: 'the inactive user to be disconnected', clients: [gone], timeout: 10000 });
  const staysEvents = collect(stays, 'disconnected');
  gone.connect();
  stays.connect();
  const ctx = await disconnected;
  assert.equal(ctx.code, 3503, `terminal code 3503: ${JSON.stringify(ctx)}\n${frames(gone)}`);
  inactive.delete('gone');
  await sleep(1000);
  assert.equal(gone.state, 'disconnected', `no reconnect after a terminal code\n${frames(gone)}`);
  assert.equal(stays.state, 'connected', `the other user stays\n${frames(stays)}`);
  assert.deepEqual(staysEvents, []);
  assert.ok(checked.includes('stays'), `the check asked about "stays": ${JSON.stringify(checked)}`);

  // Back with the old token: error 109, centrifuge-js asks getToken, and a
  // token issued now is accepted.
  await sleep(1000); // a new iat second
  let getTokenCalls = 0;
  const back = server.newClient({
    label: 'back',
    token: oldToken,
    getToken: async () => { getTokenCalls++; return server.token('gone'); },
  });
  const connected = waitFor(back, 'connected', { what: 'the user to come back with a new token', clients: [back] });
  back.connect();
  await connected;
  assert.equal(getTokenCalls, 1, `the old token must be refused with 109 first\n${frames(back)}`);
  const refused = back.trace.received().find((m) => m.error && m.error.code === 109);
  assert.ok(refused, `a 109 reply to the old token\n${frames(back)}`);
});
