/**
 * Authorizations: a user's consent to one client in one org, tied to the engine's Grant. It is what
 * `GET /v1/oauth/authorizations` lists, what skips the consent page next time (unless the scopes grow), and
 * what the API checks before it accepts an access token, so revoking it stops the tokens at once.
 */
import { type Mode, newId, normalizeScopes, type Scope, scopesBeyond } from '@cohera/shared';
import type { Kysely, Transaction } from 'kysely';
import { isoAt } from '../../clock.ts';
import { preparedQuery } from '../../storage/prepared-query.ts';
import type { DB, OAuthAuthorizationsTable } from '../../storage/schema.ts';

/** The people side of the tenant: one user in one org. */
export interface UserScope {
  orgId: string;
  userId: string;
}

/** The user's live authorizations: the tenant (org and user) comes first in every query of them. */
function liveAuthorizations(db: Kysely<DB>, user: UserScope) {
  return db
    .selectFrom('oauth_authorizations')
    .selectAll()
    .where('org_id', '=', user.orgId)
    .where('user_id', '=', user.userId)
    .where('revoked_at', 'is', null);
}

/** The user's live authorization of a client, if any (the remembered consent). */
export async function findActiveAuthorization(
  db: Kysely<DB>,
  user: UserScope,
  clientId: string,
): Promise<OAuthAuthorizationsTable | null> {
  return (
    (await liveAuthorizations(db, user)
      .where('client_id', '=', clientId)
      .orderBy('id', 'desc')
      .executeTakeFirst()) ?? null
  );
}

/** Records consent: a new authorization, or the remembered one with its scopes widened. */
export async function upsertAuthorization(
  db: Kysely<DB>,
  input: UserScope & { clientId: string; mode: Mode; grantId: string; scopes: readonly Scope[] },
  now: number,
): Promise<OAuthAuthorizationsTable> {
  const scopes = JSON.stringify(normalizeScopes(input.scopes));
  const existing = await db
    .selectFrom('oauth_authorizations')
    .selectAll()
    .where('grant_id', '=', input.grantId)
    .executeTakeFirst();
  if (existing) {
    await db
      .updateTable('oauth_authorizations')
      .set({ scopes, updated_at: isoAt(now) })
      .where('id', '=', existing.id)
      .execute();
    return { ...existing, scopes, updated_at: isoAt(now) };
  }
  const row: OAuthAuthorizationsTable = {
    id: newId('oauth_authorization', now),
    org_id: input.orgId,
    user_id: input.userId,
    client_id: input.clientId,
    mode: input.mode,
    grant_id: input.grantId,
    scopes,
    created_at: isoAt(now),
    updated_at: isoAt(now),
    last_used_at: null,
    revoked_at: null,
  };
  await db.insertInto('oauth_authorizations').values(row).execute();
  return row;
}

// Read on every token request (the access token's claims name the authorization): compiled once.
const authorizationByGrant = preparedQuery((db, grantId: string) =>
  db.selectFrom('oauth_authorizations').selectAll().where('grant_id', '=', grantId),
);

export async function findAuthorizationByGrant(
  db: Kysely<DB>,
  grantId: string,
): Promise<OAuthAuthorizationsTable | null> {
  return (await authorizationByGrant.first(db, grantId)) ?? null;
}

export interface AuthorizationListing extends OAuthAuthorizationsTable {
  client_name: string;
}

export async function listAuthorizations(
  db: Kysely<DB>,
  user: UserScope,
  page: { limit: number; after: string | null },
): Promise<AuthorizationListing[]> {
  let query = db
    .selectFrom('oauth_authorizations')
    .innerJoin('oauth_clients', 'oauth_clients.id', 'oauth_authorizations.client_id')
    .selectAll('oauth_authorizations')
    .select('oauth_clients.name as client_name')
    .where('oauth_authorizations.org_id', '=', user.orgId)
    .where('oauth_authorizations.user_id', '=', user.userId)
    .where('oauth_authorizations.revoked_at', 'is', null);
  if (page.after) query = query.where('oauth_authorizations.id', '<', page.after);
  return query
    .orderBy('oauth_authorizations.id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

export async function getAuthorization(
  db: Kysely<DB>,
  user: UserScope,
  id: string,
): Promise<OAuthAuthorizationsTable | null> {
  return (await liveAuthorizations(db, user).where('id', '=', id).executeTakeFirst()) ?? null;
}

/** Marks the authorization of a grant revoked (the engine has destroyed or is destroying the grant). */
export async function markGrantRevoked(db: Kysely<DB>, grantId: string, now: number): Promise<void> {
  await db
    .updateTable('oauth_authorizations')
    .set({ revoked_at: isoAt(now), updated_at: isoAt(now) })
    .where('grant_id', '=', grantId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** The grant ids of every live authorization of a client (to revoke them when the client is deleted). */
export async function activeGrantsOfClient(db: Kysely<DB>, clientId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('oauth_authorizations')
    .select('grant_id')
    .where('client_id', '=', clientId)
    .where('revoked_at', 'is', null)
    .execute();
  return rows.map((row) => row.grant_id);
}

/**
 * The live authorizations of a client that hold a scope beyond `ceiling` (its new, narrower scopes): they
 * end when the ceiling shrinks, since no grant may exceed what its client may hold (DESIGN §3).
 */
export async function authorizationsBeyond(
  db: Kysely<DB>,
  clientId: string,
  ceiling: readonly Scope[],
): Promise<OAuthAuthorizationsTable[]> {
  const rows = await db
    .selectFrom('oauth_authorizations')
    .selectAll()
    .where('client_id', '=', clientId)
    .where('revoked_at', 'is', null)
    .execute();
  return rows.filter((row) => scopesBeyond(JSON.parse(row.scopes) as Scope[], ceiling).length > 0);
}

/** Records when authorizations were last used at the API (batched by the usage recorder). */
export async function touchAuthorizations(
  db: Kysely<DB> | Transaction<DB>,
  uses: ReadonlyMap<string, { orgId: string; at: string }>,
): Promise<void> {
  for (const [id, use] of uses) {
    await db
      .updateTable('oauth_authorizations')
      .set({ last_used_at: use.at })
      .where('org_id', '=', use.orgId)
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', use.at)]))
      .execute();
  }
}
