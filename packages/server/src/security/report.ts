/**
 * The security report (DESIGN §4 `GET /v1/security/report`, §5.4): the reference's key checklist answered
 * from stored data. It only reads: active API keys (not revoked, not expired), the org's rotation policy,
 * which scopes each key used (`api_key_scope_usage`, written by the usage recorder) and service-account keys.
 *
 * Every query is scoped to one org and the modes the caller may manage, so a test-mode credential sees test
 * keys only. Items name keys by id, name, prefix and last 4 characters: never a key, hash or secret.
 *
 * Status rules (docs/security-report.md): a check with no items passes; otherwise keys past the rotation
 * age and leaked keys still active fail, and keys without expiry (API keys and service-account keys alike),
 * unused keys, unused scopes and admin keys warn.
 */
import { hasScope, isScope, type Mode, normalizeScopes, type Scope, scopesBeyond } from '@cohera/shared';
import type { Kysely } from 'kysely';
import { apiTime, isoAt } from '../clock.ts';
import type { DB } from '../storage/schema.ts';

/** The rotation age when the org's policy sets none. */
export const DEFAULT_ROTATION_DAYS = 90;
/** How long a key or a scope goes without use before it counts as unused, and how old a key must be to judge. */
export const UNUSED_DAYS = 30;
const DAY_MS = 86_400_000;

export type CheckStatus = 'pass' | 'warn' | 'fail';

/** The tenant of a report: one org, and every mode the caller may manage. */
export interface ReportTenant {
  orgId: string;
  modes: readonly Mode[];
}

export interface ReportOptions {
  /**
   * The API key making the request, if any, and the scope its route required: it is in use right now, so it
   * counts as used at `now` even though its use is recorded only once the response is sent.
   */
  inUse?: { keyId: string; scope: Scope } | undefined;
}

export interface ApiKeyItem {
  key_id: string;
  name: string;
  prefix: string;
  last4: string;
  mode: Mode;
  scopes: string[];
  created_at: string;
  age_days: number;
  expires_at: string | null;
  last_used_at: string | null;
  /** Whole days since the last use; null when the key was never used. */
  days_since_last_use: number | null;
  action: string;
}

export interface LeakedKeyItem extends ApiKeyItem {
  /** When a leak of the key was first reported. */
  leaked_at: string;
}

export interface UnusedScopesItem extends ApiKeyItem {
  /** The scopes its requests needed in the last 30 days (each a scope a route required). */
  used: Scope[];
  /** The smallest scope list that covers `used`: what a replacement key should hold. */
  suggested_scopes: Scope[];
  /** The scopes it holds that grant more than it used: what to drop. */
  unused: Scope[];
}

export interface ServiceAccountKeyItem {
  key_id: string;
  service_account_id: string;
  service_account_name: string;
  mode: Mode;
  /** The account's scope ceiling. */
  scopes: string[];
  algorithm: string;
  origin: 'generated' | 'uploaded';
  created_at: string;
  age_days: number;
  expires_at: string | null;
  last_used_at: string | null;
  action: string;
}

interface Check<Id extends string, Item> {
  id: Id;
  status: CheckStatus;
  title: string;
  suggested_action: string;
  items: Item[];
}

export type SecurityCheck =
  | Check<'keys_without_expiry', ApiKeyItem>
  | Check<'keys_older_than_policy', ApiKeyItem>
  | Check<'unused_keys', ApiKeyItem>
  | Check<'unused_scopes', UnusedScopesItem>
  | Check<'admin_keys', ApiKeyItem>
  | Check<'leaked_keys', LeakedKeyItem>
  | Check<'service_account_keys_older_than_policy', ServiceAccountKeyItem>
  | Check<'service_account_keys_without_expiry', ServiceAccountKeyItem>;

export interface SecurityReport {
  object: 'security_report';
  generated_at: string;
  /** The modes whose keys the report covers. */
  modes: Mode[];
  policy: { key_rotation_days: number; unused_days: number };
  checks: SecurityCheck[];
}

/** An active API key as the checks read it. */
interface ActiveKey {
  id: string;
  name: string;
  prefix: string;
  last4: string;
  mode: Mode;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  /** When a leak of it was reported; null when none was. */
  leakedAt: string | null;
  /** The scopes its requests needed in the last 30 days. */
  used: Scope[];
}

interface ActiveServiceAccountKey {
  id: string;
  accountId: string;
  accountName: string;
  mode: Mode;
  scopes: string[];
  algorithm: string;
  origin: 'generated' | 'uploaded';
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

interface ReportData {
  now: number;
  rotationDays: number;
  keys: ActiveKey[];
  serviceAccountKeys: ActiveServiceAccountKey[];
}

export async function buildSecurityReport(
  db: Kysely<DB>,
  tenant: ReportTenant,
  now: number,
  options: ReportOptions = {},
): Promise<SecurityReport> {
  const data: ReportData = {
    now,
    rotationDays: await rotationDaysOf(db, tenant.orgId),
    keys: await activeKeys(db, tenant, now, options.inUse),
    serviceAccountKeys: await activeServiceAccountKeys(db, tenant, now),
  };
  return {
    object: 'security_report',
    generated_at: apiTime(isoAt(now)),
    modes: [...tenant.modes],
    policy: { key_rotation_days: data.rotationDays, unused_days: UNUSED_DAYS },
    checks: [
      keysWithoutExpiry(data),
      keysOlderThanPolicy(data),
      unusedKeys(data),
      unusedScopes(data),
      adminKeys(data),
      leakedKeys(data),
      serviceAccountKeysOlderThanPolicy(data),
      serviceAccountKeysWithoutExpiry(data),
    ],
  };
}

// ---- the checks: one function each ----

function keysWithoutExpiry(data: ReportData): Check<'keys_without_expiry', ApiKeyItem> {
  const items = data.keys
    .filter((key) => key.expiresAt === null)
    .map((key) =>
      apiKeyItem(
        data,
        key,
        `Roll it into a key that expires (POST /v1/api-keys/${key.id}/roll with expires_in_days) and deploy ` +
          `the new key during the grace period; or revoke it (POST /v1/api-keys/${key.id}/revoke) if nothing ` +
          'needs it.',
      ),
    );
  return {
    id: 'keys_without_expiry',
    status: items.length === 0 ? 'pass' : 'warn',
    title: 'API keys that never expire',
    suggested_action:
      'Give every key an expiry (90 days is a good default): roll it with expires_in_days, and the old key ' +
      'keeps working for the grace period while you deploy the new one. Setting the organization’s ' +
      'policy.max_key_lifetime_days makes every new key expire, and a roll then gives the new key an expiry ' +
      'even without expires_in_days.',
    items,
  };
}

function keysOlderThanPolicy(data: ReportData): Check<'keys_older_than_policy', ApiKeyItem> {
  const items = data.keys
    .filter((key) => ageDays(data.now, key.createdAt) >= data.rotationDays)
    .map((key) =>
      apiKeyItem(
        data,
        key,
        `Roll it (POST /v1/api-keys/${key.id}/roll), deploy the new key during the grace period, and verify ` +
          'it with GET /health.',
      ),
    );
  return {
    id: 'keys_older_than_policy',
    status: items.length === 0 ? 'pass' : 'fail',
    title: `API keys ${data.rotationDays} days old or older (the organization’s rotation policy)`,
    suggested_action:
      'Roll each key: the new key keeps the name and scopes, and the old one keeps working for the grace ' +
      'period while you deploy the new one.',
    items,
  };
}

function unusedKeys(data: ReportData): Check<'unused_keys', ApiKeyItem> {
  const items = data.keys
    .filter((key) => judged(data, key) && !usedWithin(data.now, key.lastUsedAt))
    .map((key) => {
      const since = key.lastUsedAt === null ? null : ageDays(data.now, key.lastUsedAt);
      const when = since === null ? 'It was never used' : `It was last used ${since} days ago`;
      return apiKeyItem(
        data,
        key,
        `${when}: revoke it (POST /v1/api-keys/${key.id}/revoke) unless something still needs it.`,
      );
    });
  return {
    id: 'unused_keys',
    status: items.length === 0 ? 'pass' : 'warn',
    title: `API keys unused for ${UNUSED_DAYS} days (keys younger than ${UNUSED_DAYS} days are not judged)`,
    suggested_action: 'Revoke keys that nothing uses: a key that no longer exists cannot leak.',
    items,
  };
}

function unusedScopes(data: ReportData): Check<'unused_scopes', UnusedScopesItem> {
  const items: UnusedScopesItem[] = [];
  for (const key of data.keys) {
    if (!judged(data, key)) continue;
    const suggested = minimalScopes(key.used);
    const unused = scopesBeyond(normalizeScopes(key.scopes.filter(isScope)), suggested);
    if (unused.length === 0) continue;
    const action =
      suggested.length === 0
        ? `It used none of its scopes in ${UNUSED_DAYS} days: revoke it (POST /v1/api-keys/${key.id}/revoke) ` +
          'unless something still needs it.'
        : `Roll it into a key holding only ${suggested.join(', ')} (POST /v1/api-keys/${key.id}/roll with ` +
          `{"scopes": ${JSON.stringify(suggested)}}), deploy the new key during the grace period, and ` +
          'verify it with GET /health.';
    items.push({ ...apiKeyItem(data, key, action), used: key.used, suggested_scopes: suggested, unused });
  }
  return {
    id: 'unused_scopes',
    status: items.length === 0 ? 'pass' : 'warn',
    title:
      `Scopes granted but unused for ${UNUSED_DAYS} days ` +
      `(keys younger than ${UNUSED_DAYS} days are not judged)`,
    suggested_action:
      'Least privilege: roll each key with its suggested_scopes as the new key’s scopes; the old key keeps ' +
      'working for the grace period while you deploy the new one.',
    items,
  };
}

function adminKeys(data: ReportData): Check<'admin_keys', ApiKeyItem> {
  const items = data.keys
    .filter((key) => key.scopes.includes('admin'))
    .map((key) =>
      apiKeyItem(
        data,
        key,
        key.expiresAt === null
          ? 'Use it for administration only, and replace it with an admin key that expires.'
          : 'Use it for administration only; give every job its own key with just the scopes it needs.',
      ),
    );
  return {
    id: 'admin_keys',
    status: items.length === 0 ? 'pass' : 'warn',
    title: 'API keys with the admin scope (full access, including keys and the organization)',
    suggested_action:
      'Keep as few admin keys as you can, each with an expiry and used only for administration; give ' +
      'scripts and services keys with only the scopes they need.',
    items,
  };
}

/**
 * A leaked key that still works (its org's `leaked_key_action` is `notify`, so the server flagged it and left
 * it running): anyone who found it can use it. A leaked key that is revoked or expired is not active and not
 * listed, so the check passes once the remedy is done.
 */
function leakedKeys(data: ReportData): Check<'leaked_keys', LeakedKeyItem> {
  const items = data.keys
    .filter((key) => key.leakedAt !== null)
    .map((key) => ({
      ...apiKeyItem(
        data,
        key,
        `Roll it with no grace period (POST /v1/api-keys/${key.id}/roll with {"grace_period_seconds": 0}), ` +
          'deploy the new key, and check the audit log (action=api_key.leaked) for where it was found.',
      ),
      leaked_at: apiTime(key.leakedAt as string),
    }));
  return {
    id: 'leaked_keys',
    status: items.length === 0 ? 'pass' : 'fail',
    title: 'Leaked API keys that still work',
    suggested_action:
      'A leaked key is usable by whoever found it: roll and revoke it now (the dashboard’s “Roll and ' +
      'revoke”), then remove it from where it leaked. With the organization’s policy.leaked_key_action ' +
      'set to "revoke" (the default), reported keys are revoked the moment the report arrives.',
    items,
  };
}

function serviceAccountKeysOlderThanPolicy(
  data: ReportData,
): Check<'service_account_keys_older_than_policy', ServiceAccountKeyItem> {
  const items = data.serviceAccountKeys
    .filter((key) => ageDays(data.now, key.createdAt) >= data.rotationDays)
    .map((key) =>
      serviceAccountKeyItem(
        data,
        key,
        `Add a new key (POST /v1/service-accounts/${key.accountId}/keys), switch the service to it, then ` +
          `delete this one (DELETE /v1/service-accounts/${key.accountId}/keys/${key.id}).`,
      ),
    );
  return {
    id: 'service_account_keys_older_than_policy',
    status: items.length === 0 ? 'pass' : 'fail',
    title: `Service-account keys ${data.rotationDays} days old or older (the organization’s rotation policy)`,
    suggested_action:
      'Rotate each key: add a new key to the account (an account may have several active keys), move the ' +
      'service to it, then delete the old key; tokens the old key signed stop working at once.',
    items,
  };
}

/**
 * The service-account twin of `keys_without_expiry`: a key with no `expires_at` signs tokens until someone
 * deletes it. Keys made before service-account keys obeyed the org's maximum lifetime have none, and so has
 * any key made without an expiry where the org sets no maximum. A service-account key cannot be rolled, so
 * the remedy is a new key with an expiry, then deleting this one.
 */
function serviceAccountKeysWithoutExpiry(
  data: ReportData,
): Check<'service_account_keys_without_expiry', ServiceAccountKeyItem> {
  const items = data.serviceAccountKeys
    .filter((key) => key.expiresAt === null)
    .map((key) =>
      serviceAccountKeyItem(
        data,
        key,
        `Add a key that expires (POST /v1/service-accounts/${key.accountId}/keys with expires_in_days), ` +
          'switch the service to it, then delete this one ' +
          `(DELETE /v1/service-accounts/${key.accountId}/keys/${key.id}); tokens it signed stop working at once.`,
      ),
    );
  return {
    id: 'service_account_keys_without_expiry',
    status: items.length === 0 ? 'pass' : 'warn',
    title: 'Service-account keys that never expire',
    suggested_action:
      'Give every key an expiry (90 days is a good default): add a new key to the account with ' +
      'expires_in_days (an account may have several active keys), move the service to it, then delete the ' +
      'old key. Setting the organization’s policy.max_key_lifetime_days makes every new key expire, ' +
      'service-account keys included.',
    items,
  };
}

// ---- helpers ----

/** Whole days from a stored timestamp to `now`. */
function ageDays(now: number, stored: string): number {
  return Math.floor((now - Date.parse(stored)) / DAY_MS);
}

/** Whether a key is old enough for "unused for 30 days" to mean anything. */
function judged(data: ReportData, key: ActiveKey): boolean {
  return ageDays(data.now, key.createdAt) >= UNUSED_DAYS;
}

function usedWithin(now: number, lastUsedAt: string | null): boolean {
  return lastUsedAt !== null && ageDays(now, lastUsedAt) < UNUSED_DAYS;
}

/**
 * The smallest scope list that allows every scope in `used`, in canonical order: a scope is dropped when
 * another used scope covers it (`write:products` covers `read:products`, `admin` covers everything).
 *
 * @example
 * minimalScopes(['read:products', 'write:products', 'read:certificates']) // ['read:certificates', 'write:products']
 */
export function minimalScopes(used: readonly Scope[]): Scope[] {
  const scopes = normalizeScopes(used);
  return scopes.filter((scope) => !scopes.some((other) => other !== scope && hasScope([other], scope)));
}

function apiKeyItem(data: ReportData, key: ActiveKey, action: string): ApiKeyItem {
  return {
    key_id: key.id,
    name: key.name,
    prefix: key.prefix,
    last4: key.last4,
    mode: key.mode,
    scopes: key.scopes,
    created_at: apiTime(key.createdAt),
    age_days: ageDays(data.now, key.createdAt),
    expires_at: apiTime(key.expiresAt),
    last_used_at: apiTime(key.lastUsedAt),
    days_since_last_use: key.lastUsedAt === null ? null : ageDays(data.now, key.lastUsedAt),
    action,
  };
}

function serviceAccountKeyItem(
  data: ReportData,
  key: ActiveServiceAccountKey,
  action: string,
): ServiceAccountKeyItem {
  return {
    key_id: key.id,
    service_account_id: key.accountId,
    service_account_name: key.accountName,
    mode: key.mode,
    scopes: key.scopes,
    algorithm: key.algorithm,
    origin: key.origin,
    created_at: apiTime(key.createdAt),
    age_days: ageDays(data.now, key.createdAt),
    expires_at: apiTime(key.expiresAt),
    last_used_at: apiTime(key.lastUsedAt),
    action,
  };
}

// ---- the queries: org and modes in every one ----

async function rotationDaysOf(db: Kysely<DB>, orgId: string): Promise<number> {
  const org = await db
    .selectFrom('orgs')
    .select('key_rotation_days')
    .where('id', '=', orgId)
    .executeTakeFirst();
  return org?.key_rotation_days ?? DEFAULT_ROTATION_DAYS;
}

/** Keys not revoked and not expired, oldest first, with the scopes each used in the last 30 days. */
async function activeKeys(
  db: Kysely<DB>,
  tenant: ReportTenant,
  now: number,
  inUse: ReportOptions['inUse'],
): Promise<ActiveKey[]> {
  const at = isoAt(now);
  const rows = await db
    .selectFrom('api_keys')
    .select([
      'id',
      'name',
      'prefix',
      'last4',
      'mode',
      'scopes',
      'created_at',
      'expires_at',
      'last_used_at',
      'leaked_at',
    ])
    .where('org_id', '=', tenant.orgId)
    .where('mode', 'in', [...tenant.modes])
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]))
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const used = await scopesUsedSince(db, tenant, isoAt(now - UNUSED_DAYS * DAY_MS));
  if (inUse) used.set(inUse.keyId, [...(used.get(inUse.keyId) ?? []), inUse.scope]);
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    last4: row.last4,
    mode: row.mode,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.id === inUse?.keyId ? at : row.last_used_at,
    leakedAt: row.leaked_at,
    used: normalizeScopes(used.get(row.id) ?? []),
  }));
}

/** Per key, the scopes it used after `since` (only keys of the tenant's org and modes). */
async function scopesUsedSince(db: Kysely<DB>, tenant: ReportTenant, since: string) {
  const rows = await db
    .selectFrom('api_key_scope_usage as u')
    .innerJoin('api_keys as k', (join) =>
      join.onRef('k.id', '=', 'u.key_id').onRef('k.org_id', '=', 'u.org_id'),
    )
    .select(['u.key_id', 'u.scope'])
    .where('u.org_id', '=', tenant.orgId)
    .where('k.org_id', '=', tenant.orgId)
    .where('k.mode', 'in', [...tenant.modes])
    .where('u.last_used_at', '>', since)
    .execute();
  const used = new Map<string, Scope[]>();
  for (const row of rows) {
    if (!isScope(row.scope)) continue;
    const list = used.get(row.key_id);
    if (list) list.push(row.scope);
    else used.set(row.key_id, [row.scope]);
  }
  return used;
}

/** Keys not deleted or expired, of accounts not deleted, oldest first. */
async function activeServiceAccountKeys(
  db: Kysely<DB>,
  tenant: ReportTenant,
  now: number,
): Promise<ActiveServiceAccountKey[]> {
  const at = isoAt(now);
  const rows = await db
    .selectFrom('service_account_keys as k')
    .innerJoin('service_accounts as a', (join) =>
      join.onRef('a.id', '=', 'k.service_account_id').onRef('a.org_id', '=', 'k.org_id'),
    )
    .select([
      'k.id',
      'k.algorithm',
      'k.origin',
      'k.created_at',
      'k.expires_at',
      'k.last_used_at',
      'a.id as account_id',
      'a.name as account_name',
      'a.mode',
      'a.scopes',
    ])
    .where('k.org_id', '=', tenant.orgId)
    .where('a.org_id', '=', tenant.orgId)
    .where('a.mode', 'in', [...tenant.modes])
    .where('a.deleted_at', 'is', null)
    .where('k.deleted_at', 'is', null)
    .where((eb) => eb.or([eb('k.expires_at', 'is', null), eb('k.expires_at', '>', at)]))
    .orderBy('k.created_at')
    .orderBy('k.id')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    accountId: row.account_id,
    accountName: row.account_name,
    mode: row.mode,
    scopes: JSON.parse(row.scopes) as string[],
    algorithm: row.algorithm,
    origin: row.origin,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  }));
}
