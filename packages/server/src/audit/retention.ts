/**
 * Retention (COHERA_AUDIT_RETENTION_DAYS): events older than the retention period are deleted, oldest
 * first, per org. The chain stays verifiable: in the same transaction the head records the last deleted
 * event's sequence number and hash, where verification then starts.
 */
import type { Kysely } from 'kysely';
import { isoAt } from '../clock.ts';
import type { DB } from '../storage/schema.ts';

const DAY_MS = 86_400_000;

/** Deletes what is past retention; returns how many events were deleted. */
export async function purgeAuditEvents(db: Kysely<DB>, retentionDays: number, now: number): Promise<number> {
  const cutoff = isoAt(now - retentionDays * DAY_MS);
  const orgs = await db
    .selectFrom('audit_events')
    .select('org_id')
    .where('at', '<', cutoff)
    .groupBy('org_id')
    .execute();
  let deleted = 0;
  for (const { org_id: orgId } of orgs) {
    deleted += await db.transaction().execute(async (trx) => {
      // Taking the head's lock first (a no-op update) keeps an append from interleaving with the cut.
      await trx
        .updateTable('audit_chain_heads')
        .set((eb) => ({ seq: eb.ref('seq') }))
        .where('org_id', '=', orgId)
        .execute();
      // The cut is at the newest expired event: everything up to it goes, in chain order.
      const last = await trx
        .selectFrom('audit_events')
        .select(['seq', 'hash'])
        .where('org_id', '=', orgId)
        .where('at', '<', cutoff)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!last) return 0;
      const result = await trx
        .deleteFrom('audit_events')
        .where('org_id', '=', orgId)
        .where('seq', '<=', Number(last.seq))
        .executeTakeFirst();
      await trx
        .updateTable('audit_chain_heads')
        .set({ purged_through_seq: Number(last.seq), purged_through_hash: last.hash })
        .where('org_id', '=', orgId)
        .execute();
      return Number(result.numDeletedRows);
    });
  }
  return deleted;
}
