/**
 * Changing a membership after it was created: a member's role in an org, or their leaving it. These two
 * functions are the only code that updates or deletes a `memberships` row (team management builds on
 * them), because each change must reach everything derived from the old membership on every node within a
 * second (DESIGN §5.3: "a demoted or removed member's tokens lose what they no longer hold within 1 s"):
 * - OAuth access tokens are verified once and then cached on each node with their scopes narrowed to the
 *   role of that moment (auth/oauth/token-verifier.ts): a `member` message on the invalidation bus,
 *   published after the commit, evicts them everywhere, and the next request re-reads the role;
 * - dashboard sessions are not cached: every request reads the role with the session
 *   (auth/sessions/store.ts, findSession), so a role change applies on the next request; removal also
 *   deletes the user's sessions in that org, so they end rather than merely fail;
 * - removal revokes the user's OAuth authorizations in that org (grants, codes, refresh tokens), so an app
 *   cannot keep refreshing for someone who left, nor come back to life if they are invited again.
 * API keys and service accounts a member created are not touched: their scopes were fixed when they were
 * created and do not follow their creator's role.
 *
 * Both are scoped by `orgId` (the tenant): a user's memberships of other orgs are never read or changed.
 */
import type { Kysely, Transaction } from 'kysely';
import { deleteGrantArtifacts } from '../auth/oauth/artifact-adapter.ts';
import { type Clock, isoAt } from '../clock.ts';
import type { InvalidationBus } from '../state/invalidation-bus.ts';
import { inTransaction } from '../storage/database.ts';
import type { DB, Role } from '../storage/schema.ts';

/** What a membership change needs (AppDeps has all three). */
export interface MembershipDeps {
  db: Kysely<DB>;
  /** Every node's caches hear of the change here, after it committed. */
  bus: InvalidationBus;
  clock: Clock;
}

/** One user in one org. */
export interface MemberRef {
  orgId: string;
  userId: string;
}

/** Runs inside the change's transaction (where a caller records its audit event); a throw undoes it all. */
export type AlsoInTransaction<Change> = (trx: Transaction<DB>, change: Change) => Promise<void>;

export interface RoleChange {
  previousRole: Role;
  role: Role;
}

export interface Removal {
  /** The role the user held when removed. */
  role: Role;
  sessionsEnded: number;
  authorizationsRevoked: number;
}

async function currentRole(trx: Transaction<DB>, member: MemberRef): Promise<Role | null> {
  const row = await trx
    .selectFrom('memberships')
    .select('role')
    .where('org_id', '=', member.orgId)
    .where('user_id', '=', member.userId)
    .executeTakeFirst();
  return row?.role ?? null;
}

/**
 * Gives a member another role in the org. Resolves to null when the user is not a member of that org.
 * Their cached OAuth tokens are evicted on every node (a demoted admin's token loses `admin` within a
 * second); their sessions act with the new role from their next request.
 */
export async function changeMemberRole(
  deps: MembershipDeps,
  member: MemberRef & { role: Role },
  alsoInTransaction?: AlsoInTransaction<RoleChange>,
): Promise<RoleChange | null> {
  const change = await inTransaction(deps.db, async (trx) => {
    const previousRole = await currentRole(trx, member);
    if (previousRole === null) return null;
    const result: RoleChange = { previousRole, role: member.role };
    if (previousRole !== member.role) {
      await trx
        .updateTable('memberships')
        .set({ role: member.role })
        .where('org_id', '=', member.orgId)
        .where('user_id', '=', member.userId)
        .execute();
    }
    await alsoInTransaction?.(trx, result);
    return result;
  });
  // Only after the commit: a node that re-verified a token between the eviction and the commit would
  // otherwise read the old role again and cache it.
  if (change && change.previousRole !== change.role) {
    await deps.bus.publish({ kind: 'member', orgId: member.orgId, userId: member.userId });
  }
  return change;
}

/**
 * Removes a user from the org: their membership, their dashboard sessions in that org and their OAuth
 * authorizations there end together, and their cached tokens are evicted on every node. Resolves to null
 * when the user is not a member of that org.
 */
export async function removeMember(
  deps: MembershipDeps,
  member: MemberRef,
  alsoInTransaction?: AlsoInTransaction<Removal>,
): Promise<Removal | null> {
  const now = isoAt(deps.clock.now());
  const removal = await inTransaction(deps.db, async (trx) => {
    const role = await currentRole(trx, member);
    if (role === null) return null;
    await trx
      .deleteFrom('memberships')
      .where('org_id', '=', member.orgId)
      .where('user_id', '=', member.userId)
      .execute();
    const sessions = await trx
      .deleteFrom('sessions')
      .where('org_id', '=', member.orgId)
      .where('user_id', '=', member.userId)
      .executeTakeFirst();
    const authorizations = await trx
      .selectFrom('oauth_authorizations')
      .select('grant_id')
      .where('org_id', '=', member.orgId)
      .where('user_id', '=', member.userId)
      .where('revoked_at', 'is', null)
      .execute();
    for (const { grant_id: grantId } of authorizations) await deleteGrantArtifacts(trx, grantId);
    await trx
      .updateTable('oauth_authorizations')
      .set({ revoked_at: now, updated_at: now })
      .where('org_id', '=', member.orgId)
      .where('user_id', '=', member.userId)
      .where('revoked_at', 'is', null)
      .execute();
    const result: Removal = {
      role,
      sessionsEnded: Number(sessions.numDeletedRows),
      authorizationsRevoked: authorizations.length,
    };
    await alsoInTransaction?.(trx, result);
    return result;
  });
  // One message covers every token of the user in the org, whichever grant it came from.
  if (removal) await deps.bus.publish({ kind: 'member', orgId: member.orgId, userId: member.userId });
  return removal;
}
