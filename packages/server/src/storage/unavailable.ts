/**
 * Which errors mean "the database cannot be reached, or did not answer in time" (an outage, answered
 * `503 service_unavailable` with `Retry-After`) rather than a bug (a 500 with its stack in the log). The
 * line matters both ways: an outage logged as a stack per request buries the one line that says what is
 * wrong, and a bug answered 503 would have clients retry something that can never succeed.
 */

/**
 * SQLSTATEs (PostgreSQL Appendix A) that say the server is unreachable, shutting down, out of resources,
 * or cancelled a statement for taking too long. Class 08 (connection exception) is matched as a class.
 */
const UNAVAILABLE_SQLSTATES: ReadonlySet<string> = new Set([
  '57P01', // admin_shutdown: the server is stopping (or pg_terminate_backend)
  '57P02', // crash_shutdown: another backend crashed and the server is resetting
  '57P03', // cannot_connect_now: starting up, or in recovery
  '57P05', // idle_session_timeout
  '57014', // query_canceled: statement_timeout (we never cancel statements otherwise)
  '25P03', // idle_in_transaction_session_timeout
  '53000', // insufficient_resources
  '53100', // disk_full
  '53200', // out_of_memory
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
  '58000', // system_error (an I/O error outside PostgreSQL)
  '58030', // io_error
]);

/** Socket errors of the connection to the database. */
const UNAVAILABLE_ERRNOS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What a query on a connection discarded after an outage error fails with (discarding-pool.ts). */
export const DISCARDED_CONNECTION =
  'the database connection was discarded: an earlier query on it got no answer from the server';

/**
 * What `pg` and `pg-pool` throw without a code when a connection ends or a bound runs out (their messages
 * are stable across 8.x): the pool's wait for a connection, a connection's handshake, the client-side
 * query timeout, and a connection that dropped or was closed under a query.
 */
const UNAVAILABLE_MESSAGES: readonly string[] = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Query read timeout',
  'is not queryable',
  'Cannot use a pool after calling end on the pool',
  DISCARDED_CONNECTION,
];

/** SQLITE_BUSY: another process held the write lock past `busy_timeout` (too slow, not a bug). */
const SQLITE_BUSY = 5;

/** How deep to follow `cause` and AggregateError members: a wrapper or two, never a cycle. */
const MAX_DEPTH = 4;

/** Whether `error` (or what it wraps) says the database is unreachable or too slow, as opposed to a bug. */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > MAX_DEPTH) return false;
  const e = error as {
    code?: unknown;
    errcode?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof e.code === 'string') {
    if (/^[0-9A-Z]{5}$/.test(e.code)) {
      if (e.code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(e.code)) return true;
    } else if (UNAVAILABLE_ERRNOS.has(e.code)) {
      return true;
    }
  }
  if (typeof e.errcode === 'number' && (e.errcode & 0xff) === SQLITE_BUSY) return true;
  if (typeof e.message === 'string' && error instanceof Error) {
    const message = e.message;
    if (UNAVAILABLE_MESSAGES.some((known) => message.includes(known))) return true;
  }
  // Node reports a refused connection to a host with several addresses as an AggregateError of each.
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) {
    return true;
  }
  return e.cause !== undefined && isDatabaseUnavailable(e.cause, depth + 1);
}

/**
 * What to log about an outage's error: its code and message, never a stack (the same stack per request
 * tells nothing) and never a connection string (pg's messages do not contain one).
 */
export function describeUnavailable(error: unknown): { code?: string; message: string } {
  const e = error as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return typeof e?.code === 'string' ? { code: e.code, message } : { message };
}

export interface TaskLog {
  error(details: Record<string, unknown>, message: string): void;
  debug?(details: Record<string, unknown>, message: string): void;
}

/**
 * How a background task (a poller, a purge) logs a failed run: an outage error at debug, because the outage
 * itself is logged once when it starts and once when it ends (availability.ts) and a poller would repeat it
 * every tick; anything else at error, with its stack, because that is a bug to look at.
 */
export function logTaskFailure(log: TaskLog, error: unknown, message: string): void {
  if (isDatabaseUnavailable(error)) log.debug?.({ error: describeUnavailable(error) }, message);
  else log.error({ err: error }, message);
}
