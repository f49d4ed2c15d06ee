/**
 * The e-mails of team management (docs/team.md#e-mail), queued in the change's transaction through the
 * outbox (email/outbox.ts). Plain text: nothing in them is rendered as HTML by us.
 */
import type { Transaction } from 'kysely';
import { apiTime } from '../clock.ts';
import { type EmailLog, enqueueEmail } from '../email/outbox.ts';
import type { DB, InvitationsTable, Role } from '../storage/schema.ts';

export interface NoticeContext {
  trx: Transaction<DB>;
  now: number;
  log: EmailLog;
  smtpConfigured: boolean;
  orgId: string;
  orgName: string;
}

const ROLE_WORDS: Record<Role, string> = {
  owner: 'owner (everything, including managing owners)',
  admin: 'admin (everything except managing owners)',
  member: 'member (read and write data, manage your own API keys)',
  viewer: 'viewer (read data)',
};

/** The invitation e-mail; the token appears only in the link, and is redacted from the log line. */
export function queueInvitation(
  context: NoticeContext,
  invitation: InvitationsTable,
  acceptUrl: string,
  token: string,
): Promise<string> {
  const text = [
    `You have been invited to join ${context.orgName} on Cohera as ${ROLE_WORDS[invitation.role]}.`,
    '',
    'Accept the invitation here (the link works once):',
    acceptUrl,
    '',
    `It expires on ${apiTime(invitation.expires_at)}. If you did not expect it, ignore this message.`,
  ].join('\n');
  return enqueueEmail(
    context.trx,
    {
      to: invitation.email,
      subject: `You are invited to join ${context.orgName} on Cohera`,
      text,
      orgId: context.orgId,
      secrets: [token],
    },
    context.now,
    context.log,
    context.smtpConfigured,
  );
}

export function queueRoleChanged(
  context: NoticeContext,
  email: string,
  from: Role,
  to: Role,
): Promise<string> {
  return enqueueEmail(
    context.trx,
    {
      to: email,
      subject: `Your role in ${context.orgName} changed`,
      text: `Your role in ${context.orgName} on Cohera changed from ${from} to ${ROLE_WORDS[to]}.\n\nAPI keys you created now act with at most what the new role allows.`,
      orgId: context.orgId,
    },
    context.now,
    context.log,
    context.smtpConfigured,
  );
}

export function queueRemoved(context: NoticeContext, email: string): Promise<string> {
  return enqueueEmail(
    context.trx,
    {
      to: email,
      subject: `You were removed from ${context.orgName}`,
      text: `You are no longer a member of ${context.orgName} on Cohera. Your sessions there, the apps you authorized there and the API keys you created there have ended.`,
      orgId: context.orgId,
    },
    context.now,
    context.log,
    context.smtpConfigured,
  );
}
