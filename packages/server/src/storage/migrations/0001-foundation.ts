/**
 * Orgs, people, sessions, API keys and the supply-chain resources. Every tenant table leads its indexes
 * with (org_id, mode) because every query on it filters by the tenant first.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

/** Ids sort as bytes (base62 in ASCII order); PostgreSQL's default collation would not. */
function idType(dialect: Dialect) {
  return dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
}

export function foundation(dialect: Dialect) {
  const id = idType(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('orgs')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('tier', 'text', (c) => c.notNull())
        .addColumn('rate_limit_per_minute', 'integer')
        .addColumn('rate_limit_per_day', 'integer')
        .addColumn('max_key_lifetime_days', 'integer')
        .addColumn('key_rotation_days', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('users')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('memberships')
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('user_id', id, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['org_id', 'user_id'])
        .execute();
      await db.schema.createIndex('memberships_user').on('memberships').column('user_id').execute();

      await db.schema
        .createTable('sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('id', id, (c) => c.notNull().unique())
        .addColumn('user_id', id, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .execute();
      await db.schema.createIndex('sessions_expiry').on('sessions').column('expires_at').execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('last4', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_by_kind', 'text', (c) => c.notNull())
        .addColumn('created_by_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('last_used_at', 'text')
        .addColumn('last_used_ip', 'text')
        .addColumn('rate_limit_per_minute', 'integer')
        .execute();
      await db.schema
        .createIndex('api_keys_tenant')
        .on('api_keys')
        .columns(['org_id', 'mode', 'id'])
        .execute();

      await db.schema
        .createTable('suppliers')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('country', 'text', (c) => c.notNull())
        .addColumn('contact_email', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('suppliers_tenant')
        .on('suppliers')
        .columns(['org_id', 'mode', 'id'])
        .execute();

      await db.schema
        .createTable('products')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('sku', 'text', (c) => c.notNull())
        .addColumn('supplier_id', id, (c) => c.notNull().references('suppliers.id'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('products_tenant')
        .on('products')
        .columns(['org_id', 'mode', 'id'])
        .execute();
      // A SKU names one product within a tenant; a duplicate is a 409, not a second row.
      await db.schema
        .createIndex('products_sku')
        .on('products')
        .columns(['org_id', 'mode', 'sku'])
        .unique()
        .execute();
      await db.schema.createIndex('products_supplier').on('products').column('supplier_id').execute();

      await db.schema
        .createTable('certificates')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('standard', 'text', (c) => c.notNull())
        .addColumn('number', 'text', (c) => c.notNull())
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('supplier_id', id, (c) => c.notNull().references('suppliers.id'))
        .addColumn('issued_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('certificates_tenant')
        .on('certificates')
        .columns(['org_id', 'mode', 'id'])
        .execute();
      await db.schema.createIndex('certificates_supplier').on('certificates').column('supplier_id').execute();

      await db.schema
        .createTable('certificate_products')
        .addColumn('org_id', id, (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('certificate_id', id, (c) => c.notNull().references('certificates.id').onDelete('cascade'))
        .addColumn('product_id', id, (c) => c.notNull().references('products.id'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('certificate_products_pk', ['certificate_id', 'product_id'])
        .execute();
      await db.schema
        .createIndex('certificate_products_product')
        .on('certificate_products')
        .column('product_id')
        .execute();
    },
    async down(): Promise<void> {
      // Forward-only: rolling back would drop customer data. Restore from a backup instead.
      throw new Error('migration 0001-foundation cannot be reverted');
    },
  };
}
