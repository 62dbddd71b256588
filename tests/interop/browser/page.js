// Driven by browser.test.mjs through page.evaluate: window.T holds one stock
// centrifuge-js client (the browser bundle) and a log of everything it did,
// shown when a test fails.
/* global Centrifuge, SockJS */
(function () {
  const WAIT_MS = 8000;
  const state = { client: null, subs: {}, pubs: {}, lines: [], start: performance.now() };

  function log(...parts) {
    const text = parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
    state.lines.push(`+${Math.round(performance.now() - state.start)}ms ${text}`);
  }

  // Resolves with the first ctx of `event` passing filter; rejects after timeout.
  function waitEvent(emitter, event, what, filter = () => true, timeout = WAIT_MS) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        emitter.off(event, listener);
        reject(new Error(`timed out after ${timeout} ms waiting for ${what}`));
      }, timeout);
      function listener(ctx) {
        if (!filter(ctx)) return;
        clearTimeout(timer);
        emitter.off(event, listener);
        resolve(ctx);
      }
      emitter.on(event, listener);
    });
  }

  async function waitUntil(pred, what, timeout = WAIT_MS) {
    const until = performance.now() + timeout;
    while (!pred()) {
      if (performance.now() > until) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  function sub(channel) {
    const s = state.subs[channel];
    if (!s) throw new Error(`no subscription to ${channel}`);
    return s;
  }

  window.T = {
    log: () => state.lines.join('\n'),

    // endpoints: a ws:// URL or an array of {transport, endpoint}; sockjsTransports
    // restricts sockjs-client to those transports. Resolves with the connected ctx.
    async connect({ endpoints, token, sockjsTransports, emulationEndpoint, minReconnectDelay = 500, maxReconnectDelay = 1000 }) {
      const opts = { token, minReconnectDelay, maxReconnectDelay, sockjs: SockJS, timeout: 6000 };
      if (sockjsTransports) opts.sockjsOptions = { transports: sockjsTransports };
      if (emulationEndpoint) opts.emulationEndpoint = emulationEndpoint;
      const c = new Centrifuge(endpoints, opts);
      state.client = c;
      c.on('state', (ctx) => log('state', ctx.oldState, '->', ctx.newState));
      c.on('connected', (ctx) => log('connected', { client: ctx.client, transport: ctx.transport }));
      c.on('disconnected', (ctx) => log('disconnected', ctx));
      c.on('connecting', (ctx) => log('connecting', ctx));
      c.on('error', (ctx) => log('error', ctx));
      const connected = waitEvent(c, 'connected', 'connected');
      c.connect();
      const ctx = await connected;
      return { client: ctx.client, transport: ctx.transport };
    },

    async subscribe(channel) {
      const s = state.client.newSubscription(channel, { recoverable: true, positioned: true });
      state.subs[channel] = s;
      state.pubs[channel] = [];
      s.on('publication', (ctx) => {
        log('publication', channel, { data: ctx.data, offset: ctx.offset });
        state.pubs[channel].push({ data: ctx.data, offset: ctx.offset });
      });
      s.on('subscribed', (ctx) => log('subscribed', channel, { recovered: ctx.recovered, wasRecovering: ctx.wasRecovering, pos: ctx.streamPosition }));
      s.on('subscribing', (ctx) => log('subscribing', channel, ctx));
      s.on('unsubscribed', (ctx) => log('unsubscribed', channel, ctx));
      s.on('error', (ctx) => log('subscription error', channel, ctx));
      const subscribed = waitEvent(s, 'subscribed', `subscribed to ${channel}`);
      s.subscribe();
      const ctx = await subscribed;
      return { recoverable: ctx.recoverable, positioned: ctx.positioned };
    },

    // Resolves with the publications received on channel once there are n.
    async pubs(channel, n) {
      await waitUntil(() => state.pubs[channel].length >= n, `${n} publications on ${channel} (have ${state.pubs[channel].length})`);
      return state.pubs[channel];
    },

    async publish(channel, data) {
      await sub(channel).publish(data);
      return true;
    },

    async history(channel, limit) {
      const res = await sub(channel).history({ limit });
      return { offset: res.offset, epoch: res.epoch, publications: res.publications.map((p) => ({ data: p.data, offset: p.offset })) };
    },

    // Arms waits for the next 'connecting' state and resubscription, for a
    // server-side disconnect with reconnect; waitReconnect() returns them.
    armReconnect(channel) {
      state.lost = waitEvent(state.client, 'connecting', 'the client to lose its connection');
      state.again = waitEvent(sub(channel), 'subscribed', `resubscription to ${channel}`, () => true, 12000);
      return true;
    },
    async waitLost() {
      const ctx = await state.lost;
      return { code: ctx.code, reason: ctx.reason };
    },
    async waitResubscribed() {
      const ctx = await state.again;
      return { recovered: ctx.recovered, wasRecovering: ctx.wasRecovering };
    },

    // The sub-transport sockjs-client chose (e.g. "xhr-streaming").
    sockjsTransport() {
      const t = state.client._transport;
      return t && t._transport && t._transport.transport;
    },

    disconnect() {
      if (state.client) state.client.disconnect();
      state.client = null;
      state.subs = {};
      state.pubs = {};
      return true;
    },
  };
})();
