/**
 * Tamper evidence: one HMAC chain per org. Each event's `hash` is HMAC-SHA256, under a key derived from the
 * master key, of the previous event's hash and this event's fields; the chain's head row holds the newest
 * sequence number and hash. Editing an event breaks its hash; deleting one leaves a gap in `seq`; inserting
 * one needs a hash nobody without the master key can compute; rewriting the whole chain needs the key too
 * (a plain hash chain could simply be recomputed).
 *
 * Several nodes append at once safely: an append first bumps the head row (`UPDATE … RETURNING`), which
 * takes its row lock on PostgreSQL and the write lock on SQLite, so appends to one org are serialized while
 * different orgs never wait for each other.
 */
import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { CompiledQuery, type Kysely, PostgresAdapter, type Transaction } from 'kysely';
import { inTransaction } from '../storage/database.ts';
import type { AuditEventsTable, DB } from '../storage/schema.ts';

type Executor = Kysely<DB> | Transaction<DB>;

const COLUMNS = [
  'id',
  'org_id',
  'seq',
  'at',
  'actor_kind',
  'actor_id',
  'action',
  'target_kind',
  'target_id',
  'result',
  'ip',
  'user_agent',
  'request_id',
  'metadata',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof AuditEventsTable)[];
const BATCH = 200;
const insertSqls = new Map<string, string>();

/**
 * The parameterized multi-row INSERT for `rows` events, built once per size and dialect. Events are the one
 * write made per API call (COHERA_AUDIT_API_CALLS=all), and building the same statement through the query
 * builder for every batch cost as much as running it.
 */
function insertSql(rows: number, postgres: boolean): string {
  const cacheKey = `${rows}:${postgres}`;
  let text = insertSqls.get(cacheKey);
  if (!text) {
    let n = 0;
    const tuple = () => `(${COLUMNS.map(() => (postgres ? `$${++n}` : '?')).join(', ')})`;
    const tuples = Array.from({ length: rows }, tuple).join(', ');
    text = `insert into audit_events (${COLUMNS.join(', ')}) values ${tuples}`;
    insertSqls.set(cacheKey, text);
  }
  return text;
}

/** An event ready to be chained: everything but its place in the chain. */
export type UnchainedEvent = Omit<AuditEventsTable, 'seq' | 'prev_hash' | 'hash'>;

export class AuditChain {
  /** A KeyObject, imported once: HMAC with a plain Buffer key re-imports it on every call (DESIGN §7). */
  readonly #key: KeyObject;
  constructor(masterKey: Buffer) {
    this.#key = createSecretKey(
      Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'cohera/audit-chain/v1', 32)),
    );
  }

  genesis(orgId: string): string {
    return createHmac('sha256', this.#key).update(`genesis\n${orgId}`).digest('hex');
  }

  /** The hash of an event given the previous one's; every stored field is covered, in a fixed order. */
  hashOf(event: Omit<AuditEventsTable, 'hash'>): string {
    const fields = [
      event.id,
      event.org_id,
      Number(event.seq),
      event.at,
      event.actor_kind,
      event.actor_id,
      event.action,
      event.target_kind,
      event.target_id,
      event.result,
      event.ip,
      event.user_agent,
      event.request_id,
      event.metadata,
    ];
    return createHmac('sha256', this.#key)
      .update(`${event.prev_hash}\n${JSON.stringify(fields)}`)
      .digest('hex');
  }

  /**
   * Appends events of one org, in order, inside the caller's transaction (or a new one: the head's read
   * and write must never interleave with another append). Returns the stored rows.
   */
  async append(db: Executor, orgId: string, events: readonly UnchainedEvent[]): Promise<AuditEventsTable[]> {
    if (events.length === 0) return [];
    return inTransaction(db, (trx) => this.#append(trx, orgId, events));
  }

  async #append(
    trx: Executor,
    orgId: string,
    events: readonly UnchainedEvent[],
  ): Promise<AuditEventsTable[]> {
    const genesis = this.genesis(orgId);
    await trx
      .insertInto('audit_chain_heads')
      .values({ org_id: orgId, seq: 0, hash: genesis, purged_through_seq: 0, purged_through_hash: genesis })
      .onConflict((oc) => oc.column('org_id').doNothing())
      .execute();
    // Bumping seq first takes the lock; the hash read here is still the previous head's.
    const head = await trx
      .updateTable('audit_chain_heads')
      .set((eb) => ({ seq: eb('seq', '+', events.length) }))
      .where('org_id', '=', orgId)
      .returning(['seq', 'hash'])
      .executeTakeFirstOrThrow();
    let seq = Number(head.seq) - events.length;
    let prev = head.hash;
    const rows: AuditEventsTable[] = [];
    for (const event of events) {
      seq++;
      const unhashed = { ...event, seq, prev_hash: prev };
      const row = { ...unhashed, hash: this.hashOf(unhashed) };
      rows.push(row);
      prev = row.hash;
    }
    const postgres = trx.getExecutor().adapter instanceof PostgresAdapter;
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      const parameters = batch.flatMap((row) => COLUMNS.map((column) => row[column]));
      await trx.executeQuery(CompiledQuery.raw(insertSql(batch.length, postgres), parameters));
    }
    await trx.updateTable('audit_chain_heads').set({ hash: prev }).where('org_id', '=', orgId).execute();
    return rows;
  }

  /**
   * Checks an org's whole chain, oldest first. `first_bad` is the first event whose place, link or content
   * is wrong; when events are missing after the last one (the newest were deleted), it is that last event.
   */
  async verify(
    db: Executor,
    orgId: string,
  ): Promise<{ ok: boolean; checked: number; first_bad: string | null }> {
    const head = await db
      .selectFrom('audit_chain_heads')
      .selectAll()
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    // Nothing may sit before where retention cut the chain: such a row was put there.
    const planted = await db
      .selectFrom('audit_events')
      .select('id')
      .where('org_id', '=', orgId)
      .where('seq', '<=', Number(head?.purged_through_seq ?? 0))
      .orderBy('seq')
      .executeTakeFirst();
    if (planted) return { ok: false, checked: 0, first_bad: planted.id };
    let expectedSeq = Number(head?.purged_through_seq ?? 0) + 1;
    let prev = head?.purged_through_hash ?? this.genesis(orgId);
    let checked = 0;
    let lastId: string | null = null;
    for (;;) {
      const page = await db
        .selectFrom('audit_events')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('seq', '>=', expectedSeq)
        .orderBy('seq')
        .limit(1000)
        .execute();
      for (const row of page) {
        checked++;
        const intact =
          Number(row.seq) === expectedSeq &&
          row.prev_hash === prev &&
          this.hashOf({ ...row, seq: Number(row.seq) }) === row.hash;
        if (!intact) return { ok: false, checked, first_bad: row.id };
        prev = row.hash;
        lastId = row.id;
        expectedSeq++;
      }
      if (page.length < 1000) break;
    }
    const headSeq = Number(head?.seq ?? 0);
    if (head && (headSeq !== expectedSeq - 1 || head.hash !== prev)) {
      return { ok: false, checked, first_bad: lastId ?? 'head' };
    }
    return { ok: true, checked, first_bad: null };
  }
}
