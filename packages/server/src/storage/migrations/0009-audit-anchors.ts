/**
 * Authenticated chain anchors (issue 14): each audit chain head gets a MAC of where the chain ends
 * (`head_mac`) and of where retention cut it (`purged_mac`), and `digested_seq`, the head's `seq` at the
 * last signed digest any node made of it (audit/head-seal.ts, audit/digest-emitter.ts).
 *
 * Existing heads are sealed here, as they stand, so an installation that upgrades keeps verifying. Here
 * and nowhere else: a server that sealed whatever unsealed head it found at start-up would seal a head
 * that someone had set back and stripped of its MAC. A migration runs once (run again, it would fail on
 * the columns it adds), so this is the one moment an unsealed head is trusted. Sealing needs the master
 * key; a database with heads and no key given fails here, and the server, which always gives it, applies
 * the migration instead.
 */
import type { Kysely } from 'kysely';
import { ChainHeadSeal } from '../../audit/head-seal.ts';
import type { Dialect } from '../database.ts';
import type { DB } from '../schema.ts';

export function auditAnchors(_dialect: Dialect, masterKey?: Buffer) {
  return {
    async up(unknownDb: Kysely<unknown>): Promise<void> {
      // SQLite adds one column per ALTER TABLE; the default is what lets NOT NULL apply to rows already there.
      for (const column of ['head_mac', 'purged_mac']) {
        await unknownDb.schema
          .alterTable('audit_chain_heads')
          .addColumn(column, 'text', (c) => c.notNull().defaultTo(''))
          .execute();
      }
      await unknownDb.schema
        .alterTable('audit_chain_heads')
        .addColumn('digested_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      // The columns exist now: typed from here on.
      const db = unknownDb as unknown as Kysely<DB>;
      const heads = await db
        .selectFrom('audit_chain_heads')
        .select(['org_id', 'seq', 'hash', 'purged_through_seq', 'purged_through_hash'])
        .orderBy('org_id')
        .execute();
      // digested_seq 0: every chain with events gets a digest at the first round after the upgrade.
      if (heads.length === 0) return;
      if (!masterKey) {
        throw new Error(
          'sealing the existing audit chain heads needs the master key: start the server (or any `cohera admin` ' +
            'command) with its usual configuration to apply this migration',
        );
      }
      const seal = new ChainHeadSeal(masterKey);
      for (const head of heads) {
        await db
          .updateTable('audit_chain_heads')
          .set({
            head_mac: seal.head(head.org_id, Number(head.seq), head.hash),
            purged_mac: seal.purgeMarker(
              head.org_id,
              Number(head.purged_through_seq),
              head.purged_through_hash,
            ),
          })
          .where('org_id', '=', head.org_id)
          .execute();
      }
    },
    async down(): Promise<void> {
      throw new Error('migration 0009-audit-anchors cannot be reverted');
    },
  };
}
