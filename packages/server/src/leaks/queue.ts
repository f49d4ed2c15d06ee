/**
 * The leak-report queue (`leak_reports`) between `POST /v1/credentials/revoke` and the leak worker. The
 * request path only enqueues hashes, so it does the same work whatever the strings are; the worker, off
 * the request path, finds out which hashes are keys.
 *
 * Claiming deletes the claimed rows inside the worker's transaction: the leaks they report are applied in
 * that same transaction, so a crash before the commit puts the rows back (nothing is lost) and a commit
 * removes them with their effects (nothing is applied twice). On PostgreSQL the rows are picked with
 * `FOR UPDATE SKIP LOCKED`, so workers on several nodes take disjoint batches; SQLite has one writer.
 */
import { type Kysely, PostgresAdapter, sql, type Transaction } from 'kysely';
import { isoAt } from '../clock.ts';
import type { DB, LeakReportsTable } from '../storage/schema.ts';

/** Queues reports of `hashes` (deduplicated; a hash already waiting keeps its first report). */
export async function enqueueLeakReports(
  db: Kysely<DB>,
  hashes: readonly string[],
  report: { source: 'public'; ip: string | null; requestId: string | null },
  now: number,
): Promise<void> {
  if (hashes.length === 0) return;
  const receivedAt = isoAt(now);
  await db
    .insertInto('leak_reports')
    .values(
      [...new Set(hashes)].map((keyHash) => ({
        key_hash: keyHash,
        source: report.source,
        ip: report.ip,
        request_id: report.requestId,
        received_at: receivedAt,
      })),
    )
    .onConflict((oc) => oc.column('key_hash').doNothing())
    .execute();
}

/** Takes up to `limit` of the oldest reports out of the queue, in `trx` (see the file comment). */
export async function claimLeakReports(trx: Transaction<DB>, limit: number): Promise<LeakReportsTable[]> {
  const postgres = trx.getExecutor().adapter instanceof PostgresAdapter;
  const lock = postgres ? sql`for update skip locked` : sql``;
  const result = await sql<LeakReportsTable>`
    delete from leak_reports where key_hash in (
      select key_hash from leak_reports order by received_at, key_hash limit ${limit} ${lock}
    )
    returning key_hash, source, ip, request_id, received_at`.execute(trx);
  return result.rows;
}

/** Whether any report waits: a read, so an idle poll takes no write lock. */
export async function hasLeakReports(db: Kysely<DB>): Promise<boolean> {
  return (await db.selectFrom('leak_reports').select('key_hash').limit(1).executeTakeFirst()) !== undefined;
}

/** How many reports wait (metrics and tests). */
export async function pendingLeakReports(db: Kysely<DB>): Promise<number> {
  const row = await db
    .selectFrom('leak_reports')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
