/**
 * The e-mail outbox (docs/team.md#e-mail): every message the server would send is written here, in the
 * transaction of the change it tells about (an invitation, a role change, a removal), and to the log. An SMTP
 * sender (sender.ts), when `COHERA_SMTP_URL` is set, delivers what is here; without one the messages stay
 * here and in the log, so an operator can still see what would have gone out.
 *
 * The row holds the whole message, links included: it is the message. The log is not a secret store, so
 * the log line replaces every secret the caller names (an invitation's accept token) with `[redacted]`.
 */
import { newId } from '@cohera/shared';
import type { Kysely, Transaction } from 'kysely';
import { isoAt } from '../clock.ts';
import type { DB } from '../storage/schema.ts';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  /** The org the message is about, if any (the outbox is the operator's, not an org's). */
  orgId?: string | null;
  /** Substrings of `text` that must never reach a log (tokens inside links). */
  secrets?: readonly string[];
}

export interface EmailLog {
  info(details: Record<string, unknown>, message: string): void;
}

/** The message's text with every named secret replaced, for the log. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let redacted = text;
  for (const secret of secrets) if (secret.length > 0) redacted = redacted.replaceAll(secret, '[redacted]');
  return redacted;
}

/**
 * Queues a message in the caller's transaction and logs it (secrets redacted). `smtpConfigured` only
 * changes what the log line says: with no relay, it says how to connect one.
 */
export async function enqueueEmail(
  db: Kysely<DB> | Transaction<DB>,
  email: OutgoingEmail,
  now: number,
  log: EmailLog,
  smtpConfigured: boolean,
): Promise<string> {
  const id = newId('email', now);
  await db
    .insertInto('email_outbox')
    .values({
      id,
      org_id: email.orgId ?? null,
      to: email.to,
      subject: email.subject,
      text: email.text,
      created_at: isoAt(now),
      sent_at: null,
      attempts: 0,
      next_attempt_at: null,
      last_error: null,
      lease_until: null,
    })
    .execute();
  log.info(
    {
      event: 'email_queued',
      email_id: id,
      to: email.to,
      subject: email.subject,
      text: redactSecrets(email.text, email.secrets),
    },
    smtpConfigured
      ? 'e-mail queued for SMTP delivery'
      : 'e-mail kept in the outbox (table email_outbox): set COHERA_SMTP_URL (and COHERA_SMTP_FROM) to deliver it',
  );
  return id;
}
