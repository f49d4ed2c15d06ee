/**
 * API-key lifecycle: roll lineage and daily usage counters. Usage rows are written in batches by the usage
 * recorder (never one write per request) and summed with an upsert, so several nodes can flush at once.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

export function apiKeyLifecycle(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('api_keys').addColumn('rolled_from_id', id).execute();
      await db.schema
        .createTable('api_key_usage')
        .addColumn('key_id', id, (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
        .addColumn('org_id', id, (c) => c.notNull())
        .addColumn('date', 'text', (c) => c.notNull())
        .addColumn('requests', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('errors', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('rate_limited', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('api_key_usage_pk', ['key_id', 'date'])
        .execute();
      await db.schema
        .createIndex('api_key_usage_org')
        .on('api_key_usage')
        .columns(['org_id', 'date'])
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('migration 0002-api-key-lifecycle cannot be reverted');
    },
  };
}
