/**
 * The audit log: events in one HMAC chain per org (each event's `hash` covers the previous event's), the
 * chain's head (its newest sequence number and hash, and where retention last cut it), and which scopes each
 * API key actually used (for the least-privilege check of the security report).
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

export function audit(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // Keyed by its place in the chain: one b-tree for the table (WITHOUT ROWID on SQLite) and one index
      // for listing, the least an insert can maintain; an event is written for every API call under
      // COHERA_AUDIT_API_CALLS=all. Ids are 80 random bits apart within a millisecond, so they need no
      // unique index of their own.
      let events = db.schema
        .createTable('audit_events')
        .addColumn('id', id, (c) => c.notNull())
        .addColumn('org_id', id, (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor_kind', 'text', (c) => c.notNull())
        .addColumn('actor_id', id, (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target_kind', 'text')
        .addColumn('target_id', id)
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('request_id', 'text')
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_events_pk', ['org_id', 'seq']);
      if (dialect === 'sqlite') events = events.modifyEnd(sql`without rowid`);
      await events.execute();
      await db.schema.createIndex('audit_events_list').on('audit_events').columns(['org_id', 'id']).execute();

      await db.schema
        .createTable('audit_chain_heads')
        .addColumn('org_id', id, (c) => c.primaryKey())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('purged_through_seq', 'integer', (c) => c.notNull())
        .addColumn('purged_through_hash', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('api_key_scope_usage')
        .addColumn('key_id', id, (c) => c.notNull())
        .addColumn('org_id', id, (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('api_key_scope_usage_pk', ['key_id', 'scope'])
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('migration 0005-audit cannot be reverted');
    },
  };
}
