/**
 * The bounds of serving cached reads while the database is slow or down (docs/operations.md#postgresql-is-
 * down-or-slow). The authenticated path reads nothing from the database while its caches are fresh; when an
 * entry is due for a re-read and the database does not answer, the entry is served as it is — for at most
 * `STALE_SERVE_MAX_MS` after storage last confirmed it — so a request with a cached credential keeps working
 * through a short outage instead of hanging on it or failing. Past that bound the request needs the database.
 */
import { isDatabaseUnavailable } from './unavailable.ts';

/**
 * How long after its last confirmation a cached entry may still be served when the database cannot be
 * asked. The revocation backstop of a partitioned node stretches by as much (a revocation that reaches the
 * database but not this node's bus), so it is minutes, not hours.
 */
export const STALE_SERVE_MAX_MS = 5 * 60_000;

/**
 * How long a request waits for the re-read of a due entry before it is served the cached one: a healthy
 * database answers in milliseconds, so only a slow or frozen one makes the request settle for the cache.
 */
export const STALE_REVALIDATE_WAIT_MS = 500;

/** After a re-read failed, how long the cached entry is served without asking again (not once per request). */
export const STALE_RETRY_MS = 1_000;

/**
 * `fresh` if it settles within `waitMs`; otherwise `stale` (the re-read goes on and fills the cache when it
 * answers). A re-read that fails with an outage error (or any error `useStaleOn` accepts) also gives
 * `stale`; any other error is the request's.
 */
export function freshOrStale<T>(
  fresh: Promise<T>,
  stale: T,
  waitMs: number,
  useStaleOn: (error: unknown) => boolean = isDatabaseUnavailable,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => resolve(stale), waitMs);
    fresh.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (useStaleOn(error)) resolve(stale);
        else reject(error);
      },
    );
  });
}
