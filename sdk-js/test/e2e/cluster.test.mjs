// @centrifuge/sdk in Chromium with the Redis engine: a node restarted while
// publishing into a history channel, and two nodes behind the shipped
// deploy/nginx.conf with the client's node killed (SIGKILL): the client
// reconnects (through nginx, to the other node) and recovers; no publication
// is lost or delivered twice, on websocket and on http_stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, freePorts, uniq, signJwt, sleep } from '../../../tests/interop/harness.mjs';
import { pageServer, openPage, step, pageDump, startShippedNginx } from './browser.mjs';

const { origin: PAGE } = await pageServer();

const [portA, portB, nginxPort, portR] = await freePorts(4);
const pair = useCluster({ nodes: 2, ports: [portA, portB] });
const single = useCluster({ nodes: 1, ports: [portR], names: ['restarted'] });
for (const n of [...pair.cluster.nodes, ...single.cluster.nodes]) n.httpExtra = `allowed_origins: ["${PAGE}"]`;
let nginx = null;

before(async () => {
  nginx = await startShippedNginx({ port: nginxPort, portA, portB });
});
after(async () => {
  if (nginx) {
    await nginx.stop();
    nginx.cleanup();
  }
});

const now = () => Math.floor(Date.now() / 1000);
const token = (node, user) => signJwt({ sub: user, exp: now() + 3600 }, node.secret);

/** POST /api/publish at base until it answers; returns the result (offset) or null after 15 s. */
async function publishRetrying(base, apiKey, channel, data) {
  const until = Date.now() + 15000;
  while (Date.now() < until) {
    try {
      const r = await fetch(`${base}/api/publish`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey }, body: JSON.stringify({ channel, data }),
        signal: AbortSignal.timeout(2000),
      });
      const j = await r.json().catch(() => null);
      if (r.ok && j && j.result) return j.result;
    } catch { /* node down: retry */ }
    await sleep(50);
  }
  return null;
}

/**
 * A page subscribed to a history channel while `publisher` publishes one
 * numbered publication every 20 ms; `disrupt` breaks the client's node
 * meanwhile. Every acknowledged publication must arrive once, and the offsets
 * received must be consecutive (none lost, even unacknowledged ones).
 */
async function noLoss({ target, opts, apiBase, node, disrupt, servers }) {
  const page = await openPage(`${PAGE}/page/index.html`);
  try {
    await step(page, servers, 'connect', target, { token: token(node, 'keeper'), minReconnectDelay: 200, maxReconnectDelay: 500, timeout: 5000, ...opts });
    const channel = uniq('sdk_keep');
    await step(page, servers, 'subscribe', channel, { recoverable: true, positioned: true });
    let stop = false;
    const acked = [];
    const publisher = (async () => {
      for (let n = 1; !stop; n++) {
        const r = await publishRetrying(apiBase(), node.apiKey, channel, { n });
        if (r) acked.push({ n, offset: r.offset });
        await sleep(20);
      }
    })();
    try {
      await sleep(500);
      await disrupt();
      await step(page, servers, 'waitEvents', "e.ev === 'subscribed' && e.wasRecovering", 1, 20000);
      await sleep(500);
    } finally {
      stop = true;
      await publisher;
    }
    const last = acked[acked.length - 1];
    const got = await step(page, servers, 'pubs', channel, acked.length);
    await step(page, servers, 'pubs', channel, got.length); // settle
    const subscribed = (await step(page, servers, 'events')).filter((e) => e.ev === 'subscribed');
    assert.ok(subscribed.slice(1).every((e) => e.recovered), `every resubscribe recovered: ${JSON.stringify(subscribed)}\n${await pageDump(page, servers)}`);
    const offsets = got.map((p) => p.offset);
    assert.deepEqual(offsets, offsets.map((_, i) => offsets[0] + i), `offsets consecutive, no gap and no duplicate\n${await pageDump(page, servers)}`);
    const ns = new Set(got.map((p) => p.data.n));
    const missing = acked.filter((a) => !ns.has(a.n));
    assert.deepEqual(missing, [], `acknowledged publications never received (of ${acked.length}, last ${JSON.stringify(last)})`);
    assert.ok(acked.length > 20, `publisher kept publishing: ${acked.length}`);
    return { acked: acked.length, received: got.length };
  } finally {
    await page.evaluate(() => window.T.disconnect()).catch(() => {});
    await page.close();
  }
}

for (const transport of ['websocket', 'http_stream']) {
  test(`${transport}: a node restarted (Redis engine) while publishing: nothing lost`, async () => {
    const node = single.cluster.nodes[0];
    await noLoss({
      target: node.base, opts: { transports: [transport] }, apiBase: () => node.base, node, servers: [node],
      disrupt: async () => {
        await node.stop();
        await sleep(300);
        await node.start();
      },
    });
  });

  test(`${transport}: two nodes behind deploy/nginx.conf, the client's node killed: reconnects through the other, nothing lost`, async () => {
    const { cluster } = pair;
    const base = `http://127.0.0.1:${nginxPort}`;
    await noLoss({
      target: base, opts: { transports: [transport] }, apiBase: () => base, node: cluster.nodes[0], servers: cluster.nodes,
      disrupt: async () => {
        // The node holding the client: each node's own entry of info is current
        // (the others' come from heartbeats, seconds old).
        let victim = null;
        for (const n of cluster.nodes.filter((x) => !x.exit)) {
          const self = (await n.api('info', {})).nodes.find((x) => x.name === n.name);
          if (self && self.num_clients > 0) victim = n;
        }
        assert.ok(victim, 'a node holds the client');
        victim.kill('SIGKILL');
        await victim.exited;
        // Back for the next test (the upstream's fail_timeout is 5 s: nginx keeps using the other node).
        setTimeout(() => victim.start().catch(() => {}), 1500);
      },
    });
  });
}
