/** The rate-limit standing the server reported on the last response (`X-RateLimit-*`). */
export interface RateLimit {
  /** Requests allowed in the window with the fewest remaining. */
  limit: number;
  remaining: number;
  /** When that window resets. */
  reset: Date;
}

function integer(headers: Headers, name: string): number | null {
  const value = headers.get(name);
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  return Number(value.trim());
}

export function rateLimitOf(headers: Headers): RateLimit | null {
  const limit = integer(headers, 'x-ratelimit-limit');
  const remaining = integer(headers, 'x-ratelimit-remaining');
  const reset = integer(headers, 'x-ratelimit-reset');
  if (limit === null || remaining === null || reset === null) return null;
  return { limit, remaining, reset: new Date(reset * 1000) };
}

/**
 * How long the server asks us to wait, in milliseconds: `Retry-After` (delta-seconds or an HTTP date,
 * RFC 9110 §10.2.3), else, when the window is spent, until `X-RateLimit-Reset`. Null when it says nothing.
 */
export function serverDelayMs(headers: Headers, now: number): number | null {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const state = rateLimitOf(headers);
  if (state && state.remaining === 0) return Math.max(0, state.reset.getTime() - now);
  return null;
}

/** `Retry-After` in whole seconds, as `RateLimitError.retryAfter` reports it. */
export function retryAfterSeconds(headers: Headers, now: number): number | null {
  const ms = serverDelayMs(headers, now);
  return ms === null ? null : Math.ceil(ms / 1000);
}
