/**
 * Teams (issue 17, docs/team.md): invitations to join an org with a role, and the e-mail outbox the server
 * writes every message to before an SMTP sender (if one is configured) delivers it.
 *
 * An invitation keeps only the SHA-256 of its accept token (the link is the credential, like a session
 * cookie): a leaked database cannot be turned into accepted invitations. At most one pending invitation per
 * org and e-mail: re-inviting replaces it, and the partial-free UNIQUE index below is on
 * (org_id, email, pending_key), where `pending_key` is the e-mail while pending and the id once settled —
 * portable across SQLite and PostgreSQL without partial-index syntax differences.
 *
 * The outbox row holds the whole message (the accept link included): it *is* the message to send, and the
 * database is where secrets of this kind already live hashed or sealed; the log line never carries the link.
 * `memberships.role` has no CHECK constraint, so the new `viewer` role needs no change there.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

export function teams(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('invitations')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('pending_key', 'text', (c) => c.notNull())
        .addColumn('invited_by_kind', 'text', (c) => c.notNull())
        .addColumn('invited_by_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('accepted_at', 'text')
        .addColumn('accepted_by', 'text')
        .addColumn('revoked_at', 'text')
        .addUniqueConstraint('invitations_one_pending', ['org_id', 'pending_key'])
        .execute();
      await db.schema.createIndex('invitations_org').on('invitations').columns(['org_id', 'id']).execute();

      await db.schema
        .createTable('email_outbox')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('org_id', id)
        .addColumn('to', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text')
        .addColumn('last_error', 'text')
        .addColumn('lease_until', 'text')
        .execute();
      // The sender's scan: unsent messages that are due, oldest first.
      await db.schema
        .createIndex('email_outbox_due')
        .on('email_outbox')
        .columns(['sent_at', 'next_attempt_at'])
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('migration 0014-teams cannot be reverted');
    },
  };
}
