/**
 * A key never exceeds its creator's current role (DESIGN §3, docs/team.md#api-keys). A key's stored scopes
 * were checked against its creator when it was made; this is what it may use *today*:
 * - made by a person (a dashboard session, or an OAuth token acting for them, or the bootstrap): at most
 *   the scopes of that person's current role in the key's org (`scopesForRole`). A person who left the org
 *   has no role: their keys end (removal also revokes them, in the removal's transaction);
 * - made by another API key: whatever bounds that key, followed up the chain to the person (or service
 *   account) at its root, so a key cannot launder its creator's role through a key it made;
 * - made by a service account: at most the account's scope ceiling; the key ends when the account is
 *   deleted;
 * - any other creator (none today): the key's own scopes.
 * Read on a cache miss only: the verifier caches the result with the key and drops it when a `member`
 * message says the creator's membership changed.
 */
import { hasScope, SCOPES, type Scope } from '@cohera/shared';
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema.ts';
import { scopesForRole } from '../sessions/store.ts';

export interface CreatorCeiling {
  /** The person whose role bounds the key (a `member` invalidation for them evicts it); null if none. */
  userId: string | null;
  /** The most the key may use; null when nothing beyond its own scopes bounds it. */
  scopes: readonly Scope[] | null;
  /** The key can no longer be used at all: its creator left the org, or its service account is gone. */
  ended: boolean;
}

/** Key-made-by-key chains longer than this are treated as ended (they cannot be built through the API). */
const MAX_CHAIN = 16;

const UNBOUNDED: CreatorCeiling = { userId: null, scopes: null, ended: false };

/** Where a key's authority comes from, read from the database (one query per link of the chain). */
export async function creatorCeiling(db: Kysely<DB>, orgId: string, keyId: string): Promise<CreatorCeiling> {
  let current: { kind: string; id: string } = { kind: 'api_key', id: keyId };
  for (let depth = 0; depth <= MAX_CHAIN; depth++) {
    if (current.kind === 'api_key') {
      const key = await db
        .selectFrom('api_keys')
        .select(['created_by_kind', 'created_by_id'])
        .where('id', '=', current.id)
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      if (!key) return { userId: null, scopes: [], ended: true };
      current = { kind: key.created_by_kind, id: key.created_by_id };
      continue;
    }
    if (current.kind === 'user') {
      const membership = await db
        .selectFrom('memberships')
        .select('role')
        .where('org_id', '=', orgId)
        .where('user_id', '=', current.id)
        .executeTakeFirst();
      if (!membership) return { userId: current.id, scopes: [], ended: true };
      return { userId: current.id, scopes: scopesForRole(membership.role), ended: false };
    }
    if (current.kind === 'service_account') {
      const account = await db
        .selectFrom('service_accounts')
        .select(['scopes', 'deleted_at'])
        .where('id', '=', current.id)
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      if (!account || account.deleted_at !== null) return { userId: null, scopes: [], ended: true };
      return { userId: null, scopes: JSON.parse(account.scopes) as Scope[], ended: false };
    }
    return UNBOUNDED;
  }
  return { userId: null, scopes: [], ended: true };
}

/**
 * The scopes both lists allow, written minimally (no scope another kept one implies). Returns `granted`
 * itself when the ceiling covers it all, so the common case allocates nothing and keeps list identity.
 *
 * @example
 * effectiveScopes(['admin'], ['read:*', 'write:*'])         // ['write:*']
 * effectiveScopes(['write:suppliers'], ['read:*'])          // ['read:suppliers']
 * effectiveScopes(['read:products'], ['admin'])             // ['read:products'] (the same array)
 */
export function effectiveScopes(
  granted: readonly Scope[],
  ceiling: readonly Scope[] | null,
): readonly Scope[] {
  if (ceiling === null || granted.every((scope) => hasScope(ceiling, scope))) return granted;
  const both = SCOPES.filter((scope) => hasScope(granted, scope) && hasScope(ceiling, scope));
  return both.filter((scope) => !both.some((other) => other !== scope && hasScope([other], scope)));
}
