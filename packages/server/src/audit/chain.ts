/**
 * Tamper evidence: one HMAC chain per org. Each event's `hash` is HMAC-SHA256, under a key derived from the
 * master key, of the previous event's hash and this event's fields; the chain's head row holds the newest
 * sequence number and hash. Editing an event breaks its hash; deleting one leaves a gap in `seq`; inserting
 * one needs a hash nobody without the master key can compute; rewriting the whole chain needs the key too
 * (a plain hash chain could simply be recomputed). The head and the purge marker carry MACs of their own
 * (head-seal.ts), so setting the chain's ends back is found too; going back to a state the rows really had
 * is found only with a signed digest taken later (digest-signer.ts), which `verify` accepts.
 *
 * A link of the chain is one event, or one segment of API-call events (segments.ts): the segment's hash
 * covers all of its events at once, so editing, deleting or inserting one of them is found the same way.
 *
 * Several nodes append at once safely: an append first bumps the head row (`UPDATE … RETURNING`), which
 * takes its row lock on PostgreSQL and the write lock on SQLite, so appends to one org are serialized while
 * different orgs never wait for each other.
 */
import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { CompiledQuery, type Kysely, PostgresAdapter, type Transaction } from 'kysely';
import { inTransaction } from '../storage/database.ts';
import type { AuditEventsTable, AuditSegmentsTable, DB } from '../storage/schema.ts';
import { ChainHeadSeal, UNAUTHENTICATED } from './head-seal.ts';
import {
  type ChainLink,
  chainLinks,
  hasEvents,
  linkAtOrBefore,
  linkId,
  linkLastId,
  linkSize,
  newestLink,
  oldestLink,
} from './links.ts';
import type { PendingSegment } from './segments.ts';

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

const SEGMENT_COLUMNS = [
  'org_id',
  'seq_first',
  'seq_last',
  'id_first',
  'id_last',
  'at_first',
  'at_last',
  'failures',
  'actor_ids',
  'events',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof AuditSegmentsTable)[];

function segmentInsertSql(postgres: boolean): string {
  const values = SEGMENT_COLUMNS.map((_, i) => (postgres ? `$${i + 1}` : '?')).join(', ');
  return `insert into audit_segments (${SEGMENT_COLUMNS.join(', ')}) values (${values})`;
}

/** An event ready to be chained: everything but its place in the chain. */
export type UnchainedEvent = Omit<AuditEventsTable, 'seq' | 'prev_hash' | 'hash'>;

/**
 * Why `verify` found an org's chain not intact (docs/audit.md explains each):
 * - `head_missing`: events exist but the head row, which says where the chain ends, was deleted;
 * - `head_unauthenticated`: the head row's MAC does not match it (set back or forged; an append that found
 *   it so keeps it so);
 * - `purge_marker_unauthenticated`: the purge marker's MAC does not match it (moved, as deleting the oldest
 *   events would need);
 * - `head_behind_digest`: the chain ends before the event a digest names: events after an earlier state
 *   are gone (a rollback, or the whole log deleted);
 * - `event_before_purge_marker`: an event sits at or before the purge marker: it was put there;
 * - `event_invalid`: an event's place, link or content is wrong (edited, deleted, inserted, reordered);
 * - `digest_hash_mismatch`: the event a digest names has another hash: the chain was rewritten since;
 * - `head_mismatch`: the last event is not the one the head names: the newest events were deleted.
 */
export type VerifyReason =
  | 'head_missing'
  | 'head_unauthenticated'
  | 'purge_marker_unauthenticated'
  | 'head_behind_digest'
  | 'event_before_purge_marker'
  | 'event_invalid'
  | 'digest_hash_mismatch'
  | 'head_mismatch';

export interface Verdict {
  ok: boolean;
  /** Events checked: all kept ones, or up to and including `first_bad`. */
  checked: number;
  /** The first bad event's id, `head` for the head row (and the marker it holds), or null. */
  first_bad: string | null;
  reason: VerifyReason | null;
  /** Where the head row says the chain ends (0: no events yet). */
  head_seq: number;
}

/** What a digest (its signature and org already checked) says the chain held. */
export interface DigestPoint {
  seq: number;
  hash: string;
}

export interface AuditChainOptions {
  /**
   * Called when an append finds the org's head unauthenticated (or missing while events exist), the first
   * time only: the append goes on, and the head stays unauthenticated. For an error log line.
   */
  onUnauthenticatedHead?: (orgId: string, found: { seq: number; hash: string }) => void;
}

export class AuditChain {
  /** A KeyObject, imported once: HMAC with a plain Buffer key re-imports it on every call (DESIGN §7). */
  readonly #key: KeyObject;
  readonly seal: ChainHeadSeal;
  readonly #onUnauthenticatedHead: AuditChainOptions['onUnauthenticatedHead'];

  constructor(masterKey: Buffer, options: AuditChainOptions = {}) {
    this.#key = createSecretKey(
      Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'cohera/audit-chain/v1', 32)),
    );
    this.seal = new ChainHeadSeal(masterKey);
    this.#onUnauthenticatedHead = options.onUnauthenticatedHead;
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
   * The hash of a segment given the previous link's: every column, the events as their stored bytes. The
   * word `segment` after the link keeps a segment's input from ever reading as an event's (a JSON array).
   */
  segmentHash(segment: Omit<AuditSegmentsTable, 'hash'>): string {
    const fields = [
      segment.org_id,
      Number(segment.seq_first),
      Number(segment.seq_last),
      segment.id_first,
      segment.id_last,
      segment.at_first,
      segment.at_last,
      Number(segment.failures),
      segment.actor_ids,
    ];
    return createHmac('sha256', this.#key)
      .update(`${segment.prev_hash}\nsegment\n${JSON.stringify(fields)}\n`)
      .update(segment.events)
      .digest('hex');
  }

  /** Whether a stored link's hash matches what it holds. */
  isIntact(link: ChainLink): boolean {
    return link.kind === 'event'
      ? this.hashOf({ ...link.row, seq: link.seqFirst }) === link.row.hash
      : this.segmentHash(link.row) === link.row.hash;
  }

  /**
   * Appends one org's events, in order, and then its segments of API-call events, inside the caller's
   * transaction (or a new one: the head's read and write must never interleave with another append).
   * Returns the stored event rows.
   */
  async append(
    db: Executor,
    orgId: string,
    events: readonly UnchainedEvent[],
    segments: readonly PendingSegment[] = [],
  ): Promise<AuditEventsTable[]> {
    const pending = segments.filter((segment) => segment.size > 0);
    if (events.length === 0 && pending.length === 0) return [];
    return inTransaction(db, (trx) => this.#append(trx, orgId, events, pending));
  }

  async #append(
    trx: Executor,
    orgId: string,
    events: readonly UnchainedEvent[],
    segments: readonly PendingSegment[],
  ): Promise<AuditEventsTable[]> {
    const count = segments.reduce((sum, segment) => sum + segment.size, events.length);
    // Bumping seq first takes the lock; the hash read here is still the previous head's.
    const bump = () =>
      trx
        .updateTable('audit_chain_heads')
        .set((eb) => ({ seq: eb('seq', '+', count) }))
        .where('org_id', '=', orgId)
        .returning(['seq', 'hash', 'head_mac'])
        .executeTakeFirst();
    let head = await bump();
    if (!head) {
      await this.#createHead(trx, orgId);
      head = await bump();
    }
    if (!head) throw new Error(`audit chain head of ${orgId} could not be created`);
    let seq = Number(head.seq) - count;
    // One MAC check and one MAC per append, whatever the number of events: the anchor, not each event.
    // A head that fails its check is never sealed again: the next event would otherwise make a rolled-back
    // head authentic.
    const authentic = this.seal.isHead(orgId, seq, head.hash, head.head_mac);
    if (!authentic && head.head_mac !== UNAUTHENTICATED) {
      this.#onUnauthenticatedHead?.(orgId, { seq, hash: head.hash });
    }
    let prev = head.hash;
    const rows: AuditEventsTable[] = [];
    for (const event of events) {
      seq++;
      // One object per row, filled in place: this loop runs once per API call under `all`.
      const row = { ...event, seq, prev_hash: prev, hash: '' };
      row.hash = this.hashOf(row);
      rows.push(row);
      prev = row.hash;
    }
    const postgres = trx.getExecutor().adapter instanceof PostgresAdapter;
    for (let i = 0; i < rows.length; i += BATCH) {
      const end = Math.min(rows.length, i + BATCH);
      const parameters: unknown[] = [];
      for (let r = i; r < end; r++) {
        const row = rows[r] as AuditEventsTable;
        for (const column of COLUMNS) parameters.push(row[column]);
      }
      await trx.executeQuery(CompiledQuery.raw(insertSql(end - i, postgres), parameters));
    }
    for (const pending of segments) {
      const segment = { ...pending.encode(seq + 1), prev_hash: prev, hash: '' };
      segment.hash = this.segmentHash(segment);
      await trx.executeQuery(
        CompiledQuery.raw(
          segmentInsertSql(postgres),
          SEGMENT_COLUMNS.map((column) => segment[column]),
        ),
      );
      seq = segment.seq_last;
      prev = segment.hash;
    }
    await trx
      .updateTable('audit_chain_heads')
      .set({ hash: prev, head_mac: authentic ? this.seal.head(orgId, seq, prev) : UNAUTHENTICATED })
      .where('org_id', '=', orgId)
      .execute();
    return rows;
  }

  /** Makes the org's head if it has none, as its next append would (reseal.ts seals it then). */
  async ensureHead(trx: Executor, orgId: string): Promise<void> {
    const head = await trx
      .selectFrom('audit_chain_heads')
      .select('org_id')
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (!head) await this.#createHead(trx, orgId);
  }

  /**
   * The head of an org that has none. An org's first append makes it: a sealed genesis head. An org that
   * has events but no head had its head deleted behind the server's back: the new head takes the newest
   * event's place, so appending goes on, but it is unauthenticated, so `verify` keeps reporting it.
   */
  async #createHead(trx: Executor, orgId: string): Promise<void> {
    const newest = await newestLink(trx, orgId);
    if (!newest) {
      const genesis = this.genesis(orgId);
      await trx
        .insertInto('audit_chain_heads')
        .values({
          org_id: orgId,
          seq: 0,
          hash: genesis,
          head_mac: this.seal.head(orgId, 0, genesis),
          purged_through_seq: 0,
          purged_through_hash: genesis,
          purged_mac: this.seal.purgeMarker(orgId, 0, genesis),
          digested_seq: 0,
        })
        .onConflict((oc) => oc.column('org_id').doNothing())
        .execute();
      return;
    }
    const oldest = (await oldestLink(trx, orgId)) as { seq: number; prevHash: string };
    const inserted = await trx
      .insertInto('audit_chain_heads')
      .values({
        org_id: orgId,
        seq: Number(newest.seq),
        hash: newest.hash,
        head_mac: UNAUTHENTICATED,
        purged_through_seq: oldest.seq - 1,
        purged_through_hash: oldest.prevHash,
        purged_mac: UNAUTHENTICATED,
        digested_seq: 0,
      })
      .onConflict((oc) => oc.column('org_id').doNothing())
      .executeTakeFirst();
    // Another append may have made the head a moment ago (its events are what this one saw).
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) {
      this.#onUnauthenticatedHead?.(orgId, newest);
    }
  }

  /**
   * Checks an org's whole chain, oldest first: the head and the purge marker must be authentic, every
   * event in its place, linked and unaltered, and the last one the event the head names. Given a digest,
   * the chain must also still hold the event it names, with its hash, so nothing it covers is gone.
   * `first_bad` is the first event whose place, link or content is wrong; when events are missing after
   * the last one (the newest were deleted), it is that last event; `head` when the head row is at fault.
   */
  async verify(db: Executor, orgId: string, digest?: DigestPoint): Promise<Verdict> {
    const head = await db
      .selectFrom('audit_chain_heads')
      .selectAll()
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    const headSeq = Number(head?.seq ?? 0);
    const fail = (reason: VerifyReason, firstBad: string, checked = 0): Verdict => ({
      ok: false,
      checked,
      first_bad: firstBad,
      reason,
      head_seq: headSeq,
    });
    if (!head) {
      if (await hasEvents(db, orgId)) return fail('head_missing', 'head');
      // No head and no events: an org with an empty log, or one whose whole log was deleted. Only a digest
      // taken before tells them apart.
      if (digest) return fail('head_behind_digest', 'head');
      return { ok: true, checked: 0, first_bad: null, reason: null, head_seq: 0 };
    }
    // The anchors first: the walk starts at the marker and must end at the head, so both must be authentic
    // before either is trusted.
    if (!this.seal.isHead(orgId, headSeq, head.hash, head.head_mac))
      return fail('head_unauthenticated', 'head');
    const markerSeq = Number(head.purged_through_seq);
    if (!this.seal.isPurgeMarker(orgId, markerSeq, head.purged_through_hash, head.purged_mac)) {
      return fail('purge_marker_unauthenticated', 'head');
    }
    if (digest && digest.seq > headSeq) return fail('head_behind_digest', 'head');
    // Retention cut the chain exactly at the digest's event: the marker kept its hash.
    if (digest && digest.seq === markerSeq && digest.hash !== head.purged_through_hash) {
      return fail('digest_hash_mismatch', 'head');
    }
    // Nothing may sit before where retention cut the chain: such a row was put there.
    const planted = await linkAtOrBefore(db, orgId, markerSeq);
    if (planted) return fail('event_before_purge_marker', planted);
    let expectedSeq = markerSeq + 1;
    let prev = head.purged_through_hash;
    let checked = 0;
    let lastId: string | null = null;
    for await (const link of chainLinks(db, orgId, markerSeq)) {
      checked += linkSize(link);
      const intact = link.seqFirst === expectedSeq && link.row.prev_hash === prev && this.isIntact(link);
      if (!intact) return fail('event_invalid', linkId(link), checked);
      // A whole chain rewritten under the master key verifies on its own; the digest's hash does not. A
      // digest names a head, which is always a link's end: one inside a segment was not made from this chain.
      if (
        digest &&
        digest.seq >= link.seqFirst &&
        digest.seq <= link.seqLast &&
        (digest.seq !== link.seqLast || link.row.hash !== digest.hash)
      ) {
        return fail('digest_hash_mismatch', linkId(link), checked);
      }
      prev = link.row.hash;
      lastId = linkLastId(link);
      expectedSeq = link.seqLast + 1;
    }
    if (headSeq !== expectedSeq - 1 || head.hash !== prev)
      return fail('head_mismatch', lastId ?? 'head', checked);
    return { ok: true, checked, first_bad: null, reason: null, head_seq: headSeq };
  }
}
