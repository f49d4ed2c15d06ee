/**
 * `cohera admin audit-reseal`: the operator's way back to a verifiable chain once an anchor fails its MAC.
 * The server never seals an anchor it found unauthenticated (an append after a rolled-back head would
 * otherwise make the rollback authentic), so an org stays `head_unauthenticated` or
 * `purge_marker_unauthenticated` until someone who holds the master key decides: after investigating a
 * tampered head or marker, or after a master-key change (no anchor's MAC matches the new key).
 *
 * It seals the head and the purge marker as they stand, under the current master key, and records
 * `audit.chain_resealed` with what it found, in the same transaction: the reseal is in the log itself, and
 * in the next digest. With `dropUnverifiable` it first deletes the oldest events whose hash fails under the
 * current key (those written under an earlier master key) up to the first that verifies, and moves the
 * purge marker past them: retention cannot do that itself, since it cannot trust an unverifiable event's
 * time. Export the log first; nothing else is deleted or changed.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../storage/schema.ts';
import { chainLinks, deleteThrough, hasEvents } from './links.ts';
import type { AuditLog } from './log.ts';

export interface ResealResult {
  org_id: string;
  head: { seq: number; was_authentic: boolean };
  purge_marker: { seq: number; was_authentic: boolean };
  /** The oldest events deleted for failing their hash (with `dropUnverifiable`). */
  dropped_events: number;
}

/** Reseals one org's chain; null when the org has no audit log at all (no head, no events). */
export async function resealAuditChain(
  db: Kysely<DB>,
  audit: AuditLog,
  orgId: string,
  options: { dropUnverifiable?: boolean } = {},
): Promise<ResealResult | null> {
  const { chain } = audit;
  return db.transaction().execute(async (trx) => {
    const anyEvent = await hasEvents(trx, orgId);
    const anyHead = await trx
      .selectFrom('audit_chain_heads')
      .select('org_id')
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (!anyEvent && !anyHead) return null;
    await chain.ensureHead(trx, orgId);
    // The no-op update takes the head's lock, as an append does, for the rest of the transaction.
    const head = await trx
      .updateTable('audit_chain_heads')
      .set((eb) => ({ seq: eb.ref('seq') }))
      .where('org_id', '=', orgId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const headSeq = Number(head.seq);
    let markerSeq = Number(head.purged_through_seq);
    let markerHash = head.purged_through_hash;
    const result: ResealResult = {
      org_id: orgId,
      head: { seq: headSeq, was_authentic: chain.seal.isHead(orgId, headSeq, head.hash, head.head_mac) },
      purge_marker: {
        seq: markerSeq,
        was_authentic: chain.seal.isPurgeMarker(orgId, markerSeq, markerHash, head.purged_mac),
      },
      dropped_events: 0,
    };
    if (options.dropUnverifiable) {
      const last = await lastOfUnverifiablePrefix(trx, audit, orgId, markerSeq);
      if (last) {
        result.dropped_events = await deleteThrough(trx, orgId, last.seq);
        markerSeq = last.seq;
        markerHash = last.hash;
      }
    }
    await trx
      .updateTable('audit_chain_heads')
      .set({
        head_mac: chain.seal.head(orgId, headSeq, head.hash),
        purged_through_seq: markerSeq,
        purged_through_hash: markerHash,
        purged_mac: chain.seal.purgeMarker(orgId, markerSeq, markerHash),
      })
      .where('org_id', '=', orgId)
      .execute();
    await audit.record(trx, {
      orgId,
      actor: { kind: 'operator', id: 'cli' },
      action: 'audit.chain_resealed',
      target: { kind: 'org', id: orgId },
      metadata: {
        head: result.head,
        purge_marker: result.purge_marker,
        dropped_events: result.dropped_events,
      },
    });
    return result;
  });
}

/**
 * The end of the oldest links (from after the marker) whose hash fails, before the first that verifies: an
 * event, or a segment of API-call events.
 */
async function lastOfUnverifiablePrefix(
  trx: Transaction<DB>,
  audit: AuditLog,
  orgId: string,
  markerSeq: number,
): Promise<{ seq: number; hash: string } | null> {
  let last: { seq: number; hash: string } | null = null;
  for await (const link of chainLinks(trx, orgId, markerSeq)) {
    if (audit.chain.isIntact(link)) return last;
    last = { seq: link.seqLast, hash: link.row.hash };
  }
  return last;
}
