// Where each transport connects: from a URL (a transport endpoint or the
// server's base URL) or an explicit list, with the project as a first-class option.
import type { TransportEndpoint, TransportName } from './types';

const TRANSPORT_PATH = /\/connection(?:\/([^/?#]+))?\/(websocket|http_stream|sse|sockjs)\/?$/;

/** Transports tried when the configuration names none: sockjs needs a library and is opt-in. */
export const defaultTransports: TransportName[] = ['websocket', 'http_stream', 'sse'];

/** The endpoint of `transport` under base (http(s)://host[/prefix]) for project. */
export function endpointFor(base: string, transport: TransportName, project?: string): string {
  const b = base.replace(/\/+$/, '');
  const url = `${b}/connection/${project && project !== 'default' ? `${encodeURIComponent(project)}/` : ''}${transport}`;
  return transport === 'websocket' ? url.replace(/^http/, 'ws') : url.replace(/^ws/, 'http');
}

/** The emulation endpoint (HTTP-streaming and SSE commands) under base for project. */
export function emulationFor(base: string, project?: string): string {
  const b = base.replace(/\/+$/, '');
  return `${b}/emulation${project && project !== 'default' ? `/${encodeURIComponent(project)}` : ''}`;
}

/**
 * Splits a URL into the server's base (http scheme) and, when it names one, the
 * transport and project of its path.
 */
export function parseUrl(url: string): { base: string; transport?: TransportName; project?: string } {
  const u = new URL(url);
  const m = TRANSPORT_PATH.exec(u.pathname);
  const path = m ? u.pathname.slice(0, m.index) : u.pathname;
  const base = `${u.protocol.replace(/^ws/, 'http')}//${u.host}${path}`.replace(/\/+$/, '');
  return m ? { base, transport: m[2] as TransportName, project: m[1] && decodeURIComponent(m[1]) } : { base };
}

/**
 * Resolves the configuration to the endpoints to try, in order, and the
 * emulation endpoint. A URL naming one transport means that transport only,
 * unless `transports` lists others (derived from the same base and project).
 */
export function resolveEndpoints(
  target: string | TransportEndpoint[],
  transports?: TransportName[],
  project?: string,
  emulation?: string,
): { endpoints: TransportEndpoint[]; emulation: string } {
  if (Array.isArray(target)) {
    if (!target.length) throw new Error('no transport endpoints');
    const http = target.find((e) => e.transport === 'http_stream' || e.transport === 'sse') || target[0]!;
    const p = parseUrl(http.endpoint);
    return { endpoints: target.slice(), emulation: emulation || emulationFor(p.base, project || p.project) };
  }
  const p = parseUrl(target);
  const proj = project || p.project;
  const list = transports || (p.transport ? [p.transport] : defaultTransports);
  return {
    endpoints: list.map((t) => ({
      transport: t,
      endpoint: t === p.transport && !project ? target : endpointFor(p.base, t, proj),
    })),
    emulation: emulation || emulationFor(p.base, proj),
  };
}
