// Codes the client makes up itself (timeouts, state changes it decides on), as
// centrifuge-js has them. Server error and disconnect codes are in codes.gen.ts.

/** Codes of errors raised by the client itself (not sent by the server). */
export const ClientErrorCode = {
  Timeout: 1,
  TransportClosed: 2,
  ClientDisconnected: 3,
  ClientClosed: 4,
  ClientConnectToken: 5,
  ClientRefreshToken: 6,
  SubscriptionUnsubscribed: 7,
  SubscriptionSubscribeToken: 8,
  SubscriptionRefreshToken: 9,
  TransportWriteError: 10,
  ConnectionClosed: 11,
  BadConfiguration: 12,
} as const;

/** Codes of the `connecting` event the client decides on. */
export const ConnectingCode = {
  ConnectCalled: 0,
  TransportClosed: 1,
  NoPing: 2,
  SubscribeTimeout: 3,
  UnsubscribeError: 4,
} as const;

/** Codes of the `disconnected` event the client decides on. */
export const DisconnectedCode = {
  DisconnectCalled: 0,
  Unauthorized: 1,
  BadProtocol: 2,
  MessageSizeLimit: 3,
} as const;

/** Codes of the subscription `subscribing` event the client decides on. */
export const SubscribingCode = {
  SubscribeCalled: 0,
  TransportClosed: 1,
} as const;

/** Codes of the subscription `unsubscribed` event the client decides on. */
export const UnsubscribedCode = {
  UnsubscribeCalled: 0,
  Unauthorized: 1,
  ClientClosed: 2,
} as const;

/** An error reply of the server, or an error the client raised (ClientErrorCode). */
export class CentrifugeError extends Error {
  override name = 'CentrifugeError';
  constructor(
    readonly code: number,
    message: string,
    readonly temporary = false,
  ) {
    super(message);
  }
}
