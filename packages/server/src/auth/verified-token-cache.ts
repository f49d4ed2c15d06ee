/**
 * The verified-token cache both JWT verifiers share (service-account tokens and OAuth access tokens, DESIGN
 * §7): an asymmetric signature costs ~5× an API-key check, so a token that verified is remembered by its
 * SHA-256, and a client that reuses its token (as the SDK does) pays for the signature once.
 *
 * How long an entry is trusted:
 * - never past the token's own end (`validUntil`): the cache never extends a token's life;
 * - until something it depends on changes: the invalidation bus evicts it on every node within a second
 *   (a deleted key or account, a revoked grant, a member demoted or removed);
 * - at most `recheckMs` (30 s, the same bound as the API-key cache; 2 s while the bus is unhealthy:
 *   state/credential-freshness.ts) after storage last confirmed it (`checkedAt`): a stale entry is a miss,
 *   so the verifier reads storage again before serving the token. This is the backstop when a bus message
 *   is lost (a publish that failed, a node partitioned from Redis); without it a token outlived its
 *   revocation by up to its `exp`, an hour.
 * A hit stays one Map lookup and two comparisons, with no promise and no query.
 *
 * When the database is slow or down, a token due for its re-read keeps working like a cached API key
 * (storage/stale-while-revalidate.ts, docs/operations.md): `verifyDue` waits for the re-read at most
 * `STALE_REVALIDATE_WAIT_MS`, serves the entry as it is when the re-read is slow or fails for want of the
 * database, asks again only after `STALE_RETRY_MS`, and stops serving it `STALE_SERVE_MAX_MS` after storage
 * last confirmed it. The token's end still applies, an eviction still removes the entry, and a re-read that
 * refuses the token (revoked, deleted) removes it too. A token never verified gets the outage (503).
 */
import { hash } from 'node:crypto';
import { ApiError } from '../http/errors.ts';
import { CREDENTIAL_RECHECK_MS, type Freshness } from '../state/credential-freshness.ts';
import {
  freshOrStale,
  STALE_RETRY_MS,
  STALE_REVALIDATE_WAIT_MS,
  STALE_SERVE_MAX_MS,
} from '../storage/stale-while-revalidate.ts';
import { isDatabaseUnavailable } from '../storage/unavailable.ts';
import type { AuthContext } from './context.ts';

/**
 * How long a cached credential is served without asking storage again while the bus is healthy: the bound
 * on how stale a node can be when an invalidation message never reaches it (docs/operations.md). API keys
 * use the same interval.
 */
export { CREDENTIAL_RECHECK_MS };

export interface VerifiedToken {
  context: AuthContext;
  /** Until when the token is acceptable (its `exp` plus the clock skew allowed), epoch ms. */
  validUntil: number;
  /** When storage last confirmed what the context rests on (taken before that read), epoch ms. */
  checkedAt: number;
  /** Set when a re-read failed for want of the database: until then the entry is served without asking. */
  retryAt?: number;
}

/** The key a token is cached under: its SHA-256, so the cache never holds a usable token. */
export function tokenCacheKey(token: string): string {
  return hash('sha256', token, 'base64url');
}

export class VerifiedTokenCache<Entry extends VerifiedToken> {
  readonly #entries = new Map<string, Entry>();
  /** Verifications in flight per token, so a burst with one new or stale token makes one storage read. */
  readonly #pending = new Map<string, Promise<AuthContext>>();
  readonly #max: number;
  readonly #freshness: Freshness;
  /**
   * Bumped by every eviction. A verification that read storage before an eviction may have read the old
   * state (the role before the demotion, the grant before its revocation) and must not cache it: `remember`
   * takes the generation seen before the read and drops the result when it changed meanwhile.
   */
  #generation = 0;
  hits = 0;
  misses = 0;

  /** `recheck`: a fixed bound in ms, or one that follows the bus's health (credential-freshness.ts). */
  constructor(max = 10_000, recheck: number | Freshness = CREDENTIAL_RECHECK_MS) {
    this.#max = max;
    this.#freshness = typeof recheck === 'number' ? { recheckMs: recheck } : recheck;
  }

  get generation(): number {
    return this.#generation;
  }

  /**
   * The context of a token verified before and still fresh, or undefined, counting only a hit: the request
   * path's first look (authenticate.ts), before it knows which verifier a token is for. Anything else (a
   * miss, a token past its end or due for a re-read) is left to `lookup` through the verifier, which
   * counts and answers it.
   */
  fresh(tokenHash: string, now: number): AuthContext | undefined {
    const cached = this.#entries.get(tokenHash);
    if (
      cached === undefined ||
      cached.validUntil <= now ||
      now - cached.checkedAt >= this.#freshness.recheckMs
    ) {
      return undefined;
    }
    this.hits++;
    return cached.context;
  }

  /**
   * The context of a token verified before, or undefined (`verifyDue`, which verifies it and `remember`s
   * it). A token past its end is forgotten and refused here; one not confirmed by storage for `recheckMs`
   * must be verified again, and is kept only while it may still stand in for an unanswered re-read.
   */
  lookup(tokenHash: string, now: number): AuthContext | undefined {
    const cached = this.#entries.get(tokenHash);
    if (!cached) {
      this.misses++;
      return undefined;
    }
    if (cached.validUntil <= now) {
      this.#entries.delete(tokenHash);
      throw new ApiError('expired_credential', 'The token has expired');
    }
    if (now - cached.checkedAt >= this.#freshness.recheckMs) {
      if (now - cached.checkedAt >= STALE_SERVE_MAX_MS) this.#entries.delete(tokenHash);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return cached.context;
  }

  /**
   * After a `lookup` miss: verifies the token (`verifyOnce`), or, for a token storage confirmed within
   * `STALE_SERVE_MAX_MS` whose re-read is slow or fails for want of the database, serves its cached context
   * (see the top). `now` is the reading `lookup` was given; `clock` reads the time a re-read failed.
   */
  verifyDue(
    tokenHash: string,
    now: number,
    clock: () => number,
    verify: () => Promise<AuthContext>,
  ): AuthContext | Promise<AuthContext> {
    const stale = this.#entries.get(tokenHash);
    if (stale === undefined || stale.validUntil <= now || now - stale.checkedAt >= STALE_SERVE_MAX_MS) {
      return this.verifyOnce(tokenHash, verify);
    }
    if (stale.retryAt !== undefined && now < stale.retryAt) return stale.context;
    const fresh = this.verifyOnce(tokenHash, verify);
    fresh.catch((error: unknown) => {
      if (isDatabaseUnavailable(error)) stale.retryAt = clock() + STALE_RETRY_MS;
      // Storage answered and refused the token (revoked, deleted, narrowed away): never serve it again.
      else if (this.#entries.get(tokenHash) === stale) this.#entries.delete(tokenHash);
    });
    return freshOrStale(fresh, stale.context, STALE_REVALIDATE_WAIT_MS);
  }

  /**
   * Runs `verify` for a token unless a verification of it is already in flight, whose result is shared.
   * An eviction detaches the verifications in flight, so a request that arrives after it never receives a
   * context read before it.
   */
  verifyOnce(tokenHash: string, verify: () => Promise<AuthContext>): Promise<AuthContext> {
    const inFlight = this.#pending.get(tokenHash);
    if (inFlight) return inFlight;
    const started = verify().finally(() => {
      if (this.#pending.get(tokenHash) === started) this.#pending.delete(tokenHash);
    });
    this.#pending.set(tokenHash, started);
    return started;
  }

  /** Caches a verified token, unless an eviction happened since `generation` was read (see above). */
  remember(tokenHash: string, entry: Entry, generation: number): void {
    if (generation !== this.#generation) return;
    this.#entries.delete(tokenHash);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(tokenHash, entry);
  }

  /** Forgets every token whose entry matches (a deleted key, a revoked grant, a changed membership). */
  evict(matches: (entry: Entry) => boolean): void {
    this.#generation++;
    this.#pending.clear();
    for (const [tokenHash, entry] of this.#entries) if (matches(entry)) this.#entries.delete(tokenHash);
  }

  clear(): void {
    this.#generation++;
    this.#pending.clear();
    this.#entries.clear();
  }
}
