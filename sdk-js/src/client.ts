// The connection: its state machine (disconnected -> connecting -> connected),
// transports with fallback, reconnect with backoff, the ping watchdog, token
// refresh, requests with replies, and pushes routed to subscriptions.
import { ErrorCode, temporaryErrorCodes, disconnectReconnects } from './codes.gen';
import { encodeFrame, decodeFrame } from './codec';
import { backoff } from './backoff';
import { Emitter } from './emitter';
import { resolveEndpoints } from './endpoints';
import { CentrifugeError, ClientErrorCode, ConnectingCode, DisconnectedCode } from './errors';
import { Position } from './position';
import { Subscription } from './subscription';
import { transports, type Transport } from './transports';
import type {
  ClientEvents, HistoryOptions, HistoryResult, Options, PresenceResult, PresenceStatsResult, Publication,
  RpcResult, State, SubscribedContext, SubscriptionOptions, TransportEndpoint, TransportName,
} from './types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Pending {
  m: string;
  cb(e: CentrifugeError | null, r?: Json): void;
  timer: ReturnType<typeof setTimeout>;
}

/** A server-side subscription: its position, to recover it on reconnect. */
interface ServerSub {
  recoverable: boolean;
  pos: Position;
}

/** Commands of one task go out in frames of at most this many UTF-16 units (<= 48 KB of UTF-8). */
const FRAME_CHARS = 16384;

/** Options accepted as the only argument: `{url, project, ...}`. */
export interface UrlOptions extends Options {
  url: string;
}

/** Converts a publication of the wire to the one of events. */
export function toPublication(channel: string, p: Json) {
  const out: Publication & { channel: string } = { channel, data: p.data };
  if (p.offset) out.offset = p.offset;
  if (p.info) out.info = p.info;
  if (p.tags) out.tags = p.tags;
  return out;
}

export function subscribedContext(channel: string, r: Json, wasRecovering: boolean): SubscribedContext {
  const ctx: SubscribedContext = {
    channel,
    recoverable: !!r.recoverable,
    positioned: !!r.positioned,
    wasRecovering,
    recovered: !!r.recovered,
  };
  if (r.recoverable || r.positioned) ctx.streamPosition = { offset: r.offset || 0, epoch: r.epoch || '' };
  if (r.data !== undefined) ctx.data = r.data;
  return ctx;
}

export class Centrifuge extends Emitter<ClientEvents> {
  /** Connection state. */
  state: State = 'disconnected';
  private _o: Required<Pick<Options, 'minReconnectDelay' | 'maxReconnectDelay' | 'timeout' | 'maxServerPingDelay'>> & Options;
  private _eps: TransportEndpoint[];
  private _emu: string;
  private _t: Transport | null = null;
  private _ti = 0; // index of the endpoint in use
  private _round = 0; // index the current series of attempts started at
  private _attempt = 0;
  private _id = 0;
  private _connectId = 0;
  private _pending = new Map<number, Pending>();
  private _subs = new Map<string, Subscription>();
  private _server = new Map<string, ServerSub>();
  private _token: string;
  private _session = '';
  private _node = '';
  private _client = '';
  private _ping = 0;
  private _pong = false;
  private _queue: string[] = [];
  private _flushing = false;
  private _reconnectTimer?: ReturnType<typeof setTimeout>;
  private _pingTimer?: ReturnType<typeof setTimeout>;
  private _refreshTimer?: ReturnType<typeof setTimeout>;
  private _connectTimer?: ReturnType<typeof setTimeout>;
  private _epoch = 0; // bumped on each transport, to drop stale callbacks

  /**
   * @param target a transport endpoint (`ws://host/connection/websocket`), the
   *   server's base URL (`http://host:8000`), a list of `{transport, endpoint}`,
   *   or options with `url`.
   */
  constructor(target: string | TransportEndpoint[] | UrlOptions, options: Options = {}) {
    super();
    const o = typeof target === 'object' && !Array.isArray(target) ? { ...target, ...options } : options;
    const url = typeof target === 'object' && !Array.isArray(target) ? target.url : target;
    this._o = { minReconnectDelay: 500, maxReconnectDelay: 20000, timeout: 5000, maxServerPingDelay: 10000, ...o };
    const r = resolveEndpoints(url, o.transports, o.project, o.emulationEndpoint);
    for (const e of r.endpoints) {
      if (!transports[e.transport]) throw new CentrifugeError(ClientErrorCode.BadConfiguration, `unknown transport ${e.transport}`);
    }
    this._eps = r.endpoints;
    this._emu = r.emulation;
    this._token = o.token || '';
  }

  /** Name of the transport in use ('' when none). */
  get transport(): string {
    return this._t ? this._t.name : '';
  }

  /** Sets the connection token used by the next connect. */
  setToken(token: string): void {
    this._token = token;
  }

  /** Starts connecting (no-op unless disconnected). */
  connect(): void {
    if (this.state !== 'disconnected') return;
    this._attempt = 0;
    this._round = this._ti;
    this._setState('connecting');
    this._emit('connecting', { code: ConnectingCode.ConnectCalled, reason: 'connect called' });
    this._start();
  }

  /** Closes the connection; subscriptions stay and resubscribe on the next connect(). */
  disconnect(): void {
    this._disconnect(DisconnectedCode.DisconnectCalled, 'disconnect called');
  }

  /** Resolves once connected; rejects when the client disconnects or after timeout ms. */
  ready(timeout?: number): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    if (this.state === 'disconnected') return Promise.reject(new CentrifugeError(ClientErrorCode.ClientDisconnected, 'client disconnected'));
    return new Promise((resolve, reject) => {
      const done = (err?: CentrifugeError) => {
        clearTimeout(timer);
        this.off('connected', ok).off('disconnected', ko);
        err ? reject(err) : resolve();
      };
      const ok = () => done();
      const ko = () => done(new CentrifugeError(ClientErrorCode.ClientDisconnected, 'client disconnected'));
      const timer = timeout ? setTimeout(() => done(new CentrifugeError(ClientErrorCode.Timeout, 'timeout')), timeout) : undefined;
      this.on('connected', ok).on('disconnected', ko);
    });
  }

  /** A new subscription (not subscribed yet); throws if the channel has one. */
  newSubscription(channel: string, options: SubscriptionOptions = {}): Subscription {
    if (this._subs.has(channel)) throw new CentrifugeError(ErrorCode.AlreadySubscribed, `already have a subscription to ${channel}`);
    const s = new Subscription(this, channel, options);
    this._subs.set(channel, s);
    return s;
  }

  getSubscription(channel: string): Subscription | null {
    return this._subs.get(channel) || null;
  }

  /** The client-side subscriptions by channel. */
  subscriptions(): Record<string, Subscription> {
    return Object.fromEntries(this._subs);
  }

  /** Unsubscribes and forgets the subscription. */
  removeSubscription(sub: Subscription | null): void {
    if (!sub) return;
    sub.unsubscribe();
    if (this._subs.get(sub.channel) === sub) this._subs.delete(sub.channel);
  }

  /** Publishes into a channel (no subscription needed when the server allows it). */
  async publish(channel: string, data: unknown): Promise<Record<string, never>> {
    return this._call('publish', { channel, data });
  }

  async presence(channel: string): Promise<PresenceResult> {
    return { clients: (await this._call('presence', { channel })).presence || {} };
  }

  async presenceStats(channel: string): Promise<PresenceStatsResult> {
    const r = await this._call('presence_stats', { channel });
    return { numClients: r.num_clients || 0, numUsers: r.num_users || 0 };
  }

  async history(channel: string, o: HistoryOptions = {}): Promise<HistoryResult> {
    const r = await this._call('history', { channel, limit: o.limit, since: o.since, reverse: o.reverse });
    return {
      publications: (r.publications || []).map((p: Json) => { const { channel: _, ...rest } = toPublication(channel, p); return rest; }),
      offset: r.offset || 0,
      epoch: r.epoch || '',
    };
  }

  async rpc(method: string, data: unknown): Promise<RpcResult> {
    const r = await this._call('rpc', { method, data });
    return { data: r.data };
  }

  /** Sends an asynchronous message to the server (no reply). */
  async send(data: unknown): Promise<void> {
    await this._whenConnected();
    this._write({ send: { data } });
  }

  // ---- internals, used by Subscription too (not part of the API) ----

  /** @internal Waits until connected, then sends `method` and resolves with its result. */
  async _call(method: string, params: object): Promise<Json> {
    await this._whenConnected();
    return this._request(method, params);
  }

  /** @internal Sends a request now (the client is connected). */
  _request(method: string, params: object): Promise<Json> {
    return new Promise((resolve, reject) => this._cmd(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  }

  /**
   * @internal Sends a request now; cb runs synchronously with the reply, before
   * the rest of its frame is handled (a subscribe reply before the publications after it).
   */
  _cmd(method: string, params: object, cb: (e: CentrifugeError | null, r?: Json) => void): void {
    const id = ++this._id;
    const timer = setTimeout(() => {
      this._pending.delete(id);
      cb(new CentrifugeError(ClientErrorCode.Timeout, 'timeout'));
    }, this._o.timeout);
    this._pending.set(id, { m: method, cb, timer });
    this._write({ id, [method]: params });
  }

  /** @internal */
  _log(...args: unknown[]): void {
    if (this._o.debug) console.debug('centrifuge', ...args);
  }

  /** @internal */
  get _options(): Options {
    return this._o;
  }

  /** @internal A subscription wants to subscribe: it does once connected. */
  _connected(): boolean {
    return this.state === 'connected';
  }

  /** @internal Emits an error event. */
  _error(type: string, error: CentrifugeError): void {
    this._emit('error', { type, error, transport: this.transport });
  }

  private _whenConnected(): Promise<void> {
    return this.ready(this._o.timeout);
  }

  /** Queues a command; the queue goes out as one frame after the current task. */
  private _write(cmd: object): void {
    this._queue.push(JSON.stringify(cmd));
    if (this._flushing) return;
    this._flushing = true;
    queueMicrotask(() => {
      this._flushing = false;
      const q = this._queue;
      this._queue = [];
      // Frames of at most FRAME_CHARS (the server caps a frame, 64 KB by default).
      for (let i = 0; i < q.length && this._t; ) {
        let n = q[i]!.length;
        let j = i + 1;
        while (j < q.length && n + q[j]!.length < FRAME_CHARS) n += q[j++]!.length + 1;
        this._sendFrame(q.slice(i, j).join('\n'));
        i = j;
      }
    });
  }

  private _sendFrame(frame: string): void {
    try {
      this._t!.send(frame, this._session, this._node);
    } catch (e) {
      this._error('transport', new CentrifugeError(ClientErrorCode.TransportWriteError, String(e)));
      this._onClose(this._epoch, 0, 'write error');
    }
  }

  private _setState(s: State): void {
    const old = this.state;
    if (old === s) return;
    this.state = s;
    this._emit('state', { newState: s, oldState: old });
  }

  private async _start(): Promise<void> {
    const epoch = ++this._epoch;
    if (!this._token && this._o.getToken) {
      let token: string;
      try {
        token = await this._o.getToken({});
      } catch (e) {
        if (epoch !== this._epoch) return;
        this._error('connectToken', new CentrifugeError(ClientErrorCode.ClientConnectToken, String(e)));
        this._scheduleReconnect(epoch, ConnectingCode.TransportClosed, 'connect token failed');
        return;
      }
      if (epoch !== this._epoch) return;
      if (!token) return this._disconnect(DisconnectedCode.Unauthorized, 'unauthorized');
      this._token = token;
    }
    const ep = this._eps[this._ti]!;
    const connect: Json = {};
    if (this._token) connect.token = this._token;
    if (this._o.data !== undefined) connect.data = this._o.data;
    if (this._o.name) connect.name = this._o.name;
    if (this._o.version) connect.version = this._o.version;
    const subs: Json = {};
    let any = false;
    for (const [ch, s] of this._server) {
      const rec = s.recoverable && s.pos.recover();
      if (rec) {
        subs[ch] = rec;
        any = true;
      }
    }
    if (any) connect.subs = subs;
    this._connectId = ++this._id;
    const frame = encodeFrame([{ id: this._connectId, connect }]);
    this._log('connecting over', ep.transport, ep.endpoint);
    const handlers = {
      open: () => {
        if (epoch === this._epoch && !t.emulation) t.send(frame);
      },
      data: (d: string) => epoch === this._epoch && this._onData(d),
      close: (code: number, reason: string) => this._onClose(epoch, code, reason),
    };
    let t: Transport;
    try {
      t = transports[ep.transport]({ endpoint: ep.endpoint, emulationEndpoint: this._emu, options: this._o, connect: frame }, handlers);
    } catch (e) {
      this._error('transport', new CentrifugeError(ClientErrorCode.TransportClosed, String(e)));
      this._onClose(epoch, 0, String(e));
      return;
    }
    this._t = t;
    this._connectTimer = setTimeout(() => {
      this._error('connect', new CentrifugeError(ClientErrorCode.Timeout, 'connect timeout'));
      this._onClose(epoch, 0, 'connect timeout');
    }, this._o.timeout);
  }

  private _onData(frame: string): void {
    let replies: Json[];
    try {
      replies = decodeFrame(frame);
    } catch (e) {
      this._error('protocol', new CentrifugeError(ClientErrorCode.TransportClosed, `malformed frame: ${e}`));
      return this._disconnect(DisconnectedCode.BadProtocol, 'bad protocol');
    }
    this._watchdog();
    const epoch = this._epoch;
    for (const r of replies) {
      if (epoch !== this._epoch) return; // a reply closed this transport
      if (r.id) this._onReply(r);
      else if (r.push) this._onPush(r.push);
      else if (this._pong) this._write({}); // a ping
    }
  }

  private _onReply(r: Json): void {
    if (r.id === this._connectId) return this._onConnectReply(r);
    const p = this._pending.get(r.id);
    if (!p) return;
    this._pending.delete(r.id);
    clearTimeout(p.timer);
    if (r.error) p.cb(new CentrifugeError(r.error.code, r.error.message, !!r.error.temporary));
    else p.cb(null, r[p.m] || {});
  }

  private _onConnectReply(r: Json): void {
    clearTimeout(this._connectTimer);
    if (r.error) {
      const e = new CentrifugeError(r.error.code, r.error.message, !!r.error.temporary);
      this._error('connect', e);
      if (e.code === ErrorCode.TokenExpired && this._o.getToken) {
        this._token = '';
        this._closeTransport();
        return this._scheduleReconnect(this._epoch, ConnectingCode.TransportClosed, 'token expired', 0);
      }
      if (e.temporary || temporaryErrorCodes.has(e.code)) {
        this._closeTransport();
        return this._scheduleReconnect(this._epoch, ConnectingCode.TransportClosed, e.message);
      }
      return this._disconnect(e.code, e.message);
    }
    const c = r.connect || {};
    this._client = c.client || '';
    this._session = c.session || '';
    this._node = c.node || '';
    this._ping = c.ping || 0;
    this._pong = !!c.pong;
    this._attempt = 0;
    this._round = this._ti;
    this._watchdog();
    this._setState('connected');
    this._log('connected', c);
    const ctx: Json = { client: this._client, transport: this.transport };
    if (c.data !== undefined) ctx.data = c.data;
    this._emit('connected', ctx);
    if (c.expires) this._scheduleRefresh(c.ttl);
    // Server-side subscriptions: keep their position and tell the page.
    const seen = new Set<string>();
    for (const [channel, sr] of Object.entries<Json>(c.subs || {})) {
      seen.add(channel);
      const prev = this._server.get(channel);
      const rec = prev && prev.recoverable ? prev.pos.recover() : undefined;
      const s: ServerSub = { recoverable: !!sr.recoverable, pos: new Position() };
      const pubs: Json[] = sr.publications || [];
      // Recovered publications are delivered from where the stream was (as for Subscription).
      if (sr.recoverable || sr.positioned) s.pos.reset(pubs.length ? (rec && sr.epoch === rec.epoch ? rec.offset : 0) : sr.offset || 0, sr.epoch || '');
      this._server.set(channel, s);
      this._emit('subscribed', subscribedContext(channel, sr, !!rec));
      for (const p of pubs) this._serverPublication(channel, p);
      if (sr.recoverable || sr.positioned) s.pos.reset(Math.max(s.pos.offset, sr.offset || 0), sr.epoch || '');
    }
    for (const ch of [...this._server.keys()]) {
      if (!seen.has(ch)) {
        this._server.delete(ch);
        this._emit('unsubscribed', { channel: ch, code: 0, reason: 'not in connect reply' });
      }
    }
    for (const s of this._subs.values()) s._onClientConnected();
  }

  private _serverPublication(channel: string, p: Json): void {
    const s = this._server.get(channel);
    if (s && !s.pos.advance(p.offset)) return; // already delivered
    this._emit('publication', toPublication(channel, p));
  }

  private _onPush(p: Json): void {
    const channel: string = p.channel || '';
    const sub = this._subs.get(channel);
    if (p.pub) {
      if (sub) sub._onPublication(p.pub);
      else this._serverPublication(channel, p.pub);
    } else if (p.join || p.leave) {
      const ev = p.join ? 'join' : 'leave';
      const ctx = { channel, info: (p.join || p.leave).info };
      if (sub) sub._onJoinLeave(ev, ctx);
      else this._emit(ev, ctx);
    } else if (p.unsubscribe) {
      if (sub) sub._onUnsubscribePush(p.unsubscribe.code || 0, p.unsubscribe.reason || '');
      else if (this._server.delete(channel)) {
        this._emit('unsubscribed', { channel, code: p.unsubscribe.code || 0, reason: p.unsubscribe.reason || '' });
      }
    } else if (p.subscribe) {
      const s = p.subscribe;
      const pos = new Position();
      if (s.recoverable || s.positioned) pos.reset(s.offset || 0, s.epoch || '');
      this._server.set(channel, { recoverable: !!s.recoverable, pos });
      this._emit('subscribed', subscribedContext(channel, s, false));
    } else if (p.message) {
      this._emit('message', { data: p.message.data });
    } else if (p.disconnect) {
      this._onClose(this._epoch, p.disconnect.code || 0, p.disconnect.reason || '');
    } else if (p.refresh) {
      if (p.refresh.expires) this._scheduleRefresh(p.refresh.ttl);
    }
  }

  /** Resets the ping watchdog: no data for ping + maxServerPingDelay means a dead connection. */
  private _watchdog(): void {
    clearTimeout(this._pingTimer);
    if (this._ping > 0 && this.state !== 'disconnected') {
      const epoch = this._epoch;
      this._pingTimer = setTimeout(() => {
        this._log('no ping from the server');
        this._onClose(epoch, ConnectingCode.NoPing, 'no ping');
      }, this._ping * 1000 + this._o.maxServerPingDelay);
    }
  }

  private _scheduleRefresh(ttl: number): void {
    clearTimeout(this._refreshTimer);
    const epoch = this._epoch;
    this._refreshTimer = setTimeout(() => this._refresh(epoch), Math.max(0, ttl || 0) * 1000);
  }

  private async _refresh(epoch: number): Promise<void> {
    if (epoch !== this._epoch || !this._o.getToken) return;
    let token: string;
    try {
      token = await this._o.getToken({});
    } catch (e) {
      this._error('refreshToken', new CentrifugeError(ClientErrorCode.ClientRefreshToken, String(e)));
      if (epoch === this._epoch) this._refreshTimer = setTimeout(() => this._refresh(epoch), backoff(1, 1000, 10000) + 1000);
      return;
    }
    if (epoch !== this._epoch) return;
    if (!token) return this._disconnect(DisconnectedCode.Unauthorized, 'unauthorized');
    this._token = token;
    try {
      const r = await this._request('refresh', { token });
      if (epoch === this._epoch && r.expires) this._scheduleRefresh(r.ttl);
    } catch (e) {
      const err = e as CentrifugeError;
      this._error('refresh', err);
      if (epoch !== this._epoch) return;
      if (err.temporary || err.code === ClientErrorCode.Timeout) {
        this._refreshTimer = setTimeout(() => this._refresh(epoch), backoff(1, 1000, 10000) + 1000);
      } else {
        this._disconnect(err.code, err.message);
      }
    }
  }

  /** Drops the transport and everything tied to it; pending requests fail. */
  private _closeTransport(): void {
    this._epoch++;
    if (this._t) {
      this._t.close();
      this._t = null;
    }
    clearTimeout(this._connectTimer);
    clearTimeout(this._pingTimer);
    clearTimeout(this._refreshTimer);
    this._queue = [];
    const err = new CentrifugeError(ClientErrorCode.ConnectionClosed, 'connection closed');
    for (const p of this._pending.values()) {
      clearTimeout(p.timer);
      p.cb(err);
    }
    this._pending.clear();
  }

  /** The transport of `epoch` closed (or the server disconnected it). */
  private _onClose(epoch: number, code: number, reason: string): void {
    if (epoch !== this._epoch || this.state === 'disconnected') return;
    const connected = this.state === 'connected';
    this._log('transport closed', code, reason);
    this._closeTransport();
    if (!disconnectReconnects(code)) return this._disconnect(code, reason);
    for (const s of this._subs.values()) s._onClientLost();
    let delay: number | undefined;
    if (!connected) {
      // Not connected over this endpoint: try the next one at once, until a round is done.
      this._ti = (this._ti + 1) % this._eps.length;
      if (this._ti !== this._round) delay = 0;
    }
    this._scheduleReconnect(this._epoch, code, reason, delay);
  }

  private _scheduleReconnect(epoch: number, code: number, reason: string, delay?: number): void {
    if (epoch !== this._epoch) return;
    if (this.state !== 'connecting') {
      this._setState('connecting');
      this._emit('connecting', { code, reason });
    }
    clearTimeout(this._reconnectTimer);
    const d = delay ?? backoff(this._attempt++, this._o.minReconnectDelay, this._o.maxReconnectDelay);
    this._log('reconnect in', d, 'ms');
    this._reconnectTimer = setTimeout(() => {
      if (epoch === this._epoch && this.state === 'connecting') this._start();
    }, d);
  }

  private _disconnect(code: number, reason: string): void {
    if (this.state === 'disconnected') return;
    const reconnect = this.state === 'connecting' || this.state === 'connected';
    clearTimeout(this._reconnectTimer);
    this._closeTransport();
    for (const s of this._subs.values()) s._onClientLost();
    this._setState('disconnected');
    if (reconnect) this._emit('disconnected', { code, reason });
  }
}
