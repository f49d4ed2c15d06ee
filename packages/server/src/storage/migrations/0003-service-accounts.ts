/**
 * Service accounts and their public keys. The server never stores a private key: a generated key pair's
 * private half is returned once in `service-account.json`; an uploaded key was never seen at all.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

export function serviceAccounts(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('service_accounts')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_by_kind', 'text', (c) => c.notNull())
        .addColumn('created_by_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .execute();
      await db.schema
        .createIndex('service_accounts_tenant')
        .on('service_accounts')
        .columns(['org_id', 'mode', 'id'])
        .execute();
      await db.schema
        .createTable('service_account_keys')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('service_account_id', id, (c) =>
          c.notNull().references('service_accounts.id').onDelete('cascade'),
        )
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('deleted_at', 'text')
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema
        .createIndex('service_account_keys_account')
        .on('service_account_keys')
        .columns(['service_account_id', 'id'])
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('migration 0003-service-accounts cannot be reverted');
    },
  };
}
