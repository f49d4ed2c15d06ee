/**
 * OAuth 2.0: registered clients, the protocol engine's artefacts (codes, tokens, grants, sessions,
 * interactions), the authorizations users gave, and the server's own token-signing keys. Client secrets are
 * stored as SHA-256 hashes; signing keys' private halves are AES-256-GCM encrypted under the master key.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

export function oauth(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('oauth_clients')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('client_type', 'text', (c) => c.notNull())
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text')
        .addColumn('secret_last4', 'text')
        .addColumn('previous_secret_hash', 'text')
        .addColumn('previous_secret_expires_at', 'text')
        .addColumn('created_by_kind', 'text', (c) => c.notNull())
        .addColumn('created_by_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .execute();
      await db.schema
        .createIndex('oauth_clients_tenant')
        .on('oauth_clients')
        .columns(['org_id', 'mode', 'id'])
        .execute();

      await db.schema
        .createTable('oauth_artifacts')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('id', id, (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('grant_id', id)
        .addColumn('uid', id)
        .addColumn('user_code', 'text')
        .addColumn('expires_at', 'text')
        .addColumn('consumed_at', 'text')
        .addPrimaryKeyConstraint('oauth_artifacts_pk', ['model', 'id'])
        .execute();
      await db.schema.createIndex('oauth_artifacts_grant').on('oauth_artifacts').column('grant_id').execute();
      await db.schema
        .createIndex('oauth_artifacts_uid')
        .on('oauth_artifacts')
        .columns(['model', 'uid'])
        .execute();
      await db.schema
        .createIndex('oauth_artifacts_expiry')
        .on('oauth_artifacts')
        .column('expires_at')
        .execute();

      await db.schema
        .createTable('oauth_authorizations')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('user_id', id, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('client_id', id, (c) => c.notNull().references('oauth_clients.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('grant_id', id, (c) => c.notNull().unique())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createIndex('oauth_authorizations_user')
        .on('oauth_authorizations')
        .columns(['user_id', 'org_id', 'id'])
        .execute();

      await db.schema
        .createTable('oauth_signing_keys')
        .addColumn('kid', id, (c) => c.primaryKey())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_jwk_encrypted', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('retired_at', 'text')
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('migration 0004-oauth cannot be reverted');
    },
  };
}
