/**
 * Organization usage: daily counters of every authenticated request of an org in one mode, whatever the
 * credential (API keys, service-account and OAuth tokens, dashboard sessions), for the dashboard's charts.
 * Like `api_key_usage`, rows are written in batches by the usage recorder and summed with an upsert, so
 * several nodes can flush at once. No foreign key to `orgs`: a flush is one transaction, and a row it could not
 * write would fail that flush and every retry of it. The primary key starts with the org and mode, which is
 * the one query (an org's days in a mode), so it needs no other index.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

export function orgUsage(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('org_usage')
        .addColumn('org_id', id, (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('date', 'text', (c) => c.notNull())
        .addColumn('requests', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('errors', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('rate_limited', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('org_usage_pk', ['org_id', 'mode', 'date'])
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('migration 0007-org-usage cannot be reverted');
    },
  };
}
