// Test harness for the interop suite: runs the real bin/centrifuge binary with a
// config written here, and drives it with the stock centrifuge-js client over `ws`.
//
// Each *.test.mjs file calls useServer() once at top level: it registers node:test
// hooks that start one server before the file's tests, disconnect every client made
// through it after each test, and stop the server (SIGTERM) after the file.
//
// Several nodes on one Redis (engine: redis): useCluster({nodes}) does the same for
// a redis-server and N nodes sharing projects and secrets; or startRedis() and
// startCluster({nodes, redisUrl}) by hand. startNginx() runs /usr/sbin/nginx with a
// generated config. Every process spawned here is SIGKILLed when the test process
// exits, whatever happened, so nothing outlives a failed or interrupted file.
//
// Environment:
//   CENTRIFUGE_BIN   absolute path of the server binary (default: ../../bin/centrifuge)
//   INTEROP_TRACE=1  print every WebSocket frame and the server's log as they happen
import { before, after, afterEach } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync, existsSync, chmodSync, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { Centrifuge } from 'centrifuge';

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.CENTRIFUGE_BIN || resolve(here, '../../bin/centrifuge');
const TRACE = process.env.INTEROP_TRACE === '1';

/** Default wait for one event. */
export const WAIT_MS = 8000;

export function randomHex(bytes = 16) {
  return randomBytes(bytes).toString('hex');
}

/** A channel-name suffix so tests never share a channel. */
export function uniq(prefix) {
  return `${prefix}_${randomHex(4)}`;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves to `value` after ms, without keeping the process alive: for Promise.race deadlines. */
export function deadline(ms, value) {
  return new Promise((r) => setTimeout(() => r(value), ms).unref());
}

function configYaml(p) {
  let engine = '';
  if (p.redisUrl) {
    engine = `engine: {type: redis, redis_url: "${p.redisUrl}"` +
      (p.redisPrefix ? `, redis_prefix: "${p.redisPrefix}"` : '') + '}\n';
  }
  return `# written by tests/interop/harness.mjs
${p.name ? `name: "${p.name}"\n` : ''}${engine}http: {address: "127.0.0.1", port: ${p.fixedPort || 0}${p.httpExtra ? `, ${p.httpExtra}` : ''}}
log: {level: debug}
client: {ping_interval: 25s, expired_close_delay: 1s}
${p.extraYaml ? `${p.extraYaml.trim()}\n` : ''}projects:
  - name: default
    secret: "${p.secret}"
    api_key: "${p.apiKey}"
    options: {presence: true, join_leave: true, force_push_join_leave: true, history_size: 100, history_ttl: 300s, allow_subscribe_for_client: true, allow_publish_for_client: true, allow_user_limited_channels: true}
    namespaces:
      - {name: chat, options: {history_size: 10, history_ttl: 60s, force_recovery: true, presence: true, join_leave: true, force_push_join_leave: true, allow_subscribe_for_client: true}}
${p.defaultProjectYaml ? `${p.defaultProjectYaml.replace(/^\n+|\s+$/g, '')}\n` : ''}  - name: other
    secret: "${p.otherSecret}"
    api_key: "${p.otherApiKey}"
    options: {presence: true, allow_subscribe_for_client: true}
`;
}

/** Last n lines of a string. */
function tail(s, n) {
  const lines = s.split('\n');
  return lines.slice(Math.max(0, lines.length - n)).join('\n');
}

// ---------------------------------------------------------------------------
// Frame tracing: a `ws` subclass per client that records every frame both ways.

function clip(s, n = 400) {
  return s.length > n ? s.slice(0, n) + `…(+${s.length - n})` : s;
}

class Trace {
  constructor(label) {
    this.label = label;
    this.start = Date.now();
    this.frames = []; // {t, dir: '>' sent | '<' received | '#' transport event, text}
    this.transports = 0; // WebSocket objects the client created (1 + reconnects)
  }
  push(dir, text) {
    const e = { t: Date.now() - this.start, dir, text };
    this.frames.push(e);
    if (TRACE) console.log(`[${this.label} +${e.t}ms] ${dir} ${clip(text, 2000)}`);
  }
  /** Received JSON objects (one WS message may carry several, split on \n). */
  received() {
    const out = [];
    for (const f of this.frames) {
      if (f.dir !== '<') continue;
      for (const line of f.text.trim().split('\n')) {
        if (!line.trim()) continue;
        try { out.push(JSON.parse(line)); } catch { out.push({ unparsable: line }); }
      }
    }
    return out;
  }
  sent() {
    const out = [];
    for (const f of this.frames) {
      if (f.dir !== '>') continue;
      for (const line of f.text.trim().split('\n')) {
        if (!line.trim()) continue;
        try { out.push(JSON.parse(line)); } catch { out.push({ unparsable: line }); }
      }
    }
    return out;
  }
  dump(last = 40) {
    const fs = this.frames.slice(-last);
    const skipped = this.frames.length - fs.length;
    return `  frames of client "${this.label}" (> sent, < received, # transport)` +
      (skipped ? ` [${skipped} earlier omitted]` : '') + ':\n' +
      (fs.length ? fs.map((f) => `    +${f.t}ms ${f.dir} ${clip(f.text).trimEnd().replace(/\n/g, '\n             ')}`).join('\n') : '    (none)');
  }
}

function tracedWebSocket(trace, routeUrl) {
  return class TracedWebSocket extends WebSocket {
    constructor(url, protocols) {
      // routeUrl lets a test send each (re)connect of one client to another node.
      if (routeUrl) url = routeUrl(url);
      super(url, protocols);
      trace.transports++;
      trace.ws = this; // the current socket, e.g. to kill the transport in a test
      trace.push('#', `open ${url}`);
      this.on('message', (data) => trace.push('<', data.toString()));
      this.on('close', (code, reason) => trace.push('#', `close code=${code} reason=${reason.toString()}`));
      this.on('error', (err) => trace.push('#', `error ${err.message}`));
    }
    send(data, ...rest) {
      trace.push('>', typeof data === 'string' ? data : Buffer.from(data).toString());
      return super.send(data, ...rest);
    }
  };
}

/** A SockJS class whose sessions record their transport, messages and close frame in trace. */
function tracedSockJS(trace, SockJSClass) {
  return class TracedSockJS extends SockJSClass {
    constructor(url, protocols, options) {
      super(url, protocols, options);
      trace.transports++;
      trace.push('#', `sockjs open ${url}`);
      this.addEventListener('open', () => trace.push('#', `sockjs transport ${this.transport}`));
      this.addEventListener('message', (e) => trace.push('<', String(e.data)));
      this.addEventListener('close', (e) => trace.push('#', `sockjs close code=${e.code} reason=${e.reason}`));
    }
    send(data) {
      trace.push('>', String(data));
      return super.send(data);
    }
  };
}

// ---------------------------------------------------------------------------
// Waiting helpers.

/** Everything an assertion message should show: the traces of the given clients. */
export function frames(...clients) {
  let out = clients.filter((c) => c && c.trace).map((c) => c.trace.dump()).join('\n');
  for (const s of watchedServers) {
    if (s.exit && !s.stopping) {
      out += `\n!!! the server process${s.name ? ` of node ${s.name}` : ''} exited unexpectedly: ${JSON.stringify(s.exit)}\n${s.log(80)}`;
    }
  }
  return out;
}

/** Servers of the running file, whose unexpected exit frames() reports. */
const watchedServers = new Set();

// Every child process spawned by the harness, SIGKILLed when this process exits
// (normally, on an uncaught error, or on SIGINT/SIGTERM): no leftover redis-server,
// node or nginx even when a hook never ran.
const children = new Set();
function track(proc) {
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return proc;
}
function killChildren() {
  for (const p of children) {
    try { p.kill('SIGKILL'); } catch { /* ignore */ }
  }
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { killChildren(); process.exit(130); });
}

/**
 * Waits for `event` on a centrifuge client or subscription, optionally the first one
 * whose ctx passes `filter`. Rejects after `timeout` ms with `what` and the frames of
 * `clients` in the message. Listening starts synchronously at the call, so call it
 * before the action that triggers the event.
 */
export function waitFor(emitter, event, { filter = () => true, timeout = WAIT_MS, what, clients = [] } = {}) {
  let listener;
  let timer;
  const p = new Promise((resolve, reject) => {
    listener = (ctx) => {
      let ok;
      try { ok = filter(ctx); } catch (e) { ok = false; }
      if (ok) {
        clearTimeout(timer);
        emitter.off(event, listener);
        resolve(ctx);
      }
    };
    emitter.on(event, listener);
    timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeout} ms waiting for ${what || `'${event}' event`}\n${frames(...clients)}`));
    }, timeout);
  });
  return p;
}

/**
 * Awaits a centrifuge-js call (they reject with plain {code, message} objects) and
 * rethrows a failure as an Error naming `what`, with the clients' frames.
 */
export async function call(promise, what, clients = []) {
  try {
    return await promise;
  } catch (e) {
    const detail = e instanceof Error ? e.message : JSON.stringify(e);
    throw new Error(`${what} failed: ${detail}\n${frames(...clients)}`);
  }
}

/** Collects every ctx of `event` into an array (listener kept until the emitter is gone). */
export function collect(emitter, event) {
  const items = [];
  emitter.on(event, (ctx) => items.push(ctx));
  return items;
}

/** Polls `predicate` until true or timeout; rejects with `what` + frames. */
export async function waitUntil(predicate, { timeout = WAIT_MS, interval = 25, what = 'condition', clients = [] } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}\n${frames(...clients)}`);
    }
    await sleep(interval);
  }
}

/** Makes a HS256 JWT with the given secret (used for tokens that must be refused). */
export function signJwt(payload, secret) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = enc({ alg: 'HS256', typ: 'JWT' });
  const body = enc(payload);
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Replaces the signature of a JWT with one made with `secret`. */
export function resignJwt(token, secret) {
  const [head, body] = token.split('.');
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

export function decodeJwt(token) {
  const [head, body] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(head, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(body, 'base64url').toString()),
  };
}

// ---------------------------------------------------------------------------
// The server.

/**
 * The environment for the server's processes: without CENTRIFUGE_* variables, which the
 * server reads as config overrides, so that the config written here is what runs (and
 * CENTRIFUGE_BIN is not reported as an unknown setting).
 */
function serverEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CENTRIFUGE_')) env[k] = v;
  }
  return env;
}

class Server {
  /**
   * opts: name (node name), port (fixed port instead of 0), redisUrl and redisPrefix
   * (engine: redis), secrets ({secret, apiKey, otherSecret, otherApiKey}: shared by the
   * nodes of a cluster).
   */
  constructor({ name, port, redisUrl, redisPrefix, secrets, httpExtra, extraYaml, defaultProjectYaml } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'centrifuge-interop-'));
    this.configPath = join(this.dir, 'config.yaml');
    const sec = secrets || {};
    this.secret = sec.secret || randomHex(16);
    this.apiKey = sec.apiKey || randomHex(16);
    this.otherSecret = sec.otherSecret || randomHex(16);
    this.otherApiKey = sec.otherApiKey || randomHex(16);
    this.name = name;
    this.fixedPort = port || 0;
    this.redisUrl = redisUrl;
    this.redisPrefix = redisPrefix;
    this.httpExtra = httpExtra; // more keys of the http: {...} flow mapping, e.g. 'allowed_origins: ["*"]'
    this.extraYaml = extraYaml; // more top-level sections, e.g. 'sockjs: {heartbeat_delay: 1s}'
    // More lines for project "default", after its namespace chat: namespaces
    // ('      - {name: x, options: {...}}') and project keys ('    rpc_proxy: {url: ...}').
    this.defaultProjectYaml = defaultProjectYaml;
    this.stderr = '';
    this.stdout = '';
    this.proc = null;
    this.port = 0;
    this.exit = null; // {code, signal} once exited
    this.clients = new Set();
  }

  async start() {
    if (!existsSync(BIN)) {
      throw new Error(`server binary not found at ${BIN} (set CENTRIFUGE_BIN or run \`make build\`)`);
    }
    writeFileSync(this.configPath, configYaml(this));
    this.stopping = false;
    this.exit = null;
    this.stderr = '';
    this.stdout = '';
    watchedServers.add(this);
    this.proc = track(spawn(BIN, ['serve', '--config', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv() }));
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        if (!this.stopping) {
          console.error(`!!! server${this.name ? ` ${this.name}` : ''} exited unexpectedly: ${JSON.stringify(this.exit)}\n${this.log(80)}`);
        }
        resolve(this.exit);
      });
    });
    this.proc.stdout.on('data', (d) => {
      this.stdout += d.toString();
      if (TRACE) process.stdout.write(`[${this.name || 'server'} stdout] ${d}`);
    });
    this.proc.stderr.on('data', (d) => {
      this.stderr += d.toString();
      if (TRACE) process.stdout.write(`[${this.name || 'server'}] ${d}`);
    });
    const re = /msg="?listening"?.*?addr="?127\.0\.0\.1:(\d+)/;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error('no "msg=listening addr=127.0.0.1:PORT" line within 10 s')), 10000);
      const check = () => {
        const m = re.exec(this.stderr);
        if (m) done(null, Number(m[1]));
      };
      const onExit = () => done(new Error(`server exited before listening (${JSON.stringify(this.exit)})`));
      const done = (err, port) => {
        clearTimeout(timer);
        this.proc.stderr.off('data', check);
        this.proc.off('exit', onExit);
        if (err) {
          reject(new Error(`${err.message}\ncommand: ${BIN} serve --config ${this.configPath}\n` +
            `--- server stderr ---\n${tail(this.stderr, 60)}\n--- server stdout ---\n${tail(this.stdout, 20)}`));
        } else {
          this.port = port;
          resolve();
        }
      };
      this.proc.stderr.on('data', check);
      this.proc.on('exit', onExit);
      check();
    });
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Same as base: http://127.0.0.1:PORT. */
  get url() {
    return this.base;
  }

  wsUrl(project) {
    return project
      ? `ws://127.0.0.1:${this.port}/connection/${project}/websocket`
      : `ws://127.0.0.1:${this.port}/connection/websocket`;
  }

  /** Raw server API call: returns {status, body} without judging it. */
  async apiRaw(method, body, { apiKey = this.apiKey, project } = {}) {
    const url = project ? `${this.base}/api/${project}/${method}` : `${this.base}/api/${method}`;
    const headers = { 'Content-Type': 'application/json' };
    if (apiKey !== null) headers['X-API-Key'] = apiKey;
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, text, body: json };
  }

  /** Server API call: returns `result`, throws on HTTP != 200 or an `error` reply. */
  async api(method, body, opts) {
    const r = await this.apiRaw(method, body, opts);
    if (r.status !== 200 || !r.body || r.body.error || !('result' in r.body)) {
      throw new Error(`POST /api/${method} ${JSON.stringify(body)} -> HTTP ${r.status} ${clip(r.text, 1000)}`);
    }
    return r.body.result;
  }

  /** A connection token from `bin/centrifuge gentoken`. */
  token(user, { ttl, info, project = 'default' } = {}) {
    const args = ['gentoken', '--config', this.configPath, '--project', project, '--user', user];
    if (ttl) args.push('--ttl', ttl);
    if (info !== undefined) args.push('--info', JSON.stringify(info));
    let out;
    try {
      out = execFileSync(BIN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000, env: serverEnv() });
    } catch (e) {
      throw new Error(`${BIN} ${args.join(' ')} failed: ${e.message}\nstderr: ${e.stderr}`);
    }
    const tok = out.trim();
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(tok)) {
      throw new Error(`gentoken printed no bare JWT on stdout: ${JSON.stringify(out)}`);
    }
    return tok;
  }

  /**
   * A centrifuge-js client on the WebSocket endpoint, with frame tracing. Not connected
   * yet: call client.connect(). Its trace is client.trace; `label` names it in messages.
   */
  newClient({ label = 'client', project, url, routeUrl, ...opts } = {}) {
    const trace = new Trace(label);
    const client = new Centrifuge(url || this.wsUrl(project), {
      websocket: tracedWebSocket(trace, routeUrl),
      debug: false,
      ...opts,
      ...(opts.sockjs ? { sockjs: tracedSockJS(trace, opts.sockjs) } : {}),
    });
    client.trace = trace;
    // An 'error' event without listener is fine for centrifuge's emitter, but keep them
    // in the trace: they explain many failures.
    client.on('error', (ctx) => trace.push('#', `client error event ${JSON.stringify(ctx)}`));
    client.on('state', (ctx) => trace.push('#', `state ${ctx.oldState} -> ${ctx.newState}`));
    for (const ev of ['connecting', 'disconnected']) {
      client.on(ev, (ctx) => trace.push('#', `${ev} code=${ctx.code} reason=${ctx.reason}`));
    }
    this.clients.add(client);
    return client;
  }

  /** Connects a client and waits for 'connected'; returns the connected ctx. */
  connect(client, what) {
    const label = client.trace.label;
    return new Promise((resolve, reject) => {
      const finish = (err, ctx) => {
        clearTimeout(timer);
        client.off('connected', onConnected);
        client.off('disconnected', onDisconnected);
        if (err) reject(err); else resolve(ctx);
      };
      const onConnected = (ctx) => finish(null, ctx);
      const onDisconnected = (ctx) => finish(new Error(
        `client "${label}" disconnected while connecting: ${JSON.stringify(ctx)}\n${frames(client)}`));
      const timer = setTimeout(() => finish(new Error(
        `timed out after ${WAIT_MS} ms waiting for ${what || `client "${label}" to connect`}\n${frames(client)}`)), WAIT_MS);
      client.on('connected', onConnected);
      client.on('disconnected', onDisconnected);
      client.connect();
    });
  }

  /**
   * New subscription, subscribed; returns {sub, ctx}. Rejects on 'unsubscribed' or
   * timeout with the client's frames.
   */
  subscribe(client, channel, opts = {}) {
    const label = client.trace.label;
    const sub = client.newSubscription(channel, opts);
    sub.on('error', (ctx) => client.trace.push('#', `subscription ${channel} error event ${JSON.stringify(ctx)}`));
    sub.on('state', (ctx) => client.trace.push('#', `subscription ${channel} ${ctx.oldState} -> ${ctx.newState}`));
    return new Promise((resolve, reject) => {
      const finish = (err, ctx) => {
        clearTimeout(timer);
        sub.off('subscribed', onSubscribed);
        sub.off('unsubscribed', onUnsubscribed);
        if (err) reject(err); else resolve({ sub, ctx });
      };
      const onSubscribed = (ctx) => finish(null, ctx);
      const onUnsubscribed = (ctx) => finish(new Error(
        `subscription of "${label}" to ${channel} ended unsubscribed: ${JSON.stringify(ctx)}\n${frames(client)}`));
      const timer = setTimeout(() => finish(new Error(
        `timed out after ${WAIT_MS} ms waiting for "${label}" to subscribe to ${channel}\n${frames(client)}`)), WAIT_MS);
      sub.on('subscribed', onSubscribed);
      sub.on('unsubscribed', onUnsubscribed);
      sub.subscribe();
    });
  }

  async closeClients() {
    for (const c of this.clients) {
      try { c.disconnect(); } catch { /* ignore */ }
      c.removeAllListeners();
    }
    this.clients.clear();
    await sleep(20);
  }

  /** Recent server log, for failure messages. */
  log(n = 40) {
    return `--- last ${n} lines of ${this.name ? `node ${this.name}` : 'server'} stderr ---\n${tail(this.stderr, n)}`;
  }

  /** Sends a signal to the server, marking its exit as expected. */
  kill(signal = 'SIGTERM') {
    this.stopping = true;
    this.killSignal = signal;
    this.proc.kill(signal);
  }

  /** SIGTERM, wait for exit (SIGKILL after 5 s); returns {code, signal}. */
  async stop() {
    if (!this.proc) return null;
    this.stopping = true;
    if (!this.exit) {
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => { if (!this.exit) this.proc.kill('SIGKILL'); }, 5000);
      await this.exited;
      clearTimeout(t);
    }
    return this.exit;
  }

  cleanup() {
    try { rmSync(this.dir, { recursive: true, force: true }); } catch { /* ignore */ }
  }
}

/**
 * Registers hooks: a server per test file (started in before(), SIGTERM'ed in after()),
 * clients closed after each test. Returns the Server, usable inside tests. opts go to
 * the Server: httpExtra and extraYaml add to its config.
 */
export function useServer(opts = {}) {
  const server = new Server(opts);
  before(async () => {
    await server.start();
  });
  afterEach(async () => {
    await server.closeClients();
  });
  after(async () => {
    await server.closeClients();
    const exit = await server.stop();
    if (process.env.INTEROP_KEEP !== '1') server.cleanup();
    if (exit && !(exit.code === 0 || exit.signal === 'SIGTERM')) {
      // Surface a crash or an unclean exit: it fails the file.
      throw new Error(`server exited with ${JSON.stringify(exit)} on SIGTERM\n${server.log(60)}`);
    }
  });
  return server;
}

// ---------------------------------------------------------------------------
// Free ports, Redis, clusters of nodes, nginx.

/**
 * Ports this process has handed out: a port is released between freePort and
 * its use (nginx's fixed upstream ports are chosen before the cluster starts),
 * so the kernel may offer it again, and a second user would fail to bind.
 */
const handedOut = new Set();

/** A TCP port free on 127.0.0.1 right now (bound on port 0, then released), never one handed out before. */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port: p } = srv.address();
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** `count` distinct free ports. */
export async function freePorts(count) {
  const ports = new Set();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Resolves true when something on 127.0.0.1:port accepts a TCP connection. */
function portOpen(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setTimeout(500);
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('timeout', () => { sock.destroy(); resolve(false); });
    sock.once('error', () => resolve(false));
  });
}

/** Resolves true when a Redis on port answers "PING\r\n" with "+PONG". */
function redisPing(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(500);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    sock.once('timeout', () => done(false));
    sock.once('error', () => done(false));
  });
}

/** Throws a clear error when `cmd` cannot be run (CI installs it with `make deps`). */
function requireCommand(cmd, args, pkg) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10000 });
  } catch (e) {
    if (e.code === 'ENOENT') {
      throw new Error(`${cmd} is not installed (package ${pkg}): run \`make deps\` (scripts/deps.sh) first`);
    }
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed: ${e.message}`);
  }
}

/**
 * A redis-server on 127.0.0.1:port without persistence. restart() starts a fresh
 * (empty) one on the same port, like a Redis that crashed and came back.
 */
export class Redis {
  constructor() {
    this.port = 0;
    this.proc = null;
    this.exit = null;
    this.output = '';
    this.dir = null;
  }

  get url() {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start() {
    requireCommand('redis-server', ['--version'], 'redis-server');
    if (!this.dir) this.dir = mkdtempSync(join(tmpdir(), 'centrifuge-interop-redis-'));
    if (!this.port) this.port = await freePort();
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir];
    this.exit = null;
    this.stopping = false;
    const proc = track(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
      if (this.proc === proc) this.exit = { code, signal };
      resolve({ code, signal });
    }));
    const out = (d) => {
      this.output += d.toString();
      if (TRACE) process.stdout.write(`[redis] ${d}`);
    };
    proc.stdout.on('data', out);
    proc.stderr.on('data', out);
    const until = Date.now() + 10000;
    for (;;) {
      if (this.exit) {
        throw new Error(`redis-server ${args.join(' ')} exited before answering PING: ${JSON.stringify(this.exit)}\n${tail(this.output, 30)}`);
      }
      if (await redisPing(this.port)) return this;
      if (Date.now() > until) {
        throw new Error(`redis-server on port ${this.port} did not answer PING within 10 s\n${tail(this.output, 30)}`);
      }
      await sleep(25);
    }
  }

  /** SIGKILL (no shutdown, no save) and wait for the exit. */
  async stop() {
    if (!this.proc || this.exit) return;
    this.stopping = true;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** A new, empty redis-server on the same port. */
  async restart() {
    await this.stop();
    return this.start();
  }

  cleanup() {
    if (this.dir) {
      try { rmSync(this.dir, { recursive: true, force: true }); } catch { /* ignore */ }
    }
  }
}

/** Starts a redis-server on a free port; see Redis. */
export async function startRedis() {
  const r = new Redis();
  try {
    await r.start();
  } catch (e) {
    await r.stop();
    r.cleanup();
    throw e;
  }
  return r;
}

/**
 * N nodes (engine: redis) sharing one Redis, the same projects and secrets, named
 * node-a, node-b, ... (or `names`), on port 0 or the given `ports`. Tokens made by
 * any node are valid on every node.
 */
export class Cluster {
  constructor({ nodes = 3, redisUrl, redisPrefix, ports = [], names } = {}) {
    const secrets = { secret: randomHex(16), apiKey: randomHex(16), otherSecret: randomHex(16), otherApiKey: randomHex(16) };
    this.redisPrefix = redisPrefix || `interop${randomHex(3)}`;
    this.nodes = [];
    for (let i = 0; i < nodes; i++) {
      const name = names ? names[i] : `node-${String.fromCharCode(97 + i)}`;
      this.nodes.push(new Server({ name, port: ports[i], redisUrl, redisPrefix: this.redisPrefix, secrets }));
    }
  }

  /** Sets the Redis URL (when not given to the constructor). */
  setRedisUrl(url) {
    for (const n of this.nodes) n.redisUrl = url;
  }

  async start() {
    await Promise.all(this.nodes.map((n) => n.start()));
    return this;
  }

  node(name) {
    return this.nodes.find((n) => n.name === name);
  }

  token(user, opts) {
    return this.nodes[0].token(user, opts);
  }

  async closeClients() {
    await Promise.all(this.nodes.map((n) => n.closeClients()));
  }

  /** Recent logs of every node. */
  log(n = 30) {
    return this.nodes.map((s) => s.log(n)).join('\n');
  }

  /**
   * Stops every node still running (SIGTERM, in parallel); returns the list of nodes
   * whose exit was neither clean nor the signal a test sent with kill().
   */
  async stop() {
    await Promise.all(this.nodes.map((n) => n.stop()));
    return this.nodes.filter((n) => n.exit && !(n.exit.code === 0 || n.exit.signal === 'SIGTERM' ||
      (n.killSignal && n.exit.signal === n.killSignal)));
  }

  cleanup() {
    for (const n of this.nodes) n.cleanup();
  }
}

/** Starts the nodes of a Cluster; see there. */
export async function startCluster(opts) {
  const c = new Cluster(opts);
  try {
    await c.start();
  } catch (e) {
    await c.stop();
    c.cleanup();
    throw e;
  }
  return c;
}

/**
 * Registers hooks: a redis-server and a Cluster of `nodes` nodes per test file
 * (started in before(); stopped in after(): nodes with SIGTERM, then Redis), clients
 * closed after each test. Returns {redis, cluster}, usable inside tests. `ports`
 * gives the nodes fixed ports (for nginx), `names` their names.
 */
export function useCluster({ nodes = 3, ports, names } = {}) {
  const redis = new Redis();
  const cluster = new Cluster({ nodes, ports, names });
  before(async () => {
    await redis.start();
    cluster.setRedisUrl(redis.url);
    await cluster.start();
  });
  afterEach(async () => {
    await cluster.closeClients();
  });
  after(async () => {
    await cluster.closeClients();
    let bad = [];
    try {
      bad = await cluster.stop();
    } finally {
      await redis.stop();
      if (process.env.INTEROP_KEEP !== '1') {
        cluster.cleanup();
        redis.cleanup();
      }
    }
    if (bad.length) {
      throw new Error(`nodes exited uncleanly on SIGTERM: ${bad.map((n) => `${n.name} ${JSON.stringify(n.exit)}`).join(', ')}\n` +
        bad.map((n) => n.log(60)).join('\n'));
    }
  });
  return { redis, cluster };
}

export const NGINX_BIN = '/usr/sbin/nginx';

/**
 * Runs nginx in the foreground (daemon off) with a main config written to a temp dir
 * whose http {} block includes `includeText` (written as centrifuge.conf); waits until
 * `port` accepts connections. Returns {port, dir, proc, log(), stop()}.
 */
export async function startNginx({ includeText, port }) {
  if (!existsSync(NGINX_BIN)) {
    throw new Error(`${NGINX_BIN} is not installed (package nginx): run \`make deps\` (scripts/deps.sh) first`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'centrifuge-interop-nginx-'));
  // Workers run as nobody when the master is root: they must reach the temp dirs.
  chmodSync(dir, 0o755);
  for (const d of ['body', 'proxy', 'fcgi', 'uwsgi', 'scgi']) {
    mkdirSync(join(dir, d));
    chmodSync(join(dir, d), 0o777);
  }
  writeFileSync(join(dir, 'centrifuge.conf'), includeText);
  writeFileSync(join(dir, 'nginx.conf'), `# written by tests/interop/harness.mjs
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/centrifuge.conf;
}
`);
  const h = {
    port, dir, output: '', exit: null, stopping: false,
    log(n = 30) {
      let el = '';
      try { el = readFileSync(join(dir, 'error.log'), 'utf8'); } catch { /* none yet */ }
      return `--- nginx output ---\n${tail(h.output, n)}\n--- last ${n} lines of nginx error.log ---\n${tail(el, n)}`;
    },
    async stop() {
      if (!h.proc || h.exit) return h.exit;
      h.stopping = true;
      h.proc.kill('SIGQUIT');
      const t = setTimeout(() => { if (!h.exit) h.proc.kill('SIGKILL'); }, 3000);
      await h.exited;
      clearTimeout(t);
      return h.exit;
    },
    cleanup() {
      try { rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ }
    },
  };
  // -e: the error log before the config is read (else the compiled-in /var/log path).
  const args = ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')];
  h.proc = track(spawn(NGINX_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  h.exited = new Promise((resolve) => h.proc.on('exit', (code, signal) => { h.exit = { code, signal }; resolve(h.exit); }));
  const out = (d) => {
    h.output += d.toString();
    if (TRACE) process.stdout.write(`[nginx] ${d}`);
  };
  h.proc.stdout.on('data', out);
  h.proc.stderr.on('data', out);
  const until = Date.now() + 10000;
  for (;;) {
    if (h.exit) {
      throw new Error(`${NGINX_BIN} ${args.join(' ')} exited: ${JSON.stringify(h.exit)}\n${h.log()}`);
    }
    if (await portOpen(port)) return h;
    if (Date.now() > until) {
      await h.stop();
      throw new Error(`nginx did not listen on 127.0.0.1:${port} within 10 s\n${h.log()}`);
    }
    await sleep(25);
  }
}

export { Centrifuge };
