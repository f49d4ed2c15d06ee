/**
 * What the engine reports, recorded: the audit events of the protocol (tokens issued, an app revoking its
 * refresh token, a reused refresh token, a replayed code) and log lines for refused token requests and
 * errors the engine did not expect. Installed on every engine provider.ts builds.
 */
import type { Kysely } from 'kysely';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit/log.ts';
import type { DB, OAuthAuthorizationsTable } from '../../storage/schema.ts';
import { isDatabaseUnavailable } from '../../storage/unavailable.ts';
import { findAuthorizationByGrant } from './authorizations-repository.ts';

/** The authorization a token request issued under, found once (extraTokenClaims), for its audit event. */
export const issuedUnder = new WeakMap<KoaContextWithOIDC, OAuthAuthorizationsTable>();

/**
 * Structured `event:` log lines for the security events of the protocol (the audit log of issue 7 will
 * record the same names), and errors the engine did not expect.
 */
export function observe(provider: Provider, deps: { db: Kysely<DB>; log: Logger; audit: AuditLog }): void {
  const { db, log, audit } = deps;
  const requestOfCtx = (ctx: KoaContextWithOIDC) => ({
    ip: ctx.ip,
    userAgent: ctx.get('user-agent').slice(0, 512) || null,
    requestId: String(ctx.res.getHeader('x-request-id') ?? '') || null,
  });
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const authorization = issuedUnder.get(ctx);
    const clientId = ctx.oidc.client?.clientId;
    if (!authorization || !clientId) return;
    audit.enqueue({
      orgId: authorization.org_id,
      actor: { kind: 'oauth_client', id: clientId },
      action: 'oauth.token_issued',
      target: { kind: 'oauth_authorization', id: authorization.id },
      metadata: { grant_type: ctx.oidc.params?.grant_type, user_id: authorization.user_id },
      request: requestOfCtx(ctx),
    });
  });
  // The engine revokes a grant itself when a refresh token is reused, a code replayed, or an app revokes
  // its refresh token: each is a security event of the org the authorization belongs to.
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    const clientId = ctx.oidc.client?.clientId ?? 'unknown';
    const grantType = ctx.oidc.params?.grant_type;
    const action =
      ctx.oidc.route === 'revocation'
        ? 'oauth.token_revoked'
        : grantType === 'refresh_token'
          ? 'oauth.refresh_reuse_detected'
          : 'oauth.code_replay_detected';
    findAuthorizationByGrant(db, grantId).then(
      (authorization) => {
        if (!authorization) return;
        audit.enqueue({
          orgId: authorization.org_id,
          actor: { kind: 'oauth_client', id: clientId },
          action,
          target: { kind: 'oauth_authorization', id: authorization.id },
          result: action === 'oauth.token_revoked' ? 'success' : 'failure',
          metadata: { user_id: authorization.user_id },
          request: requestOfCtx(ctx),
        });
      },
      (error: unknown) => log.error({ err: error }, 'could not record an OAuth grant revocation'),
    );
  });
  provider.on('grant.error', (ctx: KoaContextWithOIDC, error: Error & { error?: string }) => {
    log.info(
      { event: 'oauth.token_failed', client_id: ctx.oidc.client?.clientId, error: error.error },
      'OAuth token request refused',
    );
  });
  provider.on('server_error', (_ctx: KoaContextWithOIDC, error: Error) => {
    // A database outage is answered with 503 and logged once, when it starts (engine-outages.ts).
    if (isDatabaseUnavailable(error)) return;
    log.error({ err: error }, 'OAuth server error');
  });
}
