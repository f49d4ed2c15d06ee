/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of every token we issue, JWT access tokens included.
 *
 * The engine stores opaque tokens (refresh tokens) and finds them itself, but refuses any JWT at both
 * endpoints with `unsupported_token_type` (its `rejectStructuredTokens` step): a JWT access token is not
 * stored, and it has no hook to look one up. So this is one Koa step around the engine's routes:
 * - the engine runs first and does everything it does well: parsing, duplicate parameters, client
 *   authentication (our hashed secrets), the `token` presence check;
 * - when it refused a token for being a JWT, the client is authenticated by then, and this step answers
 *   for our access tokens instead: verified now, against storage (signature and key, `typ at+jwt`, `iss`,
 *   `aud`, `exp`, the authorization, the client, the membership and the denylist: token-verifier.ts);
 * - refresh tokens stay the engine's; its introspection answer gets `org_id` and `token_type`, and turns
 *   inactive when the authorization behind the token has ended (the person left the org).
 *
 * Who may ask: only the client a token was issued to learns anything about it or may revoke it. Another
 * client gets `{active: false}` (RFC 7662 §2.2) or a 200 that changes nothing (RFC 7009 §2.2), exactly as
 * for a token that does not exist. Introspection requires client authentication (RFC 7662 §2.1), so a
 * public client is `invalid_client`; revocation does not (RFC 7009 §2.1: public clients identify
 * themselves with `client_id`), so `cohera logout` can revoke the CLI's tokens.
 *
 * Revoking an access token records its `jti` until it expires (revoked-tokens.ts) and tells every node's
 * verifier to drop it, after the commit (the invalidation bus), so the API refuses it within a second.
 * The token's refresh token and authorization are untouched: RFC 7009 §2.1 leaves that to the server, and
 * an app revoking the access token it holds in a page must not sign the user out of its other sessions.
 */
import type { Kysely } from 'kysely';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit/log.ts';
import type { Clock } from '../../clock.ts';
import { ApiError } from '../../http/errors.ts';
import type { InvalidationBus } from '../../state/invalidation-bus.ts';
import { inTransaction } from '../../storage/database.ts';
import type { DB } from '../../storage/schema.ts';
import { recordRevokedToken } from './revoked-tokens.ts';
import type { OAuthTokenVerifier, VerifiedAccessToken } from './token-verifier.ts';

/** How long past `exp` the verifier still accepts a token (its clock skew): the denylist keeps it as long. */
const CLOCK_SKEW_SECONDS = 60;

export interface AccessTokenEndpointDeps {
  db: Kysely<DB>;
  clock: Clock;
  bus: InvalidationBus;
  audit: AuditLog;
  log: Pick<Logger, 'error'>;
  /** A verifier with no cache (recheck every time): introspection answers what is true now. */
  verifier: OAuthTokenVerifier;
}

type Body = Record<string, unknown>;

function requestOfCtx(ctx: KoaContextWithOIDC) {
  return {
    ip: ctx.ip,
    userAgent: ctx.get('user-agent').slice(0, 512) || null,
    requestId: String(ctx.res.getHeader('x-request-id') ?? '') || null,
  };
}

function answer(ctx: KoaContextWithOIDC, status: number, body: Body | string): void {
  ctx.status = status;
  ctx.body = body;
  ctx.set('cache-control', 'no-store');
  if (typeof body === 'string') ctx.type = 'text/plain';
}

/** Verifies one of our access tokens now; null when it is not (any more) a token we honour. */
async function inspect(verifier: OAuthTokenVerifier, token: string): Promise<VerifiedAccessToken | null> {
  if (!verifier.matches(token)) return null;
  try {
    return await verifier.inspect(token);
  } catch (error) {
    // Invalid, expired, revoked, or its authorization ended: inactive, for the reason nobody is told.
    if (error instanceof ApiError) return null;
    throw error;
  }
}

/** RFC 7662 §2.2: the answer for one of our access tokens, to the client it was issued to. */
function introspectionOf({ context, claims }: VerifiedAccessToken): Body {
  return {
    active: true,
    scope: context.scopes.join(' '),
    client_id: claims.client_id,
    sub: claims.sub,
    org_id: claims.org_id,
    mode: context.mode,
    exp: claims.exp,
    iat: claims.iat,
    iss: claims.iss,
    aud: claims.aud,
    jti: claims.jti,
    token_type: 'access_token',
  };
}

async function introspectAccessToken(ctx: KoaContextWithOIDC, deps: AccessTokenEndpointDeps) {
  const verified = await inspect(deps.verifier, String(ctx.oidc.params?.token ?? ''));
  const mine = verified !== null && verified.claims.client_id === ctx.oidc.client?.clientId;
  answer(ctx, 200, mine ? introspectionOf(verified) : { active: false });
}

async function revokeAccessToken(ctx: KoaContextWithOIDC, deps: AccessTokenEndpointDeps) {
  const verified = await inspect(deps.verifier, String(ctx.oidc.params?.token ?? ''));
  const clientId = ctx.oidc.client?.clientId;
  // RFC 7009 §2.2: an invalid token, or one of another client, is answered 200 and left alone.
  answer(ctx, 200, '');
  if (!verified || verified.claims.client_id !== clientId) return;
  const { claims, context } = verified;
  const now = deps.clock.now();
  await inTransaction(deps.db, async (trx) => {
    await recordRevokedToken(
      trx,
      {
        jti: claims.jti,
        orgId: claims.org_id,
        clientId: claims.client_id,
        expiresAt: (claims.exp + CLOCK_SKEW_SECONDS) * 1000,
      },
      now,
    );
    await deps.audit.record(trx, {
      orgId: claims.org_id,
      actor: { kind: 'oauth_client', id: claims.client_id },
      action: 'oauth.access_token_revoked',
      target: context.credentialId ? { kind: 'oauth_authorization', id: context.credentialId } : null,
      metadata: {
        user_id: claims.sub,
        jti: claims.jti,
        expires_at: new Date(claims.exp * 1000).toISOString(),
      },
      request: requestOfCtx(ctx),
    });
  });
  // After the commit: a node that verified the token before now drops it (verifier.apply matches the jti).
  await deps.bus.publish({ kind: 'credential', credentialId: claims.jti });
}

/**
 * The engine's answer about a refresh token, completed: `org_id` and `token_type` beside its fields, and
 * inactive when the authorization ended, the client was deleted or the person is no longer a member (the
 * engine knows only its own grant).
 */
async function completeRefreshIntrospection(ctx: KoaContextWithOIDC, db: Kysely<DB>) {
  const body = ctx.body as Body;
  const grantId = ctx.oidc.entities.RefreshToken?.grantId;
  const row = grantId
    ? await db
        .selectFrom('oauth_authorizations as authorization')
        .innerJoin('oauth_clients as client', 'client.id', 'authorization.client_id')
        .innerJoin('memberships as membership', (join) =>
          join
            .onRef('membership.org_id', '=', 'authorization.org_id')
            .onRef('membership.user_id', '=', 'authorization.user_id'),
        )
        .select(['authorization.org_id', 'authorization.mode', 'authorization.user_id'])
        .where('authorization.grant_id', '=', grantId)
        .where('authorization.revoked_at', 'is', null)
        .where('client.deleted_at', 'is', null)
        .executeTakeFirst()
    : undefined;
  if (!row || row.user_id !== body.sub) {
    ctx.body = { active: false };
    return;
  }
  ctx.body = { ...body, org_id: row.org_id, mode: row.mode, token_type: 'refresh_token' };
}

/** Installs the step on an engine (see the module comment). */
export function installAccessTokenEndpoints(provider: Provider, deps: AccessTokenEndpointDeps): void {
  /** Requests the engine refused because the token is a JWT (set by its error events, read below). */
  const refusedJwt = new WeakSet<object>();
  const onError = (ctx: KoaContextWithOIDC, error: { error?: string }) => {
    if (error?.error === 'unsupported_token_type') refusedJwt.add(ctx);
  };
  provider.on('introspection.error', onError);
  provider.on('revocation.error', onError);

  provider.use(async (koa, next) => {
    await next();
    const ctx = koa as KoaContextWithOIDC;
    const route = ctx.oidc?.route;
    if (route !== 'introspection' && route !== 'revocation') return;
    const client = ctx.oidc.client;
    // RFC 7662 §2.1: the caller must authenticate. Checked here for every token, so a public client cannot
    // even learn whether a string is a token (the engine's policy runs only once it found one).
    if (route === 'introspection' && client?.clientAuthMethod === 'none') {
      // 400, as the engine answers a client it refuses for an endpoint (RFC 6749 §5.2 allows it without Basic).
      answer(ctx, 400, {
        error: 'invalid_client',
        error_description: 'introspection requires client authentication (a confidential client)',
      });
      return;
    }
    try {
      if (refusedJwt.has(ctx) && client) {
        if (route === 'introspection') await introspectAccessToken(ctx, deps);
        else await revokeAccessToken(ctx, deps);
      } else if (
        route === 'introspection' &&
        ctx.status === 200 &&
        (ctx.body as Body | undefined)?.active === true &&
        ctx.oidc.entities.RefreshToken
      ) {
        await completeRefreshIntrospection(ctx, deps.db);
      }
    } catch (error) {
      deps.log.error({ err: error, route }, 'OAuth introspection or revocation failed');
      answer(ctx, 500, { error: 'server_error', error_description: 'the request could not be completed' });
    }
  });
}
