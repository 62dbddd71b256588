// One channel subscription: its state machine (unsubscribed -> subscribing ->
// subscribed), recovery bookkeeping (offset and epoch of the last publication
// seen), subscription-token refresh and resubscribe with backoff.
import { ErrorCode, unsubscribeResubscribes } from './codes.gen';
import { backoff } from './backoff';
import { Emitter } from './emitter';
import { CentrifugeError, ClientErrorCode, SubscribingCode, UnsubscribedCode } from './errors';
import type { Centrifuge } from './client';
import { subscribedContext, toPublication } from './client';
import { Position } from './position';

export { Position };
import type {
  HistoryOptions, HistoryResult, JoinLeaveContext, PresenceResult, PresenceStatsResult, StreamPosition,
  SubscriptionEvents, SubscriptionOptions, SubscriptionState,
} from './types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export class Subscription extends Emitter<SubscriptionEvents> {
  state: SubscriptionState = 'unsubscribed';
  private _pos = new Position();
  private _token: string;
  private _attempt = 0;
  private _gen = 0; // bumped on each subscribe attempt and state change, to drop stale replies
  private _retryTimer?: ReturnType<typeof setTimeout>;
  private _refreshTimer?: ReturnType<typeof setTimeout>;
  private _inflight = false;
  private _recoverable = false; // the last subscribe reply said recoverable

  /** @internal Made by Centrifuge.newSubscription. */
  constructor(
    private _c: Centrifuge,
    readonly channel: string,
    private _o: SubscriptionOptions,
  ) {
    super();
    this._token = _o.token || '';
    if (_o.since) this._pos.reset(_o.since.offset, _o.since.epoch);
  }

  /** Subscribes now, or as soon as the client is connected. */
  subscribe(): void {
    if (this.state !== 'unsubscribed') return;
    this._setSubscribing(SubscribingCode.SubscribeCalled, 'subscribe called');
    if (this._c._connected()) this._send();
  }

  /** Unsubscribes; the position is kept, so a later subscribe() recovers. */
  unsubscribe(): void {
    if (this.state === 'unsubscribed') return;
    const wasSubscribed = this.state === 'subscribed' || this._inflight;
    this._setUnsubscribed(UnsubscribedCode.UnsubscribeCalled, 'unsubscribe called');
    if (wasSubscribed && this._c._connected()) {
      this._c._request('unsubscribe', { channel: this.channel }).catch((e: CentrifugeError) => this._error('unsubscribe', e));
    }
  }

  /** Publishes into the channel. */
  async publish(data: unknown): Promise<Record<string, never>> {
    await this._ready();
    return this._c._request('publish', { channel: this.channel, data });
  }

  async presence(): Promise<PresenceResult> {
    await this._ready();
    return this._c.presence(this.channel);
  }

  async presenceStats(): Promise<PresenceStatsResult> {
    await this._ready();
    return this._c.presenceStats(this.channel);
  }

  async history(o: HistoryOptions = {}): Promise<HistoryResult> {
    await this._ready();
    return this._c.history(this.channel, o);
  }

  /** Resolves once subscribed; rejects when unsubscribed or after timeout ms. */
  ready(timeout?: number): Promise<void> {
    if (this.state === 'subscribed') return Promise.resolve();
    if (this.state === 'unsubscribed') return Promise.reject(this._unsubErr());
    return new Promise((resolve, reject) => {
      const done = (err?: CentrifugeError) => {
        clearTimeout(timer);
        this.off('subscribed', ok).off('unsubscribed', ko);
        err ? reject(err) : resolve();
      };
      const ok = () => done();
      const ko = () => done(this._unsubErr());
      const timer = timeout ? setTimeout(() => done(new CentrifugeError(ClientErrorCode.Timeout, 'timeout')), timeout) : undefined;
      this.on('subscribed', ok).on('unsubscribed', ko);
    });
  }

  /** The position after the last publication delivered (recoverable or positioned subscriptions). */
  get position(): StreamPosition | undefined {
    return this._pos.known;
  }

  // ---- called by the client ----

  /** @internal */
  _onClientConnected(): void {
    if (this.state === 'subscribing') this._send();
  }

  /** @internal The connection is gone: subscribed (or in flight) goes back to subscribing. */
  _onClientLost(): void {
    this._inflight = false;
    this._gen++;
    clearTimeout(this._refreshTimer);
    clearTimeout(this._retryTimer);
    if (this.state === 'subscribed') this._setSubscribing(SubscribingCode.TransportClosed, 'transport closed');
  }

  /** @internal */
  _onPublication(p: Json): void {
    if (this.state !== 'subscribed' || !this._pos.advance(p.offset)) return;
    this._emit('publication', toPublication(this.channel, p));
  }

  /** @internal */
  _onJoinLeave(ev: 'join' | 'leave', ctx: JoinLeaveContext): void {
    if (this.state === 'subscribed') this._emit(ev, ctx);
  }

  /** @internal */
  _onUnsubscribePush(code: number, reason: string): void {
    if (unsubscribeResubscribes(code)) {
      this._setSubscribing(code, reason);
      this._send();
    } else {
      this._setUnsubscribed(code, reason);
    }
  }

  // ---- internals ----

  private _ready(): Promise<void> {
    return this.ready(this._c._options.timeout);
  }

  private _unsubErr(): CentrifugeError {
    return new CentrifugeError(ClientErrorCode.SubscriptionUnsubscribed, 'subscription unsubscribed');
  }

  private _error(type: string, error: CentrifugeError): void {
    this._emit('error', { type, error, channel: this.channel });
  }

  private _setState(s: SubscriptionState): void {
    const old = this.state;
    this._gen++;
    if (old === s) return;
    this.state = s;
    this._emit('state', { newState: s, oldState: old });
  }

  private _setSubscribing(code: number, reason: string): void {
    const was = this.state;
    this._setState('subscribing');
    if (was !== 'subscribing') this._emit('subscribing', { channel: this.channel, code, reason });
  }

  private _setUnsubscribed(code: number, reason: string): void {
    clearTimeout(this._retryTimer);
    clearTimeout(this._refreshTimer);
    this._inflight = false;
    this._attempt = 0;
    this._setState('unsubscribed');
    this._emit('unsubscribed', { channel: this.channel, code, reason });
  }

  private _getToken(): Promise<string> | undefined {
    const f = this._o.getToken || this._c._options.getSubscriptionToken;
    // A getToken that throws instead of rejecting is a rejection too.
    return f && Promise.resolve(this.channel).then((channel) => f({ channel }));
  }

  /** Sends subscribe (after getting a token when needed). */
  private async _send(): Promise<void> {
    this._inflight = true;
    const gen = ++this._gen;
    const stale = () => gen !== this._gen || !this._c._connected();
    if (!this._token) {
      const p = this._getToken();
      if (p) {
        let token: string;
        try {
          token = await p;
        } catch (e) {
          if (stale()) return;
          this._inflight = false;
          this._error('subscribeToken', new CentrifugeError(ClientErrorCode.SubscriptionSubscribeToken, String(e)));
          return this._retry();
        }
        if (stale()) return;
        if (!token) return this._setUnsubscribed(UnsubscribedCode.Unauthorized, 'unauthorized');
        this._token = token;
      }
    }
    const o = this._o;
    const cmd: Json = { channel: this.channel };
    if (this._token) cmd.token = this._token;
    if (o.data !== undefined) cmd.data = o.data;
    if (o.recoverable) cmd.recoverable = true;
    if (o.positioned) cmd.positioned = true;
    if (o.joinLeave) cmd.join_leave = true;
    // Recover when asked for, or when the server made the stream recoverable (force_recovery).
    const rec = o.recoverable || this._recoverable ? this._pos.recover() : undefined;
    if (rec) Object.assign(cmd, rec);
    this._c._cmd('subscribe', cmd, (e, r) => {
      if (stale()) return;
      this._inflight = false;
      if (e) return this._onSubscribeError(e);
      this._onSubscribed(r, rec);
    });
  }

  private _onSubscribed(r: Json, rec: { offset: number; epoch: string } | undefined): void {
    this._attempt = 0;
    this._recoverable = !!r.recoverable;
    const pubs: Json[] = r.publications || [];
    const positioned = r.recoverable || r.positioned;
    // Missed publications are delivered from where this subscription was.
    if (positioned) this._pos.reset(pubs.length ? (rec && r.epoch === rec.epoch ? rec.offset : 0) : r.offset || 0, r.epoch || '');
    this._setState('subscribed');
    this._emit('subscribed', subscribedContext(this.channel, r, !!rec));
    for (const p of pubs) this._onPublication(p);
    if (positioned) this._pos.reset(Math.max(this._pos.offset, r.offset || 0), r.epoch || '');
    if (r.expires) this._scheduleRefresh(r.ttl);
  }

  private _onSubscribeError(e: CentrifugeError): void {
    this._error('subscribe', e);
    if (e.code === ErrorCode.TokenExpired) {
      this._token = '';
      return this._retry(0);
    }
    if (e.code === ErrorCode.UnrecoverablePosition) {
      // The stream is gone (new epoch) or the gap is too old: start afresh, the
      // subscribed event then says recovered: false.
      this._pos = new Position();
      return this._retry(0);
    }
    if (e.temporary || e.code === ClientErrorCode.Timeout) return this._retry();
    if (e.code === ClientErrorCode.ConnectionClosed) return; // the client resubscribes on reconnect
    this._setUnsubscribed(e.code, e.message);
  }

  private _retry(delay?: number): void {
    clearTimeout(this._retryTimer);
    const gen = this._gen;
    const d = delay ?? backoff(this._attempt++, this._o.minResubscribeDelay || 500, this._o.maxResubscribeDelay || 20000);
    this._retryTimer = setTimeout(() => {
      if (gen === this._gen && this.state === 'subscribing' && this._c._connected()) this._send();
    }, d);
  }

  private _scheduleRefresh(ttl: number): void {
    clearTimeout(this._refreshTimer);
    const gen = this._gen;
    this._refreshTimer = setTimeout(() => this._refresh(gen), Math.max(0, ttl || 0) * 1000);
  }

  private async _refresh(gen: number): Promise<void> {
    const p = this._getToken();
    if (!p || gen !== this._gen) return;
    try {
      const token = await p;
      if (gen !== this._gen) return;
      if (!token) return this._setUnsubscribed(UnsubscribedCode.Unauthorized, 'unauthorized');
      this._token = token;
      const r = await this._c._request('sub_refresh', { channel: this.channel, token });
      if (gen === this._gen && r.expires) this._scheduleRefresh(r.ttl);
    } catch (e) {
      const err = e instanceof CentrifugeError ? e : new CentrifugeError(ClientErrorCode.SubscriptionRefreshToken, String(e));
      this._error('refresh', err);
      if (gen !== this._gen) return;
      if (err.temporary || err.code < 100) this._refreshTimer = setTimeout(() => this._refresh(gen), backoff(1, 1000, 10000) + 1000);
      else this._setUnsubscribed(err.code, err.message);
    }
  }
}
