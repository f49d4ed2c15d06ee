/**
 * The access-token denylist (RFC 7009 for JWT access tokens). An access token is a self-contained JWT that
 * nothing stores, so revoking one means remembering its `jti` until the token would have expired anyway;
 * after that the signature check refuses it on its own and the row is purged.
 */
import type { Kysely } from 'kysely';
import { isoAt } from '../../clock.ts';
import type { DB } from '../../storage/schema.ts';

export interface RevokedToken {
  jti: string;
  orgId: string;
  clientId: string;
  /** The token's `exp` (plus the clock skew the verifier allows), epoch ms. */
  expiresAt: number;
}

/** Records a revoked token; revoking it twice keeps the first record. */
export async function recordRevokedToken(db: Kysely<DB>, token: RevokedToken, now: number): Promise<void> {
  await db
    .insertInto('oauth_revoked_tokens')
    .values({
      jti: token.jti,
      org_id: token.orgId,
      client_id: token.clientId,
      revoked_at: isoAt(now),
      expires_at: isoAt(token.expiresAt),
    })
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute();
}

export async function isTokenRevoked(db: Kysely<DB>, jti: string): Promise<boolean> {
  const row = await db
    .selectFrom('oauth_revoked_tokens')
    .select('jti')
    .where('jti', '=', jti)
    .executeTakeFirst();
  return row !== undefined;
}

/** Deletes the records of tokens past their expiry (they can no longer be presented successfully). */
export async function purgeRevokedTokens(db: Kysely<DB>, now: number): Promise<number> {
  const result = await db
    .deleteFrom('oauth_revoked_tokens')
    .where('expires_at', '<=', isoAt(now))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
