// @centrifuge/sdk/server: for Node backends. A typed client of the server HTTP
// API (types generated from openapi.yaml into openapi.gen.ts) and connection
// and subscription token helpers (HS256, RS256, ES256, signed with jose).
import { SignJWT, importPKCS8 } from 'jose';
import type { KeyObject } from 'node:crypto';
import type { components, paths } from './openapi.gen';

export type { components, paths } from './openapi.gen';
export type Schemas = components['schemas'];

type Post<P extends keyof paths> = paths[P] extends { post: infer O } ? O : never;
type Body<P extends keyof paths> = Post<P> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type Ok<P extends keyof paths> = Post<P> extends { responses: { 200: { content: { 'application/json': infer R } } } } ? R : never;
type Result<P extends keyof paths> = Ok<P> extends { result?: infer R } ? NonNullable<R> : Ok<P>;

/** Server API method name -> [request, result]: every path of openapi.yaml. */
export type Methods = { [P in keyof paths as P extends `/${infer M}` ? M : never]: [Body<P>, Result<P>] };

/** A failed call: a method error (HTTP 200 with a protocol code) or an HTTP error (status as code). */
export class ServerApiError extends Error {
  override name = 'ServerApiError';
  constructor(
    /** Protocol error code (100...), or the HTTP status for HTTP errors. */
    readonly code: number,
    message: string,
    /** HTTP status of the reply (0 when there was none: network error or timeout). */
    readonly status: number,
  ) {
    super(message);
  }
}

export interface ServerClientOptions {
  /** The server's base URL, e.g. http://localhost:8000 (a path prefix is kept). */
  url: string;
  /** The project's api_key, sent as X-API-Key. */
  apiKey: string;
  /** Project name; omitted or "default" uses /api/<method>. */
  project?: string;
  /** Timeout of each call in ms (default 10000). */
  timeout?: number;
  /** fetch implementation (default: globalThis.fetch). */
  fetch?: typeof fetch;
}

/** Calls the server API of one project. */
export class ServerClient {
  private readonly base: string;
  private readonly opts: ServerClientOptions;

  constructor(opts: ServerClientOptions) {
    if (!opts.url) throw new TypeError('ServerClient: url is required');
    if (!opts.apiKey) throw new TypeError('ServerClient: apiKey is required');
    const u = new URL(opts.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`ServerClient: url ${opts.url} is not http(s)`);
    const p = opts.project && opts.project !== 'default' ? `/${encodeURIComponent(opts.project)}` : '';
    this.base = `${opts.url.replace(/\/+$/, '')}/api${p}`;
    this.opts = opts;
  }

  /** Calls `method` with `body`; resolves with its result, rejects with ServerApiError. */
  async call<M extends keyof Methods>(method: M, body: Methods[M][0]): Promise<Methods[M][1]> {
    const f = this.opts.fetch || globalThis.fetch;
    let res: Response;
    let text: string;
    try {
      res = await f(`${this.base}/${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-API-Key': this.opts.apiKey },
        body: JSON.stringify(body ?? {}),
        signal: AbortSignal.timeout(this.opts.timeout ?? 10000),
      });
      text = await res.text();
    } catch (e) {
      throw new ServerApiError(0, `${method}: ${(e as Error).message}`, 0);
    }
    let json: { result?: unknown; error?: { code: number; message: string } } | undefined;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (json && json.error) throw new ServerApiError(json.error.code, json.error.message, res.status);
    if (!res.ok || !json) throw new ServerApiError(res.status, `${method}: HTTP ${res.status} ${text.slice(0, 200)}`, res.status);
    return ('result' in json ? json.result : json) as Methods[M][1];
  }

  publish(body: Schemas['PublishRequest']) { return this.call('publish', body); }
  broadcast(body: Schemas['BroadcastRequest']) { return this.call('broadcast', body); }
  subscribe(body: Schemas['SubscribeRequest']) { return this.call('subscribe', body); }
  unsubscribe(body: Schemas['UnsubscribeRequest']) { return this.call('unsubscribe', body); }
  disconnect(body: Schemas['DisconnectRequest']) { return this.call('disconnect', body); }
  refresh(body: Schemas['RefreshRequest']) { return this.call('refresh', body); }
  presence(body: Schemas['PresenceRequest']) { return this.call('presence', body); }
  presenceStats(body: Schemas['PresenceStatsRequest']) { return this.call('presence_stats', body); }
  history(body: Schemas['HistoryRequest']) { return this.call('history', body); }
  historyRemove(body: Schemas['HistoryRemoveRequest']) { return this.call('history_remove', body); }
  channels(body: Schemas['ChannelsRequest'] = {}) { return this.call('channels', body); }
  info() { return this.call('info', {}); }
  batch(body: Schemas['BatchRequest']) { return this.call('batch', body); }
}

// ---- tokens ----

export type Algorithm = 'HS256' | 'RS256' | 'ES256';

interface CommonClaims {
  /** User id (sub); "" is anonymous. */
  user: string;
  /** Lifetime in seconds from now (exp); omitted with expiresAt also omitted: no exp. */
  ttl?: number;
  /** Expiry time (exp), instead of ttl. */
  expiresAt?: Date;
  /** Shown in presence and join/leave (info). */
  info?: unknown;
  /** When the connection/subscription expires, if other than exp (expire_at, unix seconds; 0 never). */
  expireAt?: number;
}

/** Claims of a connection token (PROTOCOL.md section 6). */
export interface ConnectionClaims extends CommonClaims {
  /** Channels subscribed on connect, server-side. */
  channels?: string[];
}

/** Claims of a subscription token of a private ($) channel. */
export interface SubscriptionClaims extends CommonClaims {
  channel: string;
}

/** Signs tokens with one algorithm and key: the project secret (HS256) or a private key (RS256, ES256). */
export class TokenSigner {
  private constructor(
    private readonly alg: Algorithm,
    private readonly key: KeyObject | CryptoKey | Uint8Array,
  ) {}

  /** HS256 with the project's secret. */
  static hs256(secret: string): TokenSigner {
    if (!secret) throw new TypeError('TokenSigner.hs256: empty secret');
    return new TokenSigner('HS256', new TextEncoder().encode(secret));
  }

  /** RS256 with an RSA private key: PKCS#8 PEM or a KeyObject (node:crypto). */
  static async rs256(key: string | KeyObject): Promise<TokenSigner> {
    return new TokenSigner('RS256', typeof key === 'string' ? await importPKCS8(key, 'RS256') : key);
  }

  /** ES256 with a P-256 private key: PKCS#8 PEM or a KeyObject (node:crypto). */
  static async es256(key: string | KeyObject): Promise<TokenSigner> {
    return new TokenSigner('ES256', typeof key === 'string' ? await importPKCS8(key, 'ES256') : key);
  }

  connectionToken(c: ConnectionClaims): Promise<string> {
    return this.sign(c, c.channels && c.channels.length ? { channels: c.channels } : {});
  }

  subscriptionToken(c: SubscriptionClaims): Promise<string> {
    if (!c.channel) throw new TypeError('subscriptionToken: channel is required');
    return this.sign(c, { channel: c.channel });
  }

  private sign(c: CommonClaims, extra: Record<string, unknown>): Promise<string> {
    const payload: Record<string, unknown> = { ...extra };
    if (c.info !== undefined) payload.info = c.info;
    if (c.expireAt !== undefined) payload.expire_at = c.expireAt;
    const jwt = new SignJWT(payload).setProtectedHeader({ alg: this.alg, typ: 'JWT' }).setSubject(c.user).setIssuedAt();
    if (c.expiresAt) jwt.setExpirationTime(c.expiresAt);
    else if (c.ttl !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + c.ttl);
    return jwt.sign(this.key);
  }
}

/** A HS256 connection token signed with the project's secret. */
export function connectionToken(secret: string, claims: ConnectionClaims): Promise<string> {
  return TokenSigner.hs256(secret).connectionToken(claims);
}

/** A HS256 subscription token signed with the project's secret. */
export function subscriptionToken(secret: string, claims: SubscriptionClaims): Promise<string> {
  return TokenSigner.hs256(secret).subscriptionToken(claims);
}
