/** Service accounts and their keys. Management functions take the org and the modes the caller may see. */
import { type Mode, newId, normalizeScopes, type Scope } from '@cohera/shared';
import { type Kysely, PostgresAdapter, type Transaction } from 'kysely';
import { isoAt } from '../../clock.ts';
import { inTransaction } from '../../storage/database.ts';
import type {
  DB,
  ServiceAccountKeyAlgorithm,
  ServiceAccountKeysTable,
  ServiceAccountsTable,
} from '../../storage/schema.ts';
import type { Principal } from '../context.ts';

export const MAX_ACTIVE_KEYS = 10;

export interface AccountScope {
  orgId: string;
  modes: readonly Mode[];
}

export async function insertServiceAccount(
  db: Kysely<DB>,
  input: { orgId: string; mode: Mode; name: string; scopes: readonly Scope[]; createdBy: Principal },
  now: number,
): Promise<ServiceAccountsTable> {
  const row: ServiceAccountsTable = {
    id: newId('service_account', now),
    org_id: input.orgId,
    mode: input.mode,
    name: input.name,
    scopes: JSON.stringify(normalizeScopes(input.scopes)),
    created_by_kind: input.createdBy.kind,
    created_by_id: input.createdBy.id,
    created_at: isoAt(now),
    deleted_at: null,
  };
  await db.insertInto('service_accounts').values(row).execute();
  return row;
}

export async function getServiceAccount(db: Kysely<DB>, scope: AccountScope, id: string) {
  return (
    (await db
      .selectFrom('service_accounts')
      .selectAll()
      .where('org_id', '=', scope.orgId)
      .where('mode', 'in', scope.modes)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst()) ?? null
  );
}

export async function listServiceAccounts(
  db: Kysely<DB>,
  scope: AccountScope,
  page: { limit: number; after: string | null },
): Promise<ServiceAccountsTable[]> {
  let query = db
    .selectFrom('service_accounts')
    .selectAll()
    .where('org_id', '=', scope.orgId)
    .where('mode', 'in', scope.modes)
    .where('deleted_at', 'is', null);
  if (page.after) query = query.where('id', '<', page.after);
  return query
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

/** Deletes an account and disables all its keys in one transaction. Returns the ids of the keys disabled. */
export async function deleteServiceAccount(db: Kysely<DB>, scope: AccountScope, id: string, now: number) {
  return inTransaction(db, async (trx) => {
    const result = await trx
      .updateTable('service_accounts')
      .set({ deleted_at: isoAt(now) })
      .where('org_id', '=', scope.orgId)
      .where('mode', 'in', scope.modes)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return null;
    const keys = await trx
      .updateTable('service_account_keys')
      .set({ deleted_at: isoAt(now) })
      .where('org_id', '=', scope.orgId)
      .where('service_account_id', '=', id)
      .where('deleted_at', 'is', null)
      .returning('id')
      .execute();
    return keys.map((k) => k.id);
  });
}

async function countActiveKeys(
  db: Kysely<DB> | Transaction<DB>,
  orgId: string,
  accountId: string,
  now: number,
) {
  const row = await db
    .selectFrom('service_account_keys')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('org_id', '=', orgId)
    .where('service_account_id', '=', accountId)
    .where('deleted_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', isoAt(now))]))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

async function insertServiceAccountKey(
  db: Kysely<DB> | Transaction<DB>,
  input: {
    orgId: string;
    accountId: string;
    algorithm: ServiceAccountKeyAlgorithm;
    publicKeyPem: string;
    origin: 'generated' | 'uploaded';
    expiresAt: string | null;
  },
  now: number,
): Promise<ServiceAccountKeysTable> {
  const row: ServiceAccountKeysTable = {
    id: newId('service_account_key', now),
    org_id: input.orgId,
    service_account_id: input.accountId,
    algorithm: input.algorithm,
    public_key: input.publicKeyPem,
    origin: input.origin,
    created_at: isoAt(now),
    expires_at: input.expiresAt,
    deleted_at: null,
    last_used_at: null,
  };
  await db.insertInto('service_account_keys').values(row).execute();
  return row;
}

export async function listServiceAccountKeys(db: Kysely<DB>, orgId: string, accountId: string) {
  return db
    .selectFrom('service_account_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('service_account_id', '=', accountId)
    .where('deleted_at', 'is', null)
    .orderBy('id', 'desc')
    .execute();
}

export async function deleteServiceAccountKey(
  db: Kysely<DB>,
  orgId: string,
  accountId: string,
  keyId: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('service_account_keys')
    .set({ deleted_at: isoAt(now) })
    .where('org_id', '=', orgId)
    .where('service_account_id', '=', accountId)
    .where('id', '=', keyId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** What the verifier needs about a key (`kid`), joined with its account and org. Tenant-free: the kid is the lookup. */
export interface VerificationKey {
  keyId: string;
  accountId: string;
  orgId: string;
  mode: Mode;
  algorithm: ServiceAccountKeyAlgorithm;
  publicKeyPem: string;
  ceiling: Scope[];
  expiresAt: string | null;
  usable: boolean;
}

export async function findVerificationKey(db: Kysely<DB>, keyId: string): Promise<VerificationKey | null> {
  const row = await db
    .selectFrom('service_account_keys as k')
    .innerJoin('service_accounts as a', 'a.id', 'k.service_account_id')
    .select([
      'k.id',
      'k.service_account_id',
      'k.org_id',
      'k.algorithm',
      'k.public_key',
      'k.expires_at',
      'k.deleted_at as key_deleted_at',
      'a.mode',
      'a.scopes',
      'a.deleted_at as account_deleted_at',
    ])
    .where('k.id', '=', keyId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    keyId: row.id,
    accountId: row.service_account_id,
    orgId: row.org_id,
    mode: row.mode,
    algorithm: row.algorithm,
    publicKeyPem: row.public_key,
    ceiling: JSON.parse(row.scopes) as Scope[],
    expiresAt: row.expires_at,
    usable: row.key_deleted_at === null && row.account_deleted_at === null,
  };
}

/** Records the last use of keys, batched by the usage recorder. */
export async function touchServiceAccountKeys(
  db: Kysely<DB> | Transaction<DB>,
  uses: ReadonlyMap<string, { orgId: string; at: string }>,
) {
  for (const [keyId, use] of uses) {
    await db
      .updateTable('service_account_keys')
      .set({ last_used_at: use.at })
      .where('org_id', '=', use.orgId)
      .where('id', '=', keyId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', use.at)]))
      .execute();
  }
}

/**
 * Adds a key unless the account already has MAX_ACTIVE_KEYS active ones (`limit_reached`) or has been
 * deleted (`account_deleted`). The count and the insert share a transaction that, on PostgreSQL, first locks
 * the account row, so two concurrent requests cannot both take the last slot (SQLite serializes writers by
 * itself). The lock is taken on the account only while it is not deleted: a deletion that commits first
 * makes PostgreSQL re-check the row after the wait and find it deleted, so a deleted account never gets a
 * key made after its deletion (a deletion that comes after disables the new key with the others).
 */
export async function insertServiceAccountKeyWithinLimit(
  db: Kysely<DB>,
  input: Parameters<typeof insertServiceAccountKey>[1],
  now: number,
): Promise<ServiceAccountKeysTable | 'limit_reached' | 'account_deleted'> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return inTransaction(db, async (trx) => {
    let lock = trx
      .selectFrom('service_accounts')
      .select('id')
      .where('org_id', '=', input.orgId)
      .where('id', '=', input.accountId)
      .where('deleted_at', 'is', null);
    if (postgres) lock = lock.forUpdate();
    if (!(await lock.executeTakeFirst())) return 'account_deleted';
    if ((await countActiveKeys(trx, input.orgId, input.accountId, now)) >= MAX_ACTIVE_KEYS) {
      return 'limit_reached';
    }
    return insertServiceAccountKey(trx, input, now);
  });
}
