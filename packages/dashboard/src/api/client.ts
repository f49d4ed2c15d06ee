/**
 * The dashboard's only way to the API: same-origin `fetch` with the session cookie, the CSRF token from
 * `GET /auth/session` on every state change, and the live/test switch as the `cohera-mode` header. Error
 * responses become `ApiProblem`s carrying the server's problem document. Nothing is stored in the browser:
 * the CSRF token lives in memory for the page's lifetime, and shown-once secrets never leave React state.
 */
import type { Mode } from './types.ts';

export interface FieldError {
  field: string;
  message: string;
}

export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | null;
  readonly fields: FieldError[];
  constructor(status: number, body: Record<string, unknown> | null, requestId: string | null) {
    const detail = typeof body?.detail === 'string' ? body.detail : null;
    const title = typeof body?.title === 'string' ? body.title : `Request failed (${status})`;
    super(detail ?? title);
    this.name = 'ApiProblem';
    this.status = status;
    this.code = typeof body?.code === 'string' ? body.code : `http_${status}`;
    this.requestId = (typeof body?.request_id === 'string' ? body.request_id : null) ?? requestId;
    this.fields = Array.isArray(body?.errors) ? (body.errors as FieldError[]) : [];
  }
}

const UNSAFE = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

let csrfToken = '';
let currentMode: Mode = 'live';
let onSignedOut: () => void = () => {};

export function configureApi(options: { csrfToken?: string; mode?: Mode; onSignedOut?: () => void }): void {
  if (options.csrfToken !== undefined) csrfToken = options.csrfToken;
  if (options.mode !== undefined) currentMode = options.mode;
  if (options.onSignedOut) onSignedOut = options.onSignedOut;
}

export function apiMode(): Mode {
  return currentMode;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export async function api<T>(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  options: { body?: unknown; query?: Query } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'cohera-mode': currentMode };
  if (UNSAFE.has(method)) headers['x-csrf-token'] = csrfToken;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(withQuery(path, options.query), {
    method,
    headers,
    body,
    credentials: 'same-origin',
    cache: 'no-store',
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const problem = new ApiProblem(
      response.status,
      (json as Record<string, unknown> | null) ?? null,
      response.headers.get('x-request-id'),
    );
    // The session ended (expired, signed out elsewhere): back to the sign-in page.
    if (response.status === 401 && path !== '/auth/session') onSignedOut();
    throw problem;
  }
  return json as T;
}

/** `list` endpoints: `{data, next_cursor}`. */
export interface ListPage<T> {
  data: T[];
  next_cursor: string | null;
}

/** Every page of a list (bounded: the dashboard shows at most `max` items). */
export async function listAll<T>(path: string, query: Query = {}, max = 1000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: ListPage<T> = await api<ListPage<T>>('GET', path, {
      query: { ...query, limit: 100, cursor },
    });
    items.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

export function signInUrl(returnTo: string): string {
  return withQuery('/auth/login', { return_to: returnTo });
}
