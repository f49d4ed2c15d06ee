/**
 * When to retry and how long to wait. A retry must never repeat an effect: a request is retried only
 * when it is idempotent by method, or carries an `Idempotency-Key` the server honours (every Cohera POST
 * does), and only for failures that say "try again" (no response, 408, 429, 502, 503, 504, and a 409 for a
 * key whose first attempt is still running).
 */

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * Whether a failed response says "try again": the statuses above, and the server's `409
 * idempotency_key_in_use`, which means an earlier attempt of this very request is still running (its
 * response was lost on the way, say), so a retry after `Retry-After` gets that attempt's answer.
 */
export function isRetryable(status: number, body: unknown): boolean {
  if (RETRYABLE_STATUSES.has(status)) return true;
  return status === 409 && (body as { code?: unknown } | null)?.code === 'idempotency_key_in_use';
}

export function isRetrySafe(method: string, hasIdempotencyKey: boolean): boolean {
  return IDEMPOTENT_METHODS.has(method) || hasIdempotencyKey;
}

export interface BackoffOptions {
  /** First delay before jitter, ms. */
  initialDelay: number;
  /** Ceiling of the computed (not the server-requested) delay, ms. */
  maxDelay: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelay: 500, maxDelay: 8_000 };

/**
 * Exponential backoff with "equal jitter": half the delay fixed, half random, so retries of many clients
 * spread out but none comes back immediately. `attempt` counts from 0 (the first retry).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random = Math.random): number {
  const ceiling = Math.min(options.maxDelay, options.initialDelay * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

/**
 * The wait before a retry the server timed (`Retry-After`): what it asked for plus up to 10% (≤ 1 s) of
 * jitter, because rate-limit windows align to the clock and every throttled client would otherwise come
 * back in the same millisecond.
 */
export function serverTimedDelay(requested: number, random = Math.random): number {
  return requested + random() * Math.min(1_000, requested * 0.1);
}
