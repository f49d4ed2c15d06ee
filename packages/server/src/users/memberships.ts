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
 * - API keys are capped by their creator's current role when verified (auth/api-keys/creator-ceiling.ts)
 *   and cached with that cap: the same `member` message evicts them, so a demotion narrows them within a
 *   second; removal revokes every key the person made in the org (and keys those keys made), in the
 *   removal's transaction, so they end rather than merely lose their scopes — and stay ended if the person
 *   is invited back.
 * Service accounts a member created are not touched: they belong to the org, and their scope ceiling was
 * checked against the creator when they were made (docs/team.md).
 *
 * The org keeps at least one owner: demoting or removing its last owner throws LastOwnerError, checked in
 * the change's transaction with the org's row locked (PostgreSQL), so two concurrent changes cannot each
 * see "another owner is left" and leave none.
 *
 * Both are scoped by `orgId` (the tenant): a user's memberships of other orgs are never read or changed.
 */
import type { Kysely, Transaction } from 'kysely';
import { deleteGrantArtifacts } from '../auth/oauth/artifact-adapter.ts';
import { type Clock, isoAt } from '../clock.ts';
import type { InvalidationBus } from '../state/invalidation-bus.ts';
import { inTransaction } from '../storage/database.ts';
import type { ApiKeysTable, DB, Role } from '../storage/schema.ts';

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
  /** The API keys the removal revoked (the user's, and keys those keys made), as they now are. */
  apiKeysRevoked: ApiKeysTable[];
}

/** The change would leave the org without an owner. */
export class LastOwnerError extends Error {
  constructor() {
    super('the organization must keep at least one owner');
    this.name = 'LastOwnerError';
  }
}

/**
 * Refuses a change that takes the owner role from `member` when nobody else holds it. The no-op UPDATE
 * takes the org row's lock on PostgreSQL, so concurrent owner changes of one org run one after the other
 * (SQLite runs one writer at a time anyway).
 */
async function keepAnOwner(trx: Transaction<DB>, member: MemberRef): Promise<void> {
  await trx
    .updateTable('orgs')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('id', '=', member.orgId)
    .execute();
  const others = await trx
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('count'))
    .where('org_id', '=', member.orgId)
    .where('role', '=', 'owner')
    .where('user_id', '!=', member.userId)
    .executeTakeFirstOrThrow();
  if (Number(others.count) === 0) throw new LastOwnerError();
}

/** The user's unrevoked keys in the org, and the unrevoked keys those keys made, transitively. */
async function keysMadeBy(trx: Transaction<DB>, member: MemberRef): Promise<string[]> {
  const found: string[] = [];
  let creators: { kind: string; ids: string[] } = { kind: 'user', ids: [member.userId] };
  while (creators.ids.length > 0) {
    const rows = await trx
      .selectFrom('api_keys')
      .select('id')
      .where('org_id', '=', member.orgId)
      .where('created_by_kind', '=', creators.kind)
      .where('created_by_id', 'in', creators.ids)
      .where('revoked_at', 'is', null)
      .execute();
    const ids = rows.map((row) => row.id).filter((id) => !found.includes(id));
    found.push(...ids);
    creators = { kind: 'api_key', ids };
  }
  return found;
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
    if (previousRole === 'owner' && member.role !== 'owner') await keepAnOwner(trx, member);
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
 * Removes a user from the org: their membership, their dashboard sessions in that org, their OAuth
 * authorizations there and the API keys they made there end together, and their cached tokens and keys
 * are evicted on every node. Resolves to null when the user is not a member of that org.
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
    if (role === 'owner') await keepAnOwner(trx, member);
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
    const keyIds = await keysMadeBy(trx, member);
    let apiKeysRevoked: ApiKeysTable[] = [];
    if (keyIds.length > 0) {
      await trx
        .updateTable('api_keys')
        .set({ revoked_at: now })
        .where('org_id', '=', member.orgId)
        .where('id', 'in', keyIds)
        .where('revoked_at', 'is', null)
        .execute();
      apiKeysRevoked = await trx
        .selectFrom('api_keys')
        .selectAll()
        .where('org_id', '=', member.orgId)
        .where('id', 'in', keyIds)
        .orderBy('id')
        .execute();
    }
    const result: Removal = {
      role,
      sessionsEnded: Number(sessions.numDeletedRows),
      authorizationsRevoked: authorizations.length,
      apiKeysRevoked,
    };
    await alsoInTransaction?.(trx, result);
    return result;
  });
  // One message covers every token of the user in the org, whichever grant it came from, and every key
  // their role bounded (the revoked keys among them: the verifier caches a key's creator with it).
  if (removal) await deps.bus.publish({ kind: 'member', orgId: member.orgId, userId: member.userId });
  return removal;
}
