/**
 * API-key rows. Lookups by hash are the one tenant-free query: the hash *is* how the tenant is found.
 * Every other function takes the tenant.
 */

import { hash } from 'node:crypto';
import { type Mode, newId, normalizeScopes, parseApiKey, type Scope } from '@cohera/shared';
import type { Kysely, Transaction } from 'kysely';
import { isoAt } from '../../clock.ts';
import type { ApiKeysTable, DB, RevokedReason } from '../../storage/schema.ts';
import type { Principal, Tenant } from '../context.ts';

/** SHA-256 (hex) of a key: what is stored and looked up. High-entropy keys need no salt or KDF. */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

export interface NewApiKey {
  name: string;
  scopes: readonly Scope[];
  expiresAt: string | null;
  rateLimitPerMinute: number | null;
  createdBy: Principal;
  rolledFromId?: string | null;
}

/** Inserts a key whose plaintext the caller has just generated; only its hash and display parts are kept. */
export async function insertApiKey(
  db: Kysely<DB> | Transaction<DB>,
  tenant: Tenant,
  key: string,
  input: NewApiKey,
  now: number,
): Promise<ApiKeysTable> {
  const parsed = parseApiKey(key);
  if (!parsed || parsed.mode !== tenant.mode)
    throw new Error('insertApiKey: key does not match the tenant mode');
  const row: ApiKeysTable = {
    id: newId('api_key', now),
    org_id: tenant.orgId,
    mode: tenant.mode,
    name: input.name,
    key_hash: hashApiKey(key),
    prefix: parsed.prefix,
    last4: parsed.last4,
    scopes: JSON.stringify(normalizeScopes(input.scopes)),
    created_by_kind: input.createdBy.kind,
    created_by_id: input.createdBy.id,
    created_at: isoAt(now),
    expires_at: input.expiresAt,
    revoked_at: null,
    last_used_at: null,
    last_used_ip: null,
    rate_limit_per_minute: input.rateLimitPerMinute,
    rolled_from_id: input.rolledFromId ?? null,
    replaced_by_id: null,
    leaked_at: null,
    revoked_reason: null,
  };
  await db.insertInto('api_keys').values(row).execute();
  return row;
}

/** What authentication needs about a key. */
export interface ApiKeyCredential {
  id: string;
  orgId: string;
  mode: Mode;
  scopes: Scope[];
  expiresAt: string | null;
  revokedAt: string | null;
  rateLimitPerMinute: number | null;
}

export async function findCredentialByHash(
  db: Kysely<DB>,
  keyHash: string,
): Promise<ApiKeyCredential | null> {
  const row = await db
    .selectFrom('api_keys')
    .select([
      'api_keys.id',
      'api_keys.org_id',
      'api_keys.mode',
      'api_keys.scopes',
      'api_keys.expires_at',
      'api_keys.revoked_at',
      'api_keys.rate_limit_per_minute',
    ])
    .where('api_keys.key_hash', '=', keyHash)
    .executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode,
    scopes: JSON.parse(row.scopes) as Scope[],
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    rateLimitPerMinute: row.rate_limit_per_minute,
  };
}

/**
 * Which keys a caller may manage: one org, the modes its credential may see (a test-mode credential sees
 * test keys only, so a sandbox key cannot reach production keys), and for members only their own keys.
 */
export interface KeyManagementScope {
  orgId: string;
  modes: readonly Mode[];
  createdBy?: Principal | undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: Kysely's query-builder generics are not worth spelling out here
function scoped<Q extends { where: (...args: any[]) => Q }>(query: Q, scope: KeyManagementScope): Q {
  let q = query.where('org_id', '=', scope.orgId).where('mode', 'in', scope.modes);
  if (scope.createdBy) {
    q = q.where('created_by_kind', '=', scope.createdBy.kind).where('created_by_id', '=', scope.createdBy.id);
  }
  return q;
}

export async function getApiKey(
  db: Kysely<DB>,
  scope: KeyManagementScope,
  id: string,
): Promise<ApiKeysTable | null> {
  return (
    (await scoped(db.selectFrom('api_keys').selectAll().where('id', '=', id), scope).executeTakeFirst()) ??
    null
  );
}

export async function listApiKeys(
  db: Kysely<DB>,
  scope: KeyManagementScope,
  page: { limit: number; after: string | null; mode?: Mode | undefined },
): Promise<ApiKeysTable[]> {
  let query = scoped(db.selectFrom('api_keys').selectAll(), scope);
  if (page.after) query = query.where('id', '<', page.after);
  if (page.mode) query = query.where('mode', '=', page.mode);
  return query
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

/**
 * Sets `revoked_at` (and why) once; revoking again keeps the first time and reason. Returns the row as it
 * is now.
 */
export async function revokeApiKey(
  db: Kysely<DB>,
  scope: KeyManagementScope,
  id: string,
  now: number,
  reason: RevokedReason = 'requested',
): Promise<ApiKeysTable | null> {
  await scoped(
    db
      .updateTable('api_keys')
      .set({ revoked_at: isoAt(now), revoked_reason: reason })
      .where('id', '=', id),
    scope,
  )
    .where('revoked_at', 'is', null)
    .execute();
  return getApiKey(db, scope, id);
}

/**
 * Claims a key for a roll into `successorId`, in the roll's transaction: one conditional UPDATE that sets
 * `replaced_by_id` and shortens the key's life to `endsAt` (never lengthens it), only while the key is not
 * revoked, not expired at `now` and not already rolled. Whoever's UPDATE matches owns the roll: on
 * PostgreSQL a concurrent roll or revoke waits for this row's lock and then re-checks these conditions
 * against the committed row (so it no longer matches); SQLite runs one writer at a time. A key therefore
 * gets at most one successor, and never one after it was revoked. False when the key was not claimable.
 */
export async function claimKeyForRoll(
  db: Kysely<DB> | Transaction<DB>,
  scope: KeyManagementScope,
  id: string,
  claim: { successorId: string; endsAt: string },
  now: number,
): Promise<boolean> {
  const { successorId, endsAt } = claim;
  const result = await scoped(
    db
      .updateTable('api_keys')
      .set((eb) => ({
        replaced_by_id: successorId,
        expires_at: eb
          .case()
          .when(eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', endsAt)]))
          .then(endsAt)
          .else(eb.ref('expires_at'))
          .end(),
      }))
      .where('id', '=', id),
    scope,
  )
    .where('revoked_at', 'is', null)
    .where('replaced_by_id', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', isoAt(now))]))
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function usageOf(db: Kysely<DB>, orgId: string, keyId: string, fromDate: string) {
  return db
    .selectFrom('api_key_usage')
    .select(['date', 'requests', 'errors', 'rate_limited'])
    .where('org_id', '=', orgId)
    .where('key_id', '=', keyId)
    .where('date', '>=', fromDate)
    .orderBy('date')
    .execute();
}
