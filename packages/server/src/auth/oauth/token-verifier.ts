/**
 * OAuth access tokens at the API (DESIGN §3): JWTs the authorization server signed, checked like this:
 * - the header names one of our signing keys (`kid` = `osk_…`), `alg` ES256 and `typ` `at+jwt` (RFC 9068),
 *   so a service-account token or an ID token can never pass for an access token;
 * - signature, `iss` (our issuer URL), `aud` (`COHERA_AUDIENCE`), `exp`, `iat` by `jose`;
 * - its authorization (`authorization_id`) is live, for this user, org and client, the client still exists
 *   and the user is still a member of the org;
 * - the request gets the token's scopes, narrowed to what the user's role holds today.
 *
 * A verified token is cached by SHA-256 until it expires (the same scheme as service-account tokens), and
 * evicted on every node when its grant or the token itself is revoked (invalidation bus).
 */
import { createPublicKey, hash, type JsonWebKey, type KeyObject } from 'node:crypto';
import { hasScope, isScope, type Scope } from '@cohera/shared';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { Kysely } from 'kysely';
import type { Clock } from '../../clock.ts';
import { isoAt } from '../../clock.ts';
import { ApiError } from '../../http/errors.ts';
import type { Invalidation } from '../../state/invalidation-bus.ts';
import type { DB } from '../../storage/schema.ts';
import type { BearerVerifier } from '../authenticate.ts';
import type { AuthContext } from '../context.ts';
import { scopesForRole } from '../sessions/store.ts';
import { type VerifiedToken, VerifiedTokenCache } from '../verified-token-cache.ts';
import { findPublicSigningKey } from './signing-keys.ts';

const CLOCK_SKEW_SECONDS = 60;
const JWT_SHAPE = /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+$/;
const KID_SHAPE = /^osk_[0-9A-Za-z]{22}$/;

interface TokenEntry extends VerifiedToken {
  jti: string;
  grantId: string;
}

export interface OAuthTokenVerifierOptions {
  issuer: string;
  audience: string;
  maxTokens?: number;
}

function invalid(detail: string): ApiError {
  return new ApiError('invalid_credential', detail);
}

export class OAuthTokenVerifier implements BearerVerifier {
  readonly name = 'oauth-access-token';
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #options: Required<OAuthTokenVerifierOptions>;
  readonly #tokens: VerifiedTokenCache<TokenEntry>;
  readonly #keys = new Map<string, { key: KeyObject | null; staleAt: number }>();

  constructor(db: Kysely<DB>, clock: Clock, options: OAuthTokenVerifierOptions) {
    this.#db = db;
    this.#clock = clock;
    this.#options = { maxTokens: 10_000, ...options };
    this.#tokens = new VerifiedTokenCache(this.#options.maxTokens);
  }

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

  verify(token: string): AuthContext | Promise<AuthContext> {
    const tokenHash = hash('sha256', token, 'base64url');
    return this.#tokens.lookup(tokenHash, this.#clock.now()) ?? this.#verifySlow(token, tokenHash);
  }

  async #verifySlow(token: string, tokenHash: string): Promise<AuthContext> {
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
      typeof orgId !== 'string' ||
      typeof authorizationId !== 'string' ||
      !Array.isArray(claimed) ||
      !claimed.every(isScope)
    ) {
      throw invalid('The token lacks the "org_id", "authorization_id" or "scopes" claims of a Cohera token');
    }

    const row = await this.#db
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
      ])
      .where('authorization.id', '=', authorizationId)
      .where('authorization.revoked_at', 'is', null)
      .where('client.deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) throw new ApiError('revoked_credential', 'The authorization of this token was revoked');
    if (row.user_id !== sub || row.org_id !== orgId || row.client_id !== clientId) {
      throw invalid('The token does not match its authorization');
    }

    const roleScopes = scopesForRole(row.role);
    const scopes = (claimed as Scope[]).filter((scope) => hasScope(roleScopes, scope));
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
    this.#tokens.remember(tokenHash, {
      context,
      validUntil: ((exp as number) + CLOCK_SKEW_SECONDS) * 1000,
      jti: String(jti),
      grantId: row.grant_id,
    });
    return context;
  }

  async #key(kid: string): Promise<KeyObject | null> {
    const now = this.#clock.now();
    const cached = this.#keys.get(kid);
    if (cached && cached.staleAt > now) return cached.key;
    const jwk = await findPublicSigningKey(this.#db, kid, now);
    const key = jwk ? createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }) : null;
    if (this.#keys.size >= 1_000) this.#keys.clear();
    // A known key is rechecked every minute (it may have retired past its overlap); an unknown one in 5 s.
    this.#keys.set(kid, { key, staleAt: now + (key ? 60_000 : 5_000) });
    return key;
  }

  /** Evicts tokens of a revoked grant or a revoked token (`credentialId` is either id). */
  apply(message: Invalidation): void {
    if (message.kind === 'all') {
      this.#tokens.clear();
      this.#keys.clear();
      return;
    }
    if (message.kind !== 'credential') return;
    const id = message.credentialId;
    this.#tokens.evict((entry) => entry.grantId === id || entry.jti === id);
  }
}
