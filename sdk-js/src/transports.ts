// Transports: each opens one connection and reports open / data / close to the
// client. websocket and sockjs carry frames both ways; http_stream and sse
// (emulation transports) get the connect command in the request that opens the
// stream and send later frames with POST <emulation endpoint> {session, node, data}.
import type { Options, TransportName } from './types';

export interface TransportHandlers {
  open(): void;
  data(frame: string): void;
  close(code: number, reason: string): void;
}

export interface Transport {
  readonly name: string;
  /** Sends a frame; emulation transports need the session and node of the connect reply. */
  send(frame: string, session?: string, node?: string): void;
  /** Closes without calling handlers.close. */
  close(): void;
  /** True for http_stream and sse: the connect command travels in the opening request. */
  readonly emulation: boolean;
}

export interface TransportConfig {
  endpoint: string;
  emulationEndpoint: string;
  options: Options;
  /** The connect command, sent by emulation transports in the opening request. */
  connect: string;
}

/** Reason of a transport that closed without a code (network error, stream ended). */
const transportClosed = (h: TransportHandlers, reason: string) => h.close(0, reason);

function websocket(c: TransportConfig, h: TransportHandlers): Transport {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const WS: any = c.options.websocket || globalThis.WebSocket;
  const ws = new WS(c.endpoint);
  ws.onopen = () => h.open();
  ws.onmessage = (e: { data: string }) => h.data(e.data);
  ws.onclose = (e: { code: number; reason: string }) => h.close(e.code, e.reason);
  ws.onerror = () => {};
  return {
    name: 'websocket',
    emulation: false,
    send: (f) => ws.send(f),
    close() {
      ws.onclose = ws.onmessage = ws.onopen = null;
      ws.close();
    },
  };
}

/** Serializes emulation POSTs: frames queued while one is in flight go together in the next. */
function emulationSender(url: string, h: TransportHandlers, signal: AbortSignal) {
  let queue: string[] = [];
  let busy = false;
  const flush = (session: string, node: string) => {
    if (busy || !queue.length) return;
    busy = true;
    const data = queue.join('\n');
    queue = [];
    fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ session, node, data }),
      signal,
    }).then(
      (r) => {
        busy = false;
        if (!r.ok) transportClosed(h, `emulation request: HTTP ${r.status}`);
        else flush(session, node);
      },
      () => {
        busy = false;
        if (!signal.aborted) transportClosed(h, 'emulation request failed');
      },
    );
  };
  return (frame: string, session = '', node = '') => {
    queue.push(frame);
    flush(session, node);
  };
}

function httpStream(c: TransportConfig, h: TransportHandlers): Transport {
  const ac = new AbortController();
  let closed = false;
  const fail = (reason: string) => {
    if (!closed) {
      closed = true;
      ac.abort();
      transportClosed(h, reason);
    }
  };
  const handlers: TransportHandlers = { open: h.open, data: h.data, close: (_, r) => fail(r) };
  (async () => {
    const r = await fetch(c.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/x-ndjson' },
      body: c.connect,
      signal: ac.signal,
    });
    if (!r.ok || !r.body) return fail(`HTTP ${r.status}`);
    h.open();
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done || closed) break;
      buf += dec.decode(value, { stream: true });
      const end = buf.lastIndexOf('\n');
      if (end >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 1);
        h.data(frame);
      }
    }
    fail('stream ended');
  })().catch(() => fail('stream failed'));
  return {
    name: 'http_stream',
    emulation: true,
    send: emulationSender(c.emulationEndpoint, handlers, ac.signal),
    close() {
      closed = true;
      ac.abort();
    },
  };
}

function sse(c: TransportConfig, h: TransportHandlers): Transport {
  const ac = new AbortController();
  const u = new URL(c.endpoint);
  u.searchParams.set('cf_connect', c.connect);
  const es = new EventSource(u.toString());
  const close = () => {
    es.onopen = es.onmessage = es.onerror = null;
    es.close();
    ac.abort();
  };
  const fail = (_: number, reason: string) => {
    close();
    transportClosed(h, reason);
  };
  es.onopen = () => h.open();
  es.onmessage = (e) => h.data(e.data);
  // EventSource would reconnect by itself and replay the connect: the client decides.
  es.onerror = () => fail(0, 'event source error');
  return {
    name: 'sse',
    emulation: true,
    send: emulationSender(c.emulationEndpoint, { ...h, close: fail }, ac.signal),
    close,
  };
}

/** URL of this script or module, for sockjs.min.js next to it. */
const scriptUrl: string =
  (typeof document !== 'undefined' && (document.currentScript as HTMLScriptElement | null)?.src) ||
  // esbuild leaves import.meta empty in the IIFE bundle, where currentScript is set.
  (import.meta as { url?: string }).url ||
  '';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let sockjsPromise: Promise<any> | undefined;

/** The SockJS constructor: the option, window.SockJS, or a <script> loaded now (once). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function loadSockJS(o: Options): Promise<any> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const g = globalThis as any;
  const s = o.sockjs;
  // A SockJS class has prototype.send; anything else is a loader (() => import('sockjs-client')).
  if (s) return s.prototype && s.prototype.send ? Promise.resolve(s) : (s as () => Promise<unknown>)().then((m: any) => m.default || m);
  if (g.SockJS) return Promise.resolve(g.SockJS);
  return (sockjsPromise ||= new Promise((resolve, reject) => {
    const el = document.createElement('script');
    el.src = o.sockjsUrl || new URL('sockjs.min.js', scriptUrl).toString();
    el.onload = () => (g.SockJS ? resolve(g.SockJS) : reject(new Error('no SockJS')));
    el.onerror = () => {
      sockjsPromise = undefined;
      reject(new Error(`loading ${el.src} failed`));
    };
    document.head.appendChild(el);
  }));
}

function sockjs(c: TransportConfig, h: TransportHandlers): Transport {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let sock: any;
  let closed = false;
  loadSockJS(c.options).then(
    (SockJS) => {
      if (closed) return;
      sock = new SockJS(c.endpoint, null, c.options.sockjsOptions);
      sock.onopen = () => h.open();
      sock.onmessage = (e: { data: string }) => h.data(e.data);
      sock.onclose = (e: { code: number; reason: string }) => h.close(e.code, e.reason);
    },
    (e: Error) => !closed && transportClosed(h, e.message),
  );
  return {
    get name() {
      return sock && sock.transport ? `sockjs-${sock.transport}` : 'sockjs';
    },
    emulation: false,
    send: (f) => sock.send(f),
    close() {
      closed = true;
      if (sock) {
        sock.onclose = sock.onmessage = sock.onopen = null;
        sock.close();
      }
    },
  };
}

export const transports: Record<TransportName, (c: TransportConfig, h: TransportHandlers) => Transport> = {
  websocket,
  http_stream: httpStream,
  sse,
  sockjs,
};
