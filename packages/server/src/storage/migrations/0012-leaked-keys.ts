/**
 * Leaked keys (DESIGN §5.6, issue 16):
 *
 * - `api_keys.leaked_at`: when a leak of the key was first reported (the first report wins), and
 *   `api_keys.revoked_reason`: why a revoked key was revoked (`requested` by its owner, or `leaked`). Keys
 *   revoked before this migration were all revoked by request, so they get `requested`.
 * - `orgs.leaked_key_action`: what a reported leak does to a key of the org, `revoke` (the default) or
 *   `notify` (mark it, audit it, send the webhook, and leave it working).
 * - `leak_reports`: the queue between `POST /v1/credentials/revoke` and the leak worker. It holds only the
 *   SHA-256 of each reported candidate (the same hash `api_keys` stores), never the string: a table of
 *   reported keys in the clear would be exactly the leak the endpoint exists to close. The hash is the
 *   primary key, so a key reported many times before the worker runs is one row.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

export function leakedKeys(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('api_keys').addColumn('leaked_at', 'text').execute();
      await db.schema.alterTable('api_keys').addColumn('revoked_reason', 'text').execute();
      await sql`update api_keys set revoked_reason = 'requested' where revoked_at is not null`.execute(db);
      await db.schema
        .alterTable('orgs')
        .addColumn('leaked_key_action', 'text', (c) => c.notNull().defaultTo('revoke'))
        .execute();
      await db.schema
        .createTable('leak_reports')
        .addColumn('key_hash', id, (c) => c.primaryKey())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('request_id', 'text')
        .addColumn('received_at', 'text', (c) => c.notNull())
        .execute();
      // The worker takes the oldest reports first.
      await db.schema.createIndex('leak_reports_age').on('leak_reports').column('received_at').execute();
    },
    async down(): Promise<void> {
      throw new Error('migration 0012-leaked-keys cannot be reverted');
    },
  };
}
