/**
 * Invitations (docs/team.md#invitations). The accept token is 256 random bits, sent only in the link;
 * the row keeps its SHA-256, looked up by hash like a session token (a lookup by a high-entropy hash
 * leaks nothing through timing). One pending invitation per org and e-mail: `pending_key` is the e-mail
 * while pending and the row's own id once it is accepted, revoked or replaced (a UNIQUE index backs it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { newId } from '@cohera/shared';
import type { Kysely, Transaction } from 'kysely';
import { isoAt } from '../clock.ts';
import type { DB, InvitationsTable, Role } from '../storage/schema.ts';

export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export function hashInvitationToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A token has exactly this shape (43 base64url characters); anything else is refused before any lookup. */
export const INVITATION_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface NewInvitation {
  orgId: string;
  email: string;
  role: Role;
  invitedBy: { kind: string; id: string };
}

/**
 * Creates an invitation, replacing (revoking) a pending one to the same e-mail in the org. Returns the row,
 * the plaintext token (for the link, once) and the id of the invitation it replaced.
 */
export async function createInvitation(
  trx: Transaction<DB>,
  input: NewInvitation,
  now: number,
): Promise<{ row: InvitationsTable; token: string; replaced: string | null }> {
  const previous = await trx
    .selectFrom('invitations')
    .select('id')
    .where('org_id', '=', input.orgId)
    .where('pending_key', '=', input.email)
    .executeTakeFirst();
  if (previous) {
    await trx
      .updateTable('invitations')
      .set({ revoked_at: isoAt(now), pending_key: previous.id })
      .where('id', '=', previous.id)
      .where('org_id', '=', input.orgId)
      .execute();
  }
  const token = randomBytes(32).toString('base64url');
  const row: InvitationsTable = {
    id: newId('invitation', now),
    org_id: input.orgId,
    email: input.email,
    role: input.role,
    token_hash: hashInvitationToken(token),
    pending_key: input.email,
    invited_by_kind: input.invitedBy.kind,
    invited_by_id: input.invitedBy.id,
    created_at: isoAt(now),
    expires_at: isoAt(now + INVITATION_TTL_MS),
    accepted_at: null,
    accepted_by: null,
    revoked_at: null,
  };
  await trx.insertInto('invitations').values(row).execute();
  return { row, token, replaced: previous?.id ?? null };
}

/** Pending (neither accepted nor revoked) invitations of an org, newest first; expired ones included. */
export async function listPendingInvitations(
  db: Kysely<DB>,
  orgId: string,
  page: { limit: number; after: string | null },
): Promise<InvitationsTable[]> {
  let query = db
    .selectFrom('invitations')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null);
  if (page.after) query = query.where('id', '<', page.after);
  return query
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

/** Revokes a pending invitation of the org; null when there is none with that id (or another org's). */
export async function revokeInvitation(
  trx: Transaction<DB>,
  orgId: string,
  id: string,
  now: number,
): Promise<InvitationsTable | null> {
  const result = await trx
    .updateTable('invitations')
    .set({ revoked_at: isoAt(now), pending_key: id })
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows !== 1n) return null;
  return (
    (await trx
      .selectFrom('invitations')
      .selectAll()
      .where('id', '=', id)
      .where('org_id', '=', orgId)
      .executeTakeFirst()) ?? null
  );
}

export async function findInvitationByToken(
  db: Kysely<DB> | Transaction<DB>,
  token: string,
): Promise<InvitationsTable | null> {
  if (!INVITATION_TOKEN.test(token)) return null;
  return (
    (await db
      .selectFrom('invitations')
      .selectAll()
      .where('token_hash', '=', hashInvitationToken(token))
      .executeTakeFirst()) ?? null
  );
}

/** Why an invitation cannot be accepted now, in words for its page; null when it can. */
export function invitationProblem(row: InvitationsTable | null, now: number): string | null {
  if (!row) return 'This invitation link is not valid. Check that you copied the whole link.';
  if (row.accepted_at !== null) return 'This invitation has already been used. Sign in to continue.';
  if (row.revoked_at !== null) return 'This invitation was withdrawn. Ask for a new one.';
  if (row.expires_at <= isoAt(now))
    return 'This invitation has expired (they last 7 days). Ask for a new one.';
  return null;
}

/**
 * Marks the invitation accepted, once: a conditional UPDATE that matches only while it is pending and
 * unexpired, so two concurrent accepts of one link cannot both join. False when it was not claimable.
 */
export async function claimInvitation(
  trx: Transaction<DB>,
  id: string,
  userId: string,
  now: number,
): Promise<boolean> {
  const result = await trx
    .updateTable('invitations')
    .set({ accepted_at: isoAt(now), accepted_by: userId, pending_key: id })
    .where('id', '=', id)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', isoAt(now))
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}
