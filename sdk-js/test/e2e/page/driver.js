// Driven by the end-to-end tests through page.evaluate: window.T holds one
// @centrifuge/sdk client (window.Centrifuge, or the class given to T.use) and
// a log of everything it did, shown when a test fails.
/* global Centrifuge */
(function () {
  const WAIT_MS = 10000;
  const st = { Client: typeof Centrifuge === 'undefined' ? null : Centrifuge, client: null, subs: {}, pubs: {}, events: [], lines: [], start: performance.now(), tokenCalls: 0, subTokenCalls: 0 };

  function log(...parts) {
    const text = parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
    st.lines.push(`+${Math.round(performance.now() - st.start)}ms ${text}`);
  }

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
    const s = st.subs[channel];
    if (!s) throw new Error(`no subscription to ${channel}`);
    return s;
  }

  const plain = (e) => ({ code: e.code, message: e.message, name: e.name });

  window.T = {
    log: () => st.lines.join('\n'),
    use(Client) { st.Client = Client; },

    // target: as the Centrifuge constructor takes it. opts: options, plus
    // tokenUrl / subTokenUrl: getToken / getSubscriptionToken fetch a token from there.
    async connect(target, opts = {}, { wait = true } = {}) {
      const o = { ...opts };
      if (o.tokenUrl) {
        const u = o.tokenUrl;
        delete o.tokenUrl;
        o.getToken = async () => { st.tokenCalls++; log('getToken'); return (await fetch(u)).text(); };
      }
      if (o.subTokenUrl) {
        const u = o.subTokenUrl;
        delete o.subTokenUrl;
        o.getSubscriptionToken = async (ctx) => { st.subTokenCalls++; log('getSubscriptionToken', ctx.channel); return (await fetch(`${u}&channel=${encodeURIComponent(ctx.channel)}`)).text(); };
      }
      const c = new st.Client(target, o);
      st.client = c;
      c.on('state', (ctx) => log('state', ctx.oldState, '->', ctx.newState));
      c.on('connected', (ctx) => { st.clientId = ctx.client; log('connected', ctx); });
      c.on('disconnected', (ctx) => { log('disconnected', ctx); st.events.push({ ev: 'disconnected', ...ctx }); });
      c.on('connecting', (ctx) => { log('connecting', ctx); st.events.push({ ev: 'connecting', ...ctx }); });
      c.on('error', (ctx) => log('error', ctx.type, plain(ctx.error)));
      // Server-side subscriptions.
      c.on('subscribed', (ctx) => { log('server subscribed', ctx); st.events.push({ ev: 'server-subscribed', ...ctx }); });
      c.on('publication', (ctx) => {
        log('server publication', ctx.channel, { data: ctx.data, offset: ctx.offset });
        (st.pubs[ctx.channel] ||= []).push({ data: ctx.data, offset: ctx.offset });
      });
      c.on('join', (ctx) => st.events.push({ ev: 'server-join', ...ctx }));
      if (!wait) { c.connect(); return true; }
      const connected = waitEvent(c, 'connected', 'connected');
      c.connect();
      const ctx = await connected;
      return { client: ctx.client, transport: ctx.transport };
    },

    state() { return st.client.state; },
    clientId() { return st.clientId; },
    counters() { return { tokenCalls: st.tokenCalls, subTokenCalls: st.subTokenCalls }; },
    events() { return st.events; },

    async subscribe(channel, opts = { recoverable: true, positioned: true, joinLeave: true }) {
      const s = st.client.newSubscription(channel, opts);
      st.subs[channel] = s;
      st.pubs[channel] = [];
      s.on('publication', (ctx) => {
        log('publication', channel, { data: ctx.data, offset: ctx.offset });
        st.pubs[channel].push({ data: ctx.data, offset: ctx.offset, info: ctx.info });
      });
      s.on('join', (ctx) => { log('join', channel, ctx.info); st.events.push({ ev: 'join', channel, info: ctx.info }); });
      s.on('leave', (ctx) => { log('leave', channel, ctx.info); st.events.push({ ev: 'leave', channel, info: ctx.info }); });
      s.on('subscribed', (ctx) => { log('subscribed', channel, ctx); st.events.push({ ev: 'subscribed', ...ctx }); });
      s.on('subscribing', (ctx) => log('subscribing', channel, ctx));
      s.on('unsubscribed', (ctx) => { log('unsubscribed', channel, ctx); st.events.push({ ev: 'unsubscribed', ...ctx }); });
      s.on('error', (ctx) => log('subscription error', channel, ctx.type, plain(ctx.error)));
      const subscribed = waitEvent(s, 'subscribed', `subscribed to ${channel}`);
      const failed = waitEvent(s, 'unsubscribed', `unsubscribed from ${channel}`, () => true, WAIT_MS + 1000).then((ctx) => { throw new Error(`unsubscribed: ${JSON.stringify(ctx)}`); });
      s.subscribe();
      const ctx = await Promise.race([subscribed, failed]);
      return ctx;
    },

    unsubscribe(channel) { sub(channel).unsubscribe(); return sub(channel).state; },

    async pubs(channel, n, timeout = WAIT_MS) {
      await waitUntil(() => (st.pubs[channel] || []).length >= n, `${n} publications on ${channel} (have ${(st.pubs[channel] || []).length})`, timeout);
      return st.pubs[channel];
    },
    pubsNow(channel) { return st.pubs[channel] || []; },

    async waitEvents(filter, n = 1, timeout = WAIT_MS) {
      // eslint-disable-next-line no-new-func
      const f = new Function('e', `return ${filter}`);
      await waitUntil(() => st.events.filter(f).length >= n, `${n} events matching ${filter}`, timeout);
      return st.events.filter(f);
    },

    async publish(channel, data) { await sub(channel).publish(data); return true; },
    async clientPublish(channel, data) { await st.client.publish(channel, data); return true; },
    async history(channel, opts) {
      const r = await sub(channel).history(opts);
      return { offset: r.offset, epoch: r.epoch, publications: r.publications.map((p) => ({ data: p.data, offset: p.offset })) };
    },
    async presence(channel) { return sub(channel).presence(); },
    async presenceStats(channel) { return sub(channel).presenceStats(); },
    async tryCall(expr) {
      // eslint-disable-next-line no-new-func
      try { return { ok: await new Function('c', `return ${expr}`)(st.client) }; } catch (e) { return { error: plain(e) }; }
    },
    async send(data) { await st.client.send(data); return true; },

    disconnect() {
      if (st.client) st.client.disconnect();
      const s = st.client ? st.client.state : null;
      st.client = null;
      st.subs = {};
      st.pubs = {};
      return s;
    },
  };
})();
