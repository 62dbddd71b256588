// Recovery of missed publications after a reconnect: stock centrifuge-js against bin/centrifuge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, waitFor, waitUntil, collect, frames, uniq, sleep } from './harness.mjs';

const server = useServer();

/**
 * Subscribes `user` to `channel`, receives pub 1, loses the connection through `drop`,
 * gets pubs 2..5 published while it is away, and checks that they come back exactly
 * once, in order, with wasRecovering and recovered set; then pub 6 arrives live.
 */
async function recoveryScenario({ user, channel, subOpts = {}, drop, expectCode }) {
  const c = server.newClient({
    label: user,
    token: server.token(user),
    // Leaves >= 1.5 s between the drop and the reconnect to publish pubs 2..5 in.
    minReconnectDelay: 1500,
    maxReconnectDelay: 3000,
  });
  await server.connect(c);
  const { sub, ctx: first } = await server.subscribe(c, channel, subOpts);
  assert.equal(first.recoverable, true,
    `first subscribe to ${channel} should be recoverable (reply recoverable: true, with epoch/offset)\n${frames(c)}`);
  assert.equal(first.wasRecovering, false);
  assert.ok(first.streamPosition && typeof first.streamPosition.epoch === 'string',
    `recoverable subscribe reply should carry the stream position\n${frames(c)}`);

  const p1 = waitFor(sub, 'publication', { what: `pub 1 on ${channel}`, clients: [c] });
  const r1 = await server.api('publish', { channel, data: { n: 1 } });
  const pub1 = await p1;
  assert.deepEqual(pub1.data, { n: 1 });
  assert.equal(pub1.offset, r1.offset);

  const pubs = collect(sub, 'publication');
  const subscribedAgain = waitFor(sub, 'subscribed', {
    timeout: 10000, what: `the resubscribe to ${channel} after the reconnect`, clients: [c],
  });
  const lost = waitFor(c, 'connecting', { what: 'the client to lose its connection and go connecting', clients: [c] });
  await drop(c);
  const lostCtx = await lost;
  if (expectCode !== undefined) {
    assert.equal(lostCtx.code, expectCode, `client should go connecting with code ${expectCode}, got ${JSON.stringify(lostCtx)}\n${frames(c)}`);
  }

  const sent = [];
  for (let n = 2; n <= 5; n++) {
    const r = await server.api('publish', { channel, data: { n } });
    sent.push(r.offset);
  }
  // Test precondition, not a server check: pubs 2..5 went out while the client was away.
  assert.equal(c.state, 'connecting', 'test precondition: the client must still be reconnecting after publishing pubs 2..5');
  assert.deepEqual(sent, [2, 3, 4, 5].map((n) => r1.offset + n - 1), `/api/publish offsets should grow by 1: ${JSON.stringify(sent)}`);

  const ctx = await subscribedAgain;
  assert.equal(ctx.wasRecovering, true, `resubscribe should be a recovery (subscribe with recover: true)\n${frames(c)}`);
  assert.equal(ctx.recovered, true, `server should report recovered: true for a gap of 4 within history\n${frames(c)}`);

  await waitUntil(() => pubs.length >= 4, { what: `publications 2..5 after recovery (got ${pubs.length})`, clients: [c] });
  await sleep(500); // room for duplicates to show up
  assert.deepEqual(pubs.map((p) => p.data), [{ n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }],
    `publications 2..5 must arrive exactly once, in order\n${frames(c)}`);
  assert.deepEqual(pubs.map((p) => p.offset), sent, `recovered publications should carry their offsets\n${frames(c)}`);

  // And the subscription is live again.
  const p6 = waitFor(sub, 'publication', { what: `live pub 6 on ${channel} after recovery`, clients: [c] });
  await server.api('publish', { channel, data: { n: 6 } });
  const pub6 = await p6;
  assert.deepEqual(pub6.data, { n: 6 });
  await sleep(200);
  assert.deepEqual(pubs.map((p) => p.data.n), [2, 3, 4, 5, 6], `no duplicates after recovery\n${frames(c)}`);
}

const apiDisconnect = (user) => async () => {
  const r = await server.api('disconnect', { user, disconnect: { code: 3011, reason: 'force reconnect' } });
  assert.ok(r !== undefined);
};

test('5. recovery on a force_recovery namespace (chat:) after POST /api/disconnect with code 3011', async () => {
  await recoveryScenario({
    user: 'rec1',
    channel: uniq('chat:room'),
    drop: apiDisconnect('rec1'),
    expectCode: 3011,
  });
});

test('5b. recovery with the subscription option recoverable: true on a channel without force_recovery', async () => {
  await recoveryScenario({
    user: 'rec2',
    channel: uniq('feed'),
    subOpts: { recoverable: true },
    drop: apiDisconnect('rec2'),
    expectCode: 3011,
  });
});

test('5c. recovery on chat: after the transport is killed (no close frame)', async () => {
  await recoveryScenario({
    user: 'rec3',
    channel: uniq('chat:room'),
    drop: async (c) => { c.trace.ws.terminate(); },
  });
});

test('extra: a channel without force_recovery and without recoverable is not recovered', async () => {
  const c = server.newClient({ label: 'norec', token: server.token('norec') });
  await server.connect(c);
  const channel = uniq('plain');
  const { ctx } = await server.subscribe(c, channel);
  assert.notEqual(ctx.recoverable, true, `a plain subscribe to a channel without force_recovery should not be recoverable\n${frames(c)}`);
});
