/**
 * Idempotent requests (`Idempotency-Key` on POST): one row per key per credential, claimed before the
 * handler runs and completed with the response it produced. The primary key is the whole identity
 * (tenant, the credential's principal, the key's hash), so two requests racing for one key are settled by
 * the constraint, never by a read-then-write check. The response body is sealed under the master key: a
 * replayed `POST /v1/api-keys` answer holds the new key.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

export function idempotency(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('org_id', id, (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('actor_kind', 'text', (c) => c.notNull())
        .addColumn('actor_id', id, (c) => c.notNull())
        .addColumn('key_hash', id, (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('content_type', 'text')
        .addColumn('response_body', 'text')
        .addPrimaryKeyConstraint('idempotency_keys_pk', [
          'org_id',
          'mode',
          'actor_kind',
          'actor_id',
          'key_hash',
        ])
        .execute();
      // The hourly purge deletes by expiry across all orgs; without this it would scan the table.
      await db.schema
        .createIndex('idempotency_keys_expiry')
        .on('idempotency_keys')
        .column('expires_at')
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('migration 0006-idempotency cannot be reverted');
    },
  };
}
