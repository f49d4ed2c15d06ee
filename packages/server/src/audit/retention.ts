/**
 * Retention (COHERA_AUDIT_RETENTION_DAYS): events older than the retention period are deleted, oldest
 * first, per org; a segment of API-call events (segments.ts) goes once its newest event is that old. The chain stays verifiable: in the same transaction the head records the last deleted
 * event's sequence number and hash, where verification then starts, and seals that purge marker with its
 * MAC (head-seal.ts), so a marker moved by anyone else is found.
 *
 * Retention never seals over evidence. It leaves an org alone when the marker it would move fails its
 * MAC (moving it would make a forged marker authentic), or when the event it would cut at fails its hash
 * (its `at`, which decides what is old, could have been set back to have recent events deleted).
 */
import type { Kysely } from 'kysely';
import { isoAt } from '../clock.ts';
import type { DB } from '../storage/schema.ts';
import type { AuditChain } from './chain.ts';
import { type ChainLink, deleteThrough, eventLink, segmentLink } from './links.ts';

const DAY_MS = 86_400_000;

/** Why retention left an org's events alone. */
export type RetentionRefusal = 'purge_marker_unauthenticated' | 'cut_event_invalid';

/** Deletes what is past retention; returns how many events were deleted. */
export async function purgeAuditEvents(
  db: Kysely<DB>,
  chain: AuditChain,
  retentionDays: number,
  now: number,
  onRefused?: (orgId: string, reason: RetentionRefusal) => void,
): Promise<number> {
  const cutoff = isoAt(now - retentionDays * DAY_MS);
  const orgs = new Set<string>();
  for (const { org_id } of await db
    .selectFrom('audit_events')
    .select('org_id')
    .where('at', '<', cutoff)
    .groupBy('org_id')
    .execute())
    orgs.add(org_id);
  for (const { org_id } of await db
    .selectFrom('audit_segments')
    .select('org_id')
    .where('at_last', '<', cutoff)
    .groupBy('org_id')
    .execute())
    orgs.add(org_id);
  let deleted = 0;
  for (const orgId of [...orgs].sort()) {
    deleted += await db.transaction().execute(async (trx) => {
      // Taking the head's lock first (a no-op update) keeps an append from interleaving with the cut.
      const head = await trx
        .updateTable('audit_chain_heads')
        .set((eb) => ({ seq: eb.ref('seq') }))
        .where('org_id', '=', orgId)
        .returning(['purged_through_seq', 'purged_through_hash', 'purged_mac'])
        .executeTakeFirst();
      if (!head) return 0; // events with no head: `verify` reports it; nothing here may hide it
      const marker = chain.seal.isPurgeMarker(
        orgId,
        Number(head.purged_through_seq),
        head.purged_through_hash,
        head.purged_mac,
      );
      if (!marker) {
        onRefused?.(orgId, 'purge_marker_unauthenticated');
        return 0;
      }
      // The cut is at the newest expired link: everything up to it goes, in chain order.
      const event = await trx
        .selectFrom('audit_events')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('at', '<', cutoff)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const segment = await trx
        .selectFrom('audit_segments')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('at_last', '<', cutoff)
        .orderBy('seq_last', 'desc')
        .limit(1)
        .executeTakeFirst();
      const candidates: ChainLink[] = [];
      if (event) candidates.push(eventLink(event));
      if (segment) candidates.push(segmentLink(segment));
      const last = candidates.sort((a, b) => b.seqLast - a.seqLast)[0];
      if (!last) return 0;
      if (!chain.isIntact(last)) {
        onRefused?.(orgId, 'cut_event_invalid');
        return 0;
      }
      const cutSeq = last.seqLast;
      const removed = await deleteThrough(trx, orgId, cutSeq);
      await trx
        .updateTable('audit_chain_heads')
        .set({
          purged_through_seq: cutSeq,
          purged_through_hash: last.row.hash,
          purged_mac: chain.seal.purgeMarker(orgId, cutSeq, last.row.hash),
        })
        .where('org_id', '=', orgId)
        .execute();
      return removed;
    });
  }
  return deleted;
}
