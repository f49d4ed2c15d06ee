/**
 * Audit segments (issue 20): the API-call events of one org's flush (COHERA_AUDIT_API_CALLS) stored as one
 * row, one link of the org's chain that covers a run of sequence numbers. One event per API call as its own
 * row cost a b-tree insert into two indexes and an HMAC per call, about a third of the request itself; a
 * segment costs one insert and one HMAC per flush, of its events compressed (about a sixteenth of their
 * JSON, which the database then writes twice, to its log and to its file). The columns beside `events` say
 * what the segment holds
 * (its ids, times, actors, failures) so that listing can skip segments without opening them; the MAC covers
 * every column, so none of them can be changed unnoticed.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

export function auditSegments(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      let segments = db.schema
        .createTable('audit_segments')
        .addColumn('org_id', id, (c) => c.notNull())
        .addColumn('seq_first', 'integer', (c) => c.notNull())
        .addColumn('seq_last', 'integer', (c) => c.notNull())
        .addColumn('id_first', id, (c) => c.notNull())
        .addColumn('id_last', id, (c) => c.notNull())
        .addColumn('at_first', 'text', (c) => c.notNull())
        .addColumn('at_last', 'text', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('actor_ids', 'text', (c) => c.notNull())
        .addColumn('events', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_segments_pk', ['org_id', 'seq_last']);
      if (dialect === 'sqlite') segments = segments.modifyEnd(sql`without rowid`);
      await segments.execute();
      // Listing walks an org's segments newest first by their newest event's id.
      await db.schema
        .createIndex('audit_segments_list')
        .on('audit_segments')
        .columns(['org_id', 'id_last'])
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('migration 0016-audit-segments cannot be reverted');
    },
  };
}
