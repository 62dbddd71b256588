// @centrifuge/sdk: browser client for the Centrifuge server (Centrifugo
// protocol v2, JSON) over websocket, http_stream, sse and sockjs.
export { Centrifuge } from './client';
export type { UrlOptions } from './client';
export { Subscription } from './subscription';
export { CentrifugeError, ClientErrorCode, ConnectingCode, DisconnectedCode, SubscribingCode, UnsubscribedCode } from './errors';
export { ErrorCode, DisconnectCode, UnsubscribeCode, disconnectReconnects, unsubscribeResubscribes } from './codes.gen';
export type * from './types';
