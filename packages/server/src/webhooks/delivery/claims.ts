/**
 * Claiming due deliveries (DESIGN §5.5 "Every node delivers"). A claim is a lease: `lease_until` set to
 * now + the attempt's timeout + a margin. While it holds, no other worker picks the delivery; once it has
 * passed (the node crashed or was killed mid-attempt) the delivery is claimable again, which is what makes
 * delivery at-least-once across kill -9. The receiver dedupes by `webhook-id`.
 *
 * PostgreSQL: one UPDATE … WHERE (endpoint_id, message_id) IN (SELECT … FOR UPDATE SKIP LOCKED), so two
 * nodes claiming at the same instant lock disjoint rows and never send one attempt twice; a row another
 * node has just leased is re-checked after its lock and no longer matches. SQLite has one writer, so the
 * same UPDATE without the row locks is already atomic.
 *
 * Fairness: the candidates are ranked per endpoint and at most `perEndpoint` of each are claimed, and
 * endpoints this node already has at their limit are left out, so a slow receiver with a long backlog
 * cannot fill a batch and hold back the others.
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';
import { isoAt } from '../../clock.ts';
import type { DB } from '../../storage/schema.ts';

export interface Claim {
  endpoint_id: string;
  message_id: string;
  /** The lease this worker holds; every later write checks it is still this one. */
  lease_until: string;
}

export interface ClaimOptions {
  now: number;
  leaseMs: number;
  limit: number;
  perEndpoint: number;
  /** Endpoints this node has at their limit already. */
  busyEndpoints: readonly string[];
}

/** How many candidate rows one claim looks at (and locks briefly on PostgreSQL). */
const SCAN = 500;

/** Claims up to `limit` due deliveries of enabled endpoints; returns what this worker now holds. */
export async function claimDue(db: Kysely<DB>, options: ClaimOptions): Promise<Claim[]> {
  if (options.limit <= 0) return [];
  const now = isoAt(options.now);
  // An idle outbox (the common case) is answered by one read on the (status, next_attempt_at) index: the
  // claim below, an UPDATE around a window function, is prepared afresh by SQLite on every run (60–80 µs,
  // and the poll runs four times a second on every node) and is a write statement on PostgreSQL.
  if (!(await anyClaimable(db, now))) return [];
  const lease = isoAt(options.now + options.leaseMs);
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const lock = postgres ? sql`for update of d skip locked` : sql``;
  const busy =
    options.busyEndpoints.length === 0
      ? sql``
      : sql`and d.endpoint_id not in (${sql.join(options.busyEndpoints.map((id) => sql`${id}`))})`;
  // A window function cannot sit beside FOR UPDATE on PostgreSQL, so the locked candidates are a subquery
  // and the ranking happens around it.
  const result = await sql<Claim>`
    update webhook_deliveries set lease_until = ${lease}
    where (endpoint_id, message_id) in (
      select endpoint_id, message_id from (
        select endpoint_id, message_id, next_attempt_at,
          row_number() over (partition by endpoint_id order by next_attempt_at, message_id) as nth
        from (
          select d.endpoint_id, d.message_id, d.next_attempt_at
          from webhook_deliveries d
          join webhook_endpoints e on e.id = d.endpoint_id
          where d.status = 'pending' and d.next_attempt_at <= ${now}
            and (d.lease_until is null or d.lease_until <= ${now})
            and e.status = 'enabled' ${busy}
          order by d.next_attempt_at, d.message_id
          limit ${SCAN}
          ${lock}
        ) candidates
      ) ranked
      where nth <= ${options.perEndpoint}
      order by next_attempt_at, message_id
      limit ${options.limit}
    )
    returning endpoint_id, message_id, lease_until`.execute(db);
  return result.rows;
}

/**
 * Whether some pending delivery is due and not leased at `now`. Endpoints are not looked at: a due delivery
 * of a disabled or busy endpoint only sends the poll on to the claim, which finds nothing, as before.
 */
async function anyClaimable(db: Kysely<DB>, now: string): Promise<boolean> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select('message_id')
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Gives a claim back untouched (shutdown, or the endpoint turned out to be disabled or busy). */
export async function releaseClaim(db: Kysely<DB>, claim: Claim): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ lease_until: null })
    .where('endpoint_id', '=', claim.endpoint_id)
    .where('message_id', '=', claim.message_id)
    .where('lease_until', '=', claim.lease_until)
    .execute();
}

/** Due pending deliveries of enabled endpoints, on every node (the queue-depth metric). */
export async function dueCount(db: Kysely<DB>, now: number): Promise<number> {
  const row = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .where('d.status', '=', 'pending')
    .where('d.next_attempt_at', '<=', isoAt(now))
    .where('e.status', '=', 'enabled')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
