/**
 * Webhooks (DESIGN §5.5): endpoints, the outbox of messages (one row per event, written in the transaction
 * of the change that caused it), and one delivery row per message × endpoint, which the delivery workers of
 * every node claim with a lease. The UNIQUE (org_id, dedupe_key) is what makes a time-based event produced
 * once however many nodes scan: NULL keys are distinct on both engines, so ordinary events never collide.
 * Endpoint secrets are AES-256-GCM sealed under the master key (the server must sign with them).
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

export function webhooks(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('webhook_endpoints')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('disabled_reason', 'text')
        .addColumn('secret_sealed', 'text', (c) => c.notNull())
        .addColumn('previous_secret_sealed', 'text')
        .addColumn('previous_secret_expires_at', 'text')
        .addColumn('failing_since', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webhook_endpoints_tenant')
        .on('webhook_endpoints')
        .columns(['org_id', 'mode', 'status'])
        .execute();

      await db.schema
        .createTable('webhook_messages')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('dedupe_key', 'text')
        .addUniqueConstraint('webhook_messages_dedupe', ['org_id', 'dedupe_key'])
        .execute();
      await db.schema
        .createIndex('webhook_messages_tenant')
        .on('webhook_messages')
        .columns(['org_id', 'mode', 'created_at'])
        .execute();
      // Retention (webhooks/retention.ts) deletes by age across tenants: a range scan, never a table scan.
      await db.schema
        .createIndex('webhook_messages_age')
        .on('webhook_messages')
        .column('created_at')
        .execute();

      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('endpoint_id', id, (c) =>
          c.notNull().references('webhook_endpoints.id').onDelete('cascade'),
        )
        .addColumn('message_id', id, (c) => c.notNull().references('webhook_messages.id').onDelete('cascade'))
        .addColumn('org_id', id, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text')
        .addColumn('last_attempt_at', 'text')
        .addColumn('last_response_status', 'integer')
        .addColumn('last_response_body', 'text')
        .addColumn('last_duration_ms', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('webhook_deliveries_pk', ['endpoint_id', 'message_id'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_due')
        .on('webhook_deliveries')
        .columns(['status', 'next_attempt_at'])
        .execute();
      // Deleting a message (retention) cascades here: without an index on message_id that is a full scan.
      await db.schema
        .createIndex('webhook_deliveries_message')
        .on('webhook_deliveries')
        .column('message_id')
        .execute();
      // The expiry scheduler (webhooks/scheduler.ts) pages through objects whose expires_at falls in a
      // window around now, on every node every interval: a range scan on these, never a table scan.
      await db.schema
        .createIndex('certificates_expiry')
        .on('certificates')
        .columns(['expires_at', 'id'])
        .execute();
      await db.schema.createIndex('api_keys_expiry').on('api_keys').columns(['expires_at', 'id']).execute();
    },
    async down(): Promise<void> {
      throw new Error('migration 0011-webhooks cannot be reverted');
    },
  };
}
