/**
 * Keys are remembered for 24 h (IDEMPOTENCY_TTL_MS). Expired rows are already ignored by a claim, which
 * replaces one in place; this job deletes the rest, hourly, so the table holds about a day of POSTs. Every
 * node runs it: the delete is idempotent, and cheap on the expiry index.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { type Clock, isoAt } from '../clock.ts';
import { type PeriodicPurge, startPeriodicPurge } from '../jobs/periodic-purge.ts';
import type { DB } from '../storage/schema.ts';

/**
 * Deletes every expired key; returns how many. The one statement across tenants: retention is the same
 * for every org and mode, and it touches only rows no request can use any more.
 */
export async function purgeIdempotencyKeys(db: Kysely<DB>, now: number): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('expires_at', '<=', isoAt(now))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Runs the purge every `everyMs` (default hourly) until `stop()`, which waits for a run in progress. */
export function startIdempotencyPurge(
  db: Kysely<DB>,
  clock: Clock,
  log: Pick<Logger, 'debug' | 'error'>,
  everyMs = 3_600_000,
): PeriodicPurge {
  return startPeriodicPurge(
    'expired idempotency keys',
    () => purgeIdempotencyKeys(db, clock.now()),
    log,
    everyMs,
  );
}
