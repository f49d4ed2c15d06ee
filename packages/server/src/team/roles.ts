/**
 * Who may do what to whom in a team (docs/team.md#roles). Owners manage everyone; admins manage everyone
 * but owners (they can neither invite, promote to, demote from nor remove the owner role); members and
 * viewers manage nobody (the routes need `admin`).
 *
 * A bearer credential acts with at most the role of the person behind it, so an `admin` API key made by an
 * admin cannot do what only an owner may: a session carries its role; an OAuth token acts for its user; an
 * API key for the person at the root of its creator chain (api-keys/creator-ceiling.ts); a service account
 * (an org-owned robot) acts as an admin, never as an owner.
 */
import type { Kysely } from 'kysely';
import { creatorCeiling } from '../auth/api-keys/creator-ceiling.ts';
import type { AuthContext } from '../auth/context.ts';
import { ApiError } from '../http/errors.ts';
import type { DB, Role } from '../storage/schema.ts';

export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const satisfies readonly Role[];

async function roleOf(db: Kysely<DB>, orgId: string, userId: string): Promise<Role | null> {
  const row = await db
    .selectFrom('memberships')
    .select('role')
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.role ?? null;
}

/** The role the caller acts with; null when nobody in the org stands behind the credential any more. */
export async function actingRole(db: Kysely<DB>, auth: AuthContext): Promise<Role | null> {
  if (auth.role) return auth.role;
  if (auth.principal.kind === 'user') return roleOf(db, auth.orgId, auth.principal.id);
  if (auth.principal.kind === 'api_key') {
    const ceiling = await creatorCeiling(db, auth.orgId, auth.principal.id);
    if (ceiling.ended) return null;
    // A key whose root is a service account (or nothing) acts as an admin, like the account itself.
    return ceiling.userId === null ? 'admin' : roleOf(db, auth.orgId, ceiling.userId);
  }
  return 'admin';
}

/** Refuses (403) an action on the owner role by anyone but an owner. */
export async function requireOwnerFor(
  db: Kysely<DB>,
  auth: AuthContext,
  touchesOwner: boolean,
  what: string,
): Promise<void> {
  if (!touchesOwner) return;
  if ((await actingRole(db, auth)) === 'owner') return;
  throw new ApiError('forbidden', `Only an owner can ${what}`);
}
