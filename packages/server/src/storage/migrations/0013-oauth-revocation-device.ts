/**
 * OAuth: revocable access tokens and the device authorization grant (issue 17, DESIGN §5.3).
 * - `oauth_revoked_tokens`: the `jti` of every access token revoked at `/oauth/revoke` (RFC 7009). Access
 *   tokens are self-contained JWTs, never stored, so a revoked one is remembered here until its `exp` (then
 *   purged): the API and `/oauth/introspect` refuse a token whose `jti` is listed.
 * - `oauth_artifacts.polled_at`: when a device last polled the token endpoint with its device code, so a
 *   device that polls faster than the interval is told `slow_down` (RFC 8628 §3.5) by whichever node it hits.
 * - The first-party public client `cohera-cli` (the `cohera login` device flow), owned by the installation's
 *   system org: a client belongs to an org, and this one belongs to none of the customers'. Which org a token
 *   acts in comes from the person who signs in (their membership), as for every client.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

/** The installation's own org: it owns first-party clients and has no members, keys or data. */
export const SYSTEM_ORG_ID = 'org_0000000000000000000000';
export const CLI_CLIENT_ID = 'cohera-cli';
/** The CLI may ask for any API scope; what it gets is what the person signing in holds. */
export const CLI_CLIENT_SCOPES = ['admin'] as const;

export function oauthRevocationDevice(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('oauth_revoked_tokens')
        .addColumn('jti', id, (c) => c.primaryKey())
        .addColumn('org_id', id, (c) => c.notNull())
        .addColumn('client_id', id, (c) => c.notNull())
        .addColumn('revoked_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('oauth_revoked_tokens_expiry')
        .on('oauth_revoked_tokens')
        .column('expires_at')
        .execute();

      await db.schema.alterTable('oauth_artifacts').addColumn('polled_at', 'text').execute();
      // The verification page finds a device code by its user code (the engine's findByUserCode).
      await db.schema
        .createIndex('oauth_artifacts_user_code')
        .on('oauth_artifacts')
        .columns(['model', 'user_code'])
        .execute();

      const now = new Date().toISOString();
      await sql`
        insert into orgs (id, name, tier, created_at, updated_at)
        values (${SYSTEM_ORG_ID}, ${'Cohera'}, ${'free'}, ${now}, ${now})
      `.execute(db);
      await sql`
        insert into oauth_clients (id, org_id, mode, name, client_type, redirect_uris, redirect_uri_problems,
          scopes, created_by_kind, created_by_id, created_at, updated_at)
        values (${CLI_CLIENT_ID}, ${SYSTEM_ORG_ID}, ${'live'}, ${'Cohera CLI'}, ${'public'}, ${'[]'}, ${'[]'},
          ${JSON.stringify(CLI_CLIENT_SCOPES)}, ${'system'}, ${'system'}, ${now}, ${now})
      `.execute(db);
    },
    async down(): Promise<void> {
      throw new Error('migration 0013-oauth-revocation-device cannot be reverted');
    },
  };
}
