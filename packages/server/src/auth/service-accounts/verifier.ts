/**
 * Service-account JWT verification (DESIGN §3). Every rule, each for a reason:
 * - the algorithm is the registered key's, never the token header's (no `none`, no HMAC, no RS/ES confusion);
 * - signature, `iss`, `aud` by `jose`; `exp` required and in the future, `iat` required and at most 60 s
 *   ahead (clock skew), lifetime `exp - iat` ≤ 3600 s: a leaked token is short-lived by construction;
 * - `sub` and `org_id` must be the key's own account and org: a key cannot speak for another account;
 * - `scopes` must lie within the account's ceiling; the request gets exactly the token's scopes;
 * - the key and its account must still exist and the key must not have expired.
 *
 * Verified tokens are cached until they expire (verified-token-cache.ts), evicted on every node when their
 * key or account is deleted, and checked against storage again at least every 30 s after their key was
 * read, in case that message was lost.
 *
 * While the database is slow or down (storage/stale-while-revalidate.ts), a cached token due for that check
 * keeps working for up to `STALE_SERVE_MAX_MS` after its key was read (verified-token-cache.ts), and so does
 * a cached key row: a service that mints a new token during the outage, signed by a key this node read
 * recently, is still verified (signature and every claim rule) against that row. A token whose key this
 * node has not read recently gets the outage's 503.
 */

import { createPublicKey, type KeyObject } from 'node:crypto';
import { isScope, type Scope, scopesBeyond } from '@cohera/shared';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { Kysely } from 'kysely';
import type { Clock } from '../../clock.ts';
import { isoAt } from '../../clock.ts';
import { ApiError } from '../../http/errors.ts';
import type { Freshness } from '../../state/credential-freshness.ts';
import type { Invalidation } from '../../state/invalidation-bus.ts';
import type { DB } from '../../storage/schema.ts';
import {
  freshOrStale,
  STALE_RETRY_MS,
  STALE_REVALIDATE_WAIT_MS,
  STALE_SERVE_MAX_MS,
} from '../../storage/stale-while-revalidate.ts';
import { isDatabaseUnavailable } from '../../storage/unavailable.ts';
import type { BearerVerifier } from '../authenticate.ts';
import type { AuthContext } from '../context.ts';
import {
  CREDENTIAL_RECHECK_MS,
  tokenCacheKey,
  type VerifiedToken,
  VerifiedTokenCache,
} from '../verified-token-cache.ts';
import { findVerificationKey, type VerificationKey } from './repository.ts';

export const CLOCK_SKEW_SECONDS = 60;
export const MAX_LIFETIME_SECONDS = 3600;

const JWT_SHAPE = /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+$/;
const KID_SHAPE = /^sak_[0-9A-Za-z]{22}$/;

interface TokenEntry extends VerifiedToken {
  keyId: string;
  accountId: string;
}

interface KeyEntry {
  key: VerificationKey | null;
  publicKey: KeyObject | null;
  /** When the key row was read (before the query), epoch ms: tokens verified with it are as fresh as this. */
  loadedAt: number;
  staleAt: number;
  /** Set when a re-read failed for want of the database: until then the row is reused without asking. */
  retryAt?: number;
}

export interface ServiceAccountVerifierOptions {
  issuer: string;
  audience: string;
  maxTokens?: number;
  /** How long a key row is reused before it is read again. */
  keyTtlMs?: number;
  /** How long a cached token is served before its key and account are read again. */
  recheckMs?: number;
  /**
   * Overrides `recheckMs` with a bound that follows the invalidation bus (state/credential-freshness.ts),
   * and also caps how long a key row is reused.
   */
  freshness?: Freshness;
}

function invalid(detail: string): ApiError {
  return new ApiError('invalid_credential', detail);
}

export class ServiceAccountVerifier implements BearerVerifier {
  readonly name = 'service-account-jwt';
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #options: Required<Omit<ServiceAccountVerifierOptions, 'freshness'>>;
  readonly #freshness: Freshness;
  readonly #tokens: VerifiedTokenCache<TokenEntry>;
  readonly #keys = new Map<string, KeyEntry>();

  constructor(db: Kysely<DB>, clock: Clock, options: ServiceAccountVerifierOptions) {
    this.#db = db;
    this.#clock = clock;
    this.#options = {
      maxTokens: 10_000,
      keyTtlMs: CREDENTIAL_RECHECK_MS,
      recheckMs: CREDENTIAL_RECHECK_MS,
      ...options,
    };
    this.#freshness = options.freshness ?? { recheckMs: this.#options.recheckMs };
    this.#tokens = new VerifiedTokenCache(this.#options.maxTokens, this.#freshness);
  }

  /** The clock as a function, made once: read when a re-read fails (verified-token-cache.ts). */
  readonly #now = (): number => this.#clock.now();

  get hits(): number {
    return this.#tokens.hits;
  }

  get misses(): number {
    return this.#tokens.misses;
  }

  matches(credential: string): boolean {
    return JWT_SHAPE.test(credential);
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
      this.#tokens.verifyDue(tokenHash, now, this.#now, () => this.#verifySlow(token, tokenHash))
    );
  }

  async #verifySlow(token: string, tokenHash: string): Promise<AuthContext> {
    // Before any read: an eviction from here on means what we read may already be out of date.
    const generation = this.#tokens.generation;
    const kid = this.#kidOf(token);
    const { key, publicKey, loadedAt } = await this.#loadKey(kid);
    if (!key || !publicKey) throw invalid('The token is signed by an unknown key');
    const subject = { orgId: key.orgId, kind: 'service_account' as const, id: key.accountId };
    if (!key.usable) {
      throw new ApiError('revoked_credential', 'The token’s signing key or service account was deleted', {
        subject,
      });
    }
    const now = this.#clock.now();
    if (key.expiresAt !== null && key.expiresAt <= isoAt(now)) {
      throw new ApiError('expired_credential', 'The token’s signing key has expired', { subject });
    }

    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, publicKey, {
        algorithms: [key.algorithm],
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'iat', 'sub', 'iss', 'aud'],
        currentDate: new Date(now),
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired)
        throw new ApiError('expired_credential', 'The token has expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed)
        throw invalid(`The token's "${error.claim}" claim is not acceptable`);
      if (error instanceof joseErrors.JOSEAlgNotAllowed)
        throw invalid(`The token must be signed with ${key.algorithm}`);
      throw invalid('The token signature is not valid');
    }

    const iat = payload.iat as number;
    const exp = payload.exp as number;
    if (iat > now / 1000 + CLOCK_SKEW_SECONDS) throw invalid('The token\'s "iat" is in the future');
    if (exp - iat > MAX_LIFETIME_SECONDS)
      throw invalid(`The token lives longer than ${MAX_LIFETIME_SECONDS} s`);
    if (payload.sub !== key.accountId) throw invalid('The token\'s "sub" is not the key\'s service account');
    if (payload.org_id !== key.orgId)
      throw invalid('The token\'s "org_id" is not the service account\'s organization');
    const scopes = payload.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every(isScope)) {
      throw invalid('The token\'s "scopes" must be a non-empty array of Cohera scopes');
    }
    if (scopesBeyond(scopes as Scope[], key.ceiling).length > 0) {
      throw invalid("The token claims scopes beyond its service account's");
    }

    const context: AuthContext = {
      orgId: key.orgId,
      mode: key.mode,
      principal: { kind: 'service_account', id: key.accountId },
      credentialId: key.keyId,
      scopes: scopes as Scope[],
      expiresAt: isoAt(exp * 1000),
      via: 'bearer',
    };
    this.#tokens.remember(
      tokenHash,
      {
        context,
        // Never past the token's own end, nor past its key's.
        validUntil: Math.min(
          (exp + CLOCK_SKEW_SECONDS) * 1000,
          key.expiresAt ? Date.parse(key.expiresAt) : Infinity,
        ),
        // As fresh as the key row it was checked against (which may come from the key cache), not newer.
        checkedAt: loadedAt,
        // A row that was due for its re-read was served as it is (the database did not answer): the token
        // stands on it too, so it is not verified again (another signature check) until the row is retried.
        ...(now - loadedAt >= this.#freshness.recheckMs ? { retryAt: now + STALE_RETRY_MS } : {}),
        keyId: key.keyId,
        accountId: key.accountId,
      },
      generation,
    );
    return context;
  }

  #kidOf(token: string): string {
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
    } catch {
      throw invalid('The token header is not valid');
    }
    // `null` parses fine and has no properties: reading `.kid` from it would be a 500.
    if (typeof header !== 'object' || header === null) throw invalid('The token header is not valid');
    const { kid } = header as { kid?: unknown };
    if (typeof kid !== 'string' || !KID_SHAPE.test(kid)) {
      throw invalid('The token header must name its signing key ("kid")');
    }
    return kid;
  }

  async #loadKey(kid: string): Promise<KeyEntry> {
    const now = this.#clock.now();
    const cached = this.#keys.get(kid);
    // A token is only as fresh as its key row (`checkedAt: loadedAt`), so the row obeys the same bound.
    if (cached && cached.staleAt > now && now - cached.loadedAt < this.#freshness.recheckMs) return cached;
    // A known key due for its re-read, confirmed recently enough to outlast an outage (see the top).
    if (cached?.key && now - cached.loadedAt < STALE_SERVE_MAX_MS) {
      if (cached.retryAt !== undefined && now < cached.retryAt) return cached;
      const fresh = this.#readKey(kid, now);
      fresh.catch((error: unknown) => {
        if (isDatabaseUnavailable(error)) cached.retryAt = this.#clock.now() + STALE_RETRY_MS;
      });
      return freshOrStale(fresh, cached, STALE_REVALIDATE_WAIT_MS);
    }
    return this.#readKey(kid, now);
  }

  async #readKey(kid: string, now: number): Promise<KeyEntry> {
    const generation = this.#tokens.generation;
    const key = await findVerificationKey(this.#db, kid);
    const entry: KeyEntry = {
      key,
      publicKey: key ? createPublicKey(key.publicKeyPem) : null,
      loadedAt: now,
      staleAt: now + (key ? this.#options.keyTtlMs : 5_000),
    };
    // A row read before a deletion was announced is used for this request only, never kept for others.
    if (generation !== this.#tokens.generation) return entry;
    if (this.#keys.size >= 10_000) this.#keys.clear();
    this.#keys.set(kid, entry);
    return entry;
  }

  /** Drops cached keys and tokens of a deleted key or account (`credentialId` is either id). */
  apply(message: Invalidation): void {
    if (message.kind === 'all') {
      this.#tokens.clear();
      this.#keys.clear();
      return;
    }
    if (message.kind !== 'credential') return;
    const id = message.credentialId;
    for (const [kid, entry] of this.#keys) {
      if (kid === id || entry.key?.accountId === id) this.#keys.delete(kid);
    }
    this.#tokens.evict((entry) => entry.keyId === id || entry.accountId === id);
  }
}
