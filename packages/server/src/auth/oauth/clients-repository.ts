/**
 * Registered OAuth clients. Management functions take the org and the modes the caller may manage (the
 * tenant, enforced here); the engine's lookup by `client_id` is the one exception, because a client is used
 * by people of any org who choose to authorize it, as with GitHub or Slack apps.
 *
 * A client secret is stored as its SHA-256, like an API key. After a rotation the previous hash keeps working
 * until its grace period ends, so a deployment can switch secrets without downtime.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Mode, newId, normalizeScopes, type Scope } from '@cohera/shared';
import type { Kysely } from 'kysely';
import { isoAt } from '../../clock.ts';
import { preparedQuery } from '../../storage/prepared-query.ts';
import type { DB, OAuthClientsTable, OAuthClientType } from '../../storage/schema.ts';
import type { Principal } from '../context.ts';
import { usableRedirectOrigins } from './redirect-uris.ts';

export interface ClientScope {
  orgId: string;
  modes: readonly Mode[];
}

const SECRET_PREFIX = 'cs_';

/** A new client secret: 256 random bits, base64url, with a prefix secret scanners can match. */
export function generateClientSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function equalHashes(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

/**
 * Whether `presented` is the client's current secret, or its previous one within the grace period. Both
 * hashes are always compared, in constant time, so the answer's timing says nothing about which matched.
 */
export function clientSecretMatches(
  client: Pick<OAuthClientsTable, 'secret_hash' | 'previous_secret_hash' | 'previous_secret_expires_at'>,
  presented: string,
  now: number,
): boolean {
  if (client.secret_hash === null) return false;
  const hash = hashClientSecret(presented);
  const current = equalHashes(hash, client.secret_hash);
  const previousValid =
    client.previous_secret_hash !== null &&
    client.previous_secret_expires_at !== null &&
    client.previous_secret_expires_at > isoAt(now);
  const previous = equalHashes(hash, client.previous_secret_hash ?? client.secret_hash) && previousValid;
  return current || previous;
}

export async function insertClient(
  db: Kysely<DB>,
  input: {
    orgId: string;
    mode: Mode;
    name: string;
    clientType: OAuthClientType;
    redirectUris: readonly string[];
    scopes: readonly Scope[];
    createdBy: Principal;
  },
  now: number,
): Promise<{ row: OAuthClientsTable; secret: string | null }> {
  const secret = input.clientType === 'confidential' ? generateClientSecret() : null;
  const row: OAuthClientsTable = {
    id: newId('oauth_client', now),
    org_id: input.orgId,
    mode: input.mode,
    name: input.name,
    client_type: input.clientType,
    redirect_uris: JSON.stringify(input.redirectUris),
    // Checked on the way in (redirect-uris.ts requireValidRedirectUris): nothing to flag.
    redirect_uri_problems: '[]',
    scopes: JSON.stringify(normalizeScopes(input.scopes)),
    secret_hash: secret ? hashClientSecret(secret) : null,
    secret_last4: secret ? secret.slice(-4) : null,
    previous_secret_hash: null,
    previous_secret_expires_at: null,
    created_by_kind: input.createdBy.kind,
    created_by_id: input.createdBy.id,
    created_at: isoAt(now),
    updated_at: isoAt(now),
    deleted_at: null,
  };
  await db.insertInto('oauth_clients').values(row).execute();
  return { row, secret };
}

export async function getClient(db: Kysely<DB>, scope: ClientScope, id: string) {
  return (
    (await db
      .selectFrom('oauth_clients')
      .selectAll()
      .where('org_id', '=', scope.orgId)
      .where('mode', 'in', scope.modes)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst()) ?? null
  );
}

/** The engine's lookup: any live client by id, whichever org registered it. */
// Read on every token request (the engine looks its client up each time): compiled once.
const clientById = preparedQuery((db, id: string) =>
  db.selectFrom('oauth_clients').selectAll().where('id', '=', id).where('deleted_at', 'is', null),
);

export async function findClientById(db: Kysely<DB>, id: string): Promise<OAuthClientsTable | null> {
  return (await clientById.first(db, id)) ?? null;
}

export async function listClients(
  db: Kysely<DB>,
  scope: ClientScope,
  page: { limit: number; after: string | null },
): Promise<OAuthClientsTable[]> {
  let query = db
    .selectFrom('oauth_clients')
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

/** Soft-deletes a client; returns false when there was none. Its grants are revoked by the caller. */
export async function deleteClient(db: Kysely<DB>, scope: ClientScope, id: string, now: number) {
  const result = await db
    .updateTable('oauth_clients')
    .set({ deleted_at: isoAt(now), updated_at: isoAt(now) })
    .where('org_id', '=', scope.orgId)
    .where('mode', 'in', scope.modes)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export interface ClientChanges {
  name?: string;
  /** Already checked (redirect-uris.ts requireValidRedirectUris). */
  redirectUris?: readonly string[];
  scopes?: readonly Scope[];
}

/**
 * Changes an app's name, redirect URIs or scope ceiling; returns the row as it is now, or null when there
 * is none (another org's, another mode's, deleted). New redirect URIs were checked on the way in, so
 * nothing is left flagged from before.
 */
export async function updateClient(
  db: Kysely<DB>,
  scope: ClientScope,
  client: OAuthClientsTable,
  changes: ClientChanges,
  now: number,
): Promise<OAuthClientsTable | null> {
  const set: Partial<OAuthClientsTable> = { updated_at: isoAt(now) };
  if (changes.name !== undefined) set.name = changes.name;
  if (changes.redirectUris !== undefined) {
    set.redirect_uris = JSON.stringify(changes.redirectUris);
    set.redirect_uri_problems = '[]';
  }
  if (changes.scopes !== undefined) set.scopes = JSON.stringify(normalizeScopes(changes.scopes));
  const result = await db
    .updateTable('oauth_clients')
    .set(set)
    .where('org_id', '=', scope.orgId)
    .where('mode', 'in', scope.modes)
    .where('id', '=', client.id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n ? { ...client, ...set } : null;
}

/**
 * Replaces a confidential client's secret. The old one stays valid for `graceSeconds` (0 ends it at once);
 * a secret replaced earlier and still in its grace period is dropped: only one previous secret is kept.
 */
export async function rotateClientSecret(
  db: Kysely<DB>,
  scope: ClientScope,
  client: OAuthClientsTable,
  graceSeconds: number,
  now: number,
): Promise<{ row: OAuthClientsTable; secret: string } | null> {
  const secret = generateClientSecret();
  const changes = {
    secret_hash: hashClientSecret(secret),
    secret_last4: secret.slice(-4),
    previous_secret_hash: graceSeconds > 0 ? client.secret_hash : null,
    previous_secret_expires_at: graceSeconds > 0 ? isoAt(now + graceSeconds * 1000) : null,
    updated_at: isoAt(now),
  };
  const result = await db
    .updateTable('oauth_clients')
    .set(changes)
    .where('org_id', '=', scope.orgId)
    .where('mode', 'in', scope.modes)
    .where('id', '=', client.id)
    .where('deleted_at', 'is', null)
    // Optimistic: two rotations at once must not both keep "the" previous secret.
    .where('secret_hash', '=', client.secret_hash)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) return null;
  return { row: { ...client, ...changes }, secret };
}

/**
 * The origins of a client's usable redirect URIs (where a flow may end; the form-action allow list), each a
 * serialized origin of a URI that passes the rules: never a flagged one, never raw text from the row.
 */
export function redirectOrigins(
  client: Pick<OAuthClientsTable, 'redirect_uris' | 'redirect_uri_problems'>,
): string[] {
  return usableRedirectOrigins(client);
}
