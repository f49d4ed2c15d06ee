/**
 * OAuth access tokens at the API (DESIGN §3): JWTs the authorization server signed, checked like this:
 * - the header names one of our signing keys (`kid` = `osk_…`), `alg` ES256 and `typ` `at+jwt` (RFC 9068),
 *   so a service-account token or an ID token can never pass for an access token;
 * - signature, `iss` (our issuer URL), `aud` (`COHERA_AUDIENCE`), `exp`, `iat` by `jose`;
 * - its authorization (`authorization_id`) is live, for this user, org and client, the client still exists
 *   and the user is still a member of the org;
 * - its `jti` was not revoked at `/oauth/revoke` (RFC 7009; revoked-tokens.ts);
 * - the request gets the token's scopes, narrowed to what the user's role holds today and to the client's
 *   current scopes (an app whose scopes were narrowed gets no more, even from a token issued before).
 *
 * A verified token is cached by SHA-256 (the same scheme as service-account tokens), evicted on every node
 * when its grant or the token itself is revoked or its user's membership changes (invalidation bus), and
 * checked against storage again (authorization, membership and the denylist) at least every 30 s, in case
 * such a message was lost. While the database is slow or down, a cached token due for that check keeps
 * working for up to `STALE_SERVE_MAX_MS` after storage last confirmed it (verified-token-cache.ts); a token
 * this node never verified gets the outage's 503, never a 401. `inspect` never serves from the cache.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { hasScope, isScope, type Scope } from '@cohera/shared';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { Kysely } from 'kysely';
import type { Clock } from '../../clock.ts';
import { isoAt } from '../../clock.ts';
import { ApiError } from '../../http/errors.ts';
import type { Freshness } from '../../state/credential-freshness.ts';
import type { Invalidation } from '../../state/invalidation-bus.ts';
import type { DB } from '../../storage/schema.ts';
import type { BearerVerifier } from '../authenticate.ts';
import type { AuthContext } from '../context.ts';
import { scopesForRole } from '../sessions/store.ts';
import {
  CREDENTIAL_RECHECK_MS,
  tokenCacheKey,
  type VerifiedToken,
  VerifiedTokenCache,
} from '../verified-token-cache.ts';
import { isTokenRevoked } from './revoked-tokens.ts';
import { findPublicSigningKey } from './signing-keys.ts';

const CLOCK_SKEW_SECONDS = 60;
const JWT_SHAPE = /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+$/;
const KID_SHAPE = /^osk_[0-9A-Za-z]{22}$/;

interface TokenEntry extends VerifiedToken {
  jti: string;
  grantId: string;
}

/** A verified access token: what the API acts on, and the claims introspection (RFC 7662) reports. */
export interface VerifiedAccessToken {
  context: AuthContext;
  claims: {
    jti: string;
    sub: string;
    client_id: string;
    org_id: string;
    exp: number;
    iat: number;
    iss: string;
    aud: string | string[];
  };
}

export interface OAuthTokenVerifierOptions {
  issuer: string;
  audience: string;
  maxTokens?: number;
  /** How long a cached token is served before its authorization and membership are read again. */
  recheckMs?: number;
  /** Overrides `recheckMs` with a bound that follows the invalidation bus (state/credential-freshness.ts). */
  freshness?: Freshness;
}

function invalid(detail: string): ApiError {
  return new ApiError('invalid_credential', detail);
}

export class OAuthTokenVerifier implements BearerVerifier {
  readonly name = 'oauth-access-token';
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #options: Required<Omit<OAuthTokenVerifierOptions, 'freshness'>>;
  readonly #tokens: VerifiedTokenCache<TokenEntry>;
  readonly #keys = new Map<string, { key: KeyObject | null; staleAt: number }>();

  constructor(db: Kysely<DB>, clock: Clock, options: OAuthTokenVerifierOptions) {
    this.#db = db;
    this.#clock = clock;
    this.#options = { maxTokens: 10_000, recheckMs: CREDENTIAL_RECHECK_MS, ...options };
    this.#tokens = new VerifiedTokenCache(
      this.#options.maxTokens,
      options.freshness ?? this.#options.recheckMs,
    );
  }

  /** The clock as a function, made once: read when a re-read fails (verified-token-cache.ts). */
  readonly #now = (): number => this.#clock.now();

  get hits(): number {
    return this.#tokens.hits;
  }

  get misses(): number {
    return this.#tokens.misses;
  }

  /** Ours when the header names one of our signing keys; anything else goes to the next verifier. */
  matches(credential: string): boolean {
    if (!JWT_SHAPE.test(credential)) return false;
    const header = credential.slice(0, credential.indexOf('.'));
    return Buffer.from(header, 'base64url').toString('latin1').includes('"kid":"osk_');
  }

  /** A token this verifier verified before and still trusts, by its cache key (authenticate.ts). */
  cached(tokenHash: string, now: number): AuthContext | undefined {
    return this.#tokens.fresh(tokenHash, now);
  }

  verify(token: string): AuthContext | Promise<AuthContext> {
    const tokenHash = tokenCacheKey(token);
    const now = this.#clock.now();
    return (
      this.#tokens.lookup(tokenHash, now) ??
      this.#tokens.verifyDue(
        tokenHash,
        now,
        this.#now,
        async () => (await this.#verifySlow(token, tokenHash)).context,
      )
    );
  }

  /**
   * Verifies a token against storage now, never from the cache (introspection and revocation must answer
   * with what is true at this moment), and returns its claims too. Throws the same errors as `verify`.
   */
  inspect(token: string): Promise<VerifiedAccessToken> {
    return this.#verifySlow(token, tokenCacheKey(token));
  }

  async #verifySlow(token: string, tokenHash: string): Promise<VerifiedAccessToken> {
    // Before any read: an eviction from here on means what we read may already be out of date.
    const generation = this.#tokens.generation;
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw invalid('The token header is not valid');
    }
    if (typeof header.kid !== 'string' || !KID_SHAPE.test(header.kid)) {
      throw invalid('The token is not signed by a Cohera key');
    }
    const key = await this.#key(header.kid);
    if (!key) throw invalid('The token is signed by an unknown or retired key');
    const now = this.#clock.now();

    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: ['ES256'],
        typ: 'at+jwt',
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
        currentDate: new Date(now),
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) {
        throw new ApiError('expired_credential', 'The access token has expired');
      }
      if (error instanceof joseErrors.JWTClaimValidationFailed) {
        throw invalid(`The token's "${error.claim}" claim is not acceptable`);
      }
      throw invalid('The token signature is not valid');
    }
    const { jti, sub, client_id: clientId, org_id: orgId, authorization_id: authorizationId, exp } = payload;
    const claimed = payload.scopes;
    if (
      typeof jti !== 'string' ||
      typeof orgId !== 'string' ||
      typeof authorizationId !== 'string' ||
      !Array.isArray(claimed) ||
      !claimed.every(isScope)
    ) {
      throw invalid('The token lacks the "org_id", "authorization_id" or "scopes" claims of a Cohera token');
    }

    const authorization = this.#db
      .selectFrom('oauth_authorizations as authorization')
      .innerJoin('oauth_clients as client', 'client.id', 'authorization.client_id')
      .innerJoin('memberships as membership', (join) =>
        join
          .onRef('membership.org_id', '=', 'authorization.org_id')
          .onRef('membership.user_id', '=', 'authorization.user_id'),
      )
      .select([
        'authorization.grant_id',
        'authorization.org_id',
        'authorization.user_id',
        'authorization.client_id',
        'authorization.mode',
        'membership.role',
        'client.scopes as client_scopes',
      ])
      .where('authorization.id', '=', authorizationId)
      .where('authorization.revoked_at', 'is', null)
      .where('client.deleted_at', 'is', null)
      .executeTakeFirst();
    const [row, revoked] = await Promise.all([authorization, isTokenRevoked(this.#db, jti)]);
    if (revoked) throw new ApiError('revoked_credential', 'This access token was revoked');
    if (!row) throw new ApiError('revoked_credential', 'The authorization of this token was revoked');
    if (row.user_id !== sub || row.org_id !== orgId || row.client_id !== clientId) {
      throw invalid('The token does not match its authorization');
    }

    const roleScopes = scopesForRole(row.role);
    const clientScopes = JSON.parse(row.client_scopes) as string[];
    const scopes = (claimed as Scope[]).filter(
      (scope) => hasScope(roleScopes, scope) && hasScope(clientScopes, scope),
    );
    const context: AuthContext = {
      orgId: row.org_id,
      mode: row.mode,
      principal: { kind: 'user', id: row.user_id },
      clientId: row.client_id,
      credentialId: authorizationId,
      scopes,
      expiresAt: isoAt((exp as number) * 1000),
      via: 'bearer',
    };
    this.#tokens.remember(
      tokenHash,
      {
        context,
        validUntil: ((exp as number) + CLOCK_SKEW_SECONDS) * 1000,
        // `now` was taken before the authorization and membership were read: the recheck counts from then.
        checkedAt: now,
        jti,
        grantId: row.grant_id,
      },
      generation,
    );
    return {
      context,
      claims: {
        jti,
        sub: row.user_id,
        client_id: row.client_id,
        org_id: row.org_id,
        exp: exp as number,
        iat: payload.iat as number,
        iss: this.#options.issuer,
        aud: payload.aud as string | string[],
      },
    };
  }

  /**
   * Bumped whenever the cached keys are dropped (a signing-key revocation): a lookup that read the key table
   * before that may hold a key just withdrawn, and must not put it back in the cache.
   */
  #keysGeneration = 0;

  async #key(kid: string): Promise<KeyObject | null> {
    const now = this.#clock.now();
    const cached = this.#keys.get(kid);
    if (cached && cached.staleAt > now) return cached.key;
    const generation = this.#keysGeneration;
    const jwk = await findPublicSigningKey(this.#db, kid, now);
    const key = jwk ? createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }) : null;
    if (generation !== this.#keysGeneration) return key;
    if (this.#keys.size >= 1_000) this.#keys.clear();
    // A known key is rechecked every minute (it may have retired past its overlap); an unknown one in 5 s.
    this.#keys.set(kid, { key, staleAt: now + (key ? 60_000 : 5_000) });
    return key;
  }

  /**
   * Evicts tokens of a revoked grant or a revoked token (`credentialId` is either id), and every token of a
   * user in an org whose role there changed or who left it: their scopes were narrowed to the old role; and
   * every token and key when the signing keys were revoked.
   */
  apply(message: Invalidation): void {
    // `signing_keys`: keys were withdrawn (an emergency revocation); every token they signed must be
    // verified again, against the key table that no longer has them.
    if (message.kind === 'all' || message.kind === 'signing_keys') {
      this.#tokens.clear();
      this.#keys.clear();
      this.#keysGeneration++;
      return;
    }
    if (message.kind === 'member') {
      const { orgId, userId } = message;
      this.#tokens.evict(
        ({ context }) =>
          context.orgId === orgId && context.principal.kind === 'user' && context.principal.id === userId,
      );
      return;
    }
    if (message.kind !== 'credential') return;
    const id = message.credentialId;
    this.#tokens.evict((entry) => entry.grantId === id || entry.jti === id);
  }
}
