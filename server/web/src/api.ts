// The admin API (openapi.yaml, tag admin): one fetch wrapper that sends the
// session's CSRF token on every change and turns error bodies into ApiError.

export class ApiError extends Error {
  name = 'ApiError';
  constructor(public status: number, message: string, public field?: string, public retryAfter?: number) {
    super(message);
  }
}

export interface Session {
  csrf_token: string;
  expires_at: string;
}

let csrf = '';
let onUnauthorized: () => void = () => {};

export function setSession(s: Session | null) {
  csrf = s ? s.csrf_token : '';
}

/** Called when a request answers 401: the session ended. */
export function setUnauthorizedHandler(fn: () => void) {
  onUnauthorized = fn;
}

const BASE = '/admin/api';

export async function request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, `the server cannot be reached (${(e as Error).message})`);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: any = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const err = data && data.error ? data.error : {};
    const message = err.message || `${res.status} ${res.statusText || 'error'}`;
    const retry = Number(res.headers.get('Retry-After')) || undefined;
    if (res.status === 401 && path !== '/login') onUnauthorized();
    throw new ApiError(res.status, message, err.field, retry);
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});
export const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, body);
export const del = (path: string) => request<void>('DELETE', path);

export const enc = encodeURIComponent;

// Shapes of the admin API's replies (the parts the UI reads).

export interface NodeInfo {
  id: string;
  name: string;
  version: string;
  engine: string;
  store: string;
  uptime_seconds: number;
  started_at?: string;
  num_clients: number;
  num_users: number;
  num_channels: number;
  num_subscriptions: number;
  metrics?: { interval?: number; items: Record<string, number> };
}

export type OptionValues = Record<string, unknown>;

export interface Namespace {
  name: string;
  options: OptionValues;
}

export interface Project {
  name: string;
  display_name?: string;
  secret: string;
  api_key: string;
  options: OptionValues;
  namespaces: Namespace[];
  [field: string]: unknown;
}

export interface OptionSpec {
  name: string;
  type: string;
  default: unknown;
  help: string;
  scope: 'project' | 'namespace' | 'both';
}
