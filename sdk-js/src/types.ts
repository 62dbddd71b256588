// Public types: options, event contexts and results.
import type { CentrifugeError } from './errors';

export type TransportName = 'websocket' | 'http_stream' | 'sse' | 'sockjs';
export type State = 'disconnected' | 'connecting' | 'connected';
export type SubscriptionState = 'unsubscribed' | 'subscribing' | 'subscribed';

/** One transport to try and where. */
export interface TransportEndpoint {
  transport: TransportName;
  endpoint: string;
}

/** What the page knows about a connection: shown in presence and join/leave. */
export interface ClientInfo {
  user: string;
  client: string;
  conn_info?: unknown;
  chan_info?: unknown;
}

export interface Publication {
  data: unknown;
  offset?: number;
  info?: ClientInfo;
  tags?: Record<string, string>;
}

export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** A SockJS constructor (sockjs-client), or a function that loads one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SockJSLoader = (new (url: string, _reserved?: any, options?: any) => any) | (() => Promise<any>);

export interface Options {
  /** Connection token (JWT); empty for anonymous access when the project allows it. */
  token?: string;
  /** Called for a new token: before the first connect when `token` is empty, when the token expired, and to refresh it. Resolve to '' to refuse (terminal, unauthorized). */
  getToken?: (ctx: Record<string, never>) => Promise<string>;
  /** Called for a subscription token of a channel whose subscription has no getToken of its own. */
  getSubscriptionToken?: (ctx: { channel: string }) => Promise<string>;
  /** Custom connect data (the server's connect proxy sees it). */
  data?: unknown;
  /** Client name and version sent in connect. */
  name?: string;
  version?: string;
  /** Project whose endpoints are used when endpoints are derived (`/connection/<project>/<transport>`). */
  project?: string;
  /** Transports to derive from a URL, tried in this order. */
  transports?: TransportName[];
  /** POST endpoint of http_stream and sse commands (default: `<base>/emulation`). */
  emulationEndpoint?: string;
  /** Reconnect backoff bounds in ms (full jitter). */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  /** Timeout of connect and of every request, in ms. */
  timeout?: number;
  /** Slack after the server's ping interval before the connection counts as dead, in ms. */
  maxServerPingDelay?: number;
  /** Log to console.debug. */
  debug?: boolean;
  /** SockJS constructor or loader; default: window.SockJS, else a <script> of `sockjsUrl`. */
  sockjs?: SockJSLoader;
  /** Where to load sockjs-client from when needed (default: sockjs.min.js next to this bundle). */
  sockjsUrl?: string;
  /** Options given to SockJS (e.g. {transports: ['xhr-streaming']}). */
  sockjsOptions?: Record<string, unknown>;
  /** WebSocket constructor (default: globalThis.WebSocket), e.g. `ws` in Node. */
  websocket?: unknown;
}

export interface SubscriptionOptions {
  /** Subscription token (private channels). */
  token?: string;
  /** Called for a subscription token when `token` is empty, expired or to refresh. */
  getToken?: (ctx: { channel: string }) => Promise<string>;
  /** Custom subscribe data. */
  data?: unknown;
  /** Ask for join/leave pushes. */
  joinLeave?: boolean;
  /** Ask for recovery of missed publications after a reconnect (channels with history). */
  recoverable?: boolean;
  /** Ask for offsets on publications. */
  positioned?: boolean;
  /** Start from this position (recover what came after it) on the first subscribe. */
  since?: StreamPosition;
  /** Resubscribe backoff bounds in ms. */
  minResubscribeDelay?: number;
  maxResubscribeDelay?: number;
}

export interface StateContext<S> {
  newState: S;
  oldState: S;
}
export interface CodeContext {
  code: number;
  reason: string;
}
export interface ConnectedContext {
  client: string;
  transport: string;
  data?: unknown;
}
export interface ErrorContext {
  type: string;
  error: CentrifugeError;
  transport?: string;
}
export interface PublicationContext extends Publication {
  channel: string;
}
export interface JoinLeaveContext {
  channel: string;
  info: ClientInfo;
}
export interface SubscribedContext {
  channel: string;
  recoverable: boolean;
  positioned: boolean;
  streamPosition?: StreamPosition;
  wasRecovering: boolean;
  recovered: boolean;
  data?: unknown;
}
export interface ChannelCodeContext extends CodeContext {
  channel: string;
}

export interface ClientEvents {
  state: StateContext<State>;
  connecting: CodeContext;
  connected: ConnectedContext;
  disconnected: CodeContext;
  error: ErrorContext;
  message: { data: unknown };
  // Server-side subscriptions (from the token's `channels`) and pushes for
  // channels without a client-side Subscription.
  publication: PublicationContext;
  join: JoinLeaveContext;
  leave: JoinLeaveContext;
  subscribed: SubscribedContext;
  subscribing: ChannelCodeContext;
  unsubscribed: ChannelCodeContext;
}

export interface SubscriptionEvents {
  state: StateContext<SubscriptionState>;
  subscribing: ChannelCodeContext;
  subscribed: SubscribedContext;
  unsubscribed: ChannelCodeContext;
  error: ErrorContext & { channel: string };
  publication: PublicationContext;
  join: JoinLeaveContext;
  leave: JoinLeaveContext;
}

export interface PresenceResult {
  clients: Record<string, ClientInfo>;
}
export interface PresenceStatsResult {
  numClients: number;
  numUsers: number;
}
export interface HistoryOptions {
  limit?: number;
  since?: StreamPosition;
  reverse?: boolean;
}
export interface HistoryResult {
  publications: Publication[];
  offset: number;
  epoch: string;
}
export interface RpcResult {
  data: unknown;
}
