/**
 * Webhook messages are kept 30 days (DESIGN §5.5: `GET /v1/events` lists the last 30 days), then deleted
 * with their deliveries. Every delivery has long finished by then — the retry schedule ends after about
 * three days — except those of an endpoint disabled for longer, which a re-enable no longer replays: a
 * receiver that comes back after a month is told to recover from the API's state, not from a month-old
 * backlog. Every node runs the purge hourly; the delete is idempotent and a range scan on the age index.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { type Clock, isoAt } from '../clock.ts';
import { type PeriodicPurge, startPeriodicPurge } from '../jobs/periodic-purge.ts';
import type { DB } from '../storage/schema.ts';

export const WEBHOOK_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** Rows per delete, so one purge never holds a long lock on a busy table. */
const BATCH = 1_000;

/**
 * Deletes messages older than the retention period, and their deliveries, in batches; returns how many
 * messages. Across tenants on purpose: retention is the same for every org and mode.
 */
export async function purgeWebhookMessages(db: Kysely<DB>, now: number): Promise<number> {
  const cutoff = isoAt(now - WEBHOOK_RETENTION_MS);
  let deleted = 0;
  for (;;) {
    const ids = (
      await db
        .selectFrom('webhook_messages')
        .select('id')
        .where('created_at', '<', cutoff)
        .orderBy('created_at')
        .limit(BATCH)
        .execute()
    ).map((row) => row.id);
    if (ids.length === 0) return deleted;
    await db.transaction().execute(async (trx) => {
      // Explicitly rather than by cascade: SQLite enforces foreign keys only when told to per connection.
      await trx.deleteFrom('webhook_deliveries').where('message_id', 'in', ids).execute();
      await trx.deleteFrom('webhook_messages').where('id', 'in', ids).execute();
    });
    deleted += ids.length;
    if (ids.length < BATCH) return deleted;
  }
}

/** Runs the purge every `everyMs` (default hourly) until `stop()`, which waits for a run in progress. */
export function startWebhookPurge(
  db: Kysely<DB>,
  clock: Clock,
  log: Pick<Logger, 'debug' | 'error'>,
  everyMs = 3_600_000,
): PeriodicPurge {
  return startPeriodicPurge(
    'webhook messages past retention',
    () => purgeWebhookMessages(db, clock.now()),
    log,
    everyMs,
  );
}
