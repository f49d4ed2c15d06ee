/**
 * API-key verification on the hot path (DESIGN §5.1): checksum first (typos and random strings never
 * reach the cache or the database), then SHA-256, then a bounded in-memory cache, then the database.
 * Unknown hashes are cached briefly too, so a flood of made-up keys cannot become a flood of queries.
 * Expiry and revocation are checked on every request against the clock, not only at cache fill.
 *
 * A key's scopes are capped by its creator's current role (creator-ceiling.ts, docs/team.md): the cap is
 * read with the key on a cache miss and cached beside it, so a hit still reads no database; a `member`
 * message (a role change or a removal, on any node) evicts every key that person's role bounds.
 *
 * When the database is slow or down, a known key whose entry is due for its re-read keeps working from the
 * cache (storage/stale-while-revalidate.ts): the request waits for the re-read at most
 * `STALE_REVALIDATE_WAIT_MS`, a failed re-read is retried after `STALE_RETRY_MS` rather than per request, and
 * past `STALE_SERVE_MAX_MS` the key needs the database again. Expiry and revocation still apply to a stale
 * entry; an invalidation removes it, so it is never served stale.
 */
import { parseApiKey } from '@cohera/shared';
import type { Kysely } from 'kysely';
import type { Clock } from '../../clock.ts';
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
import type { AuthContext } from '../context.ts';
import { CREDENTIAL_RECHECK_MS } from '../verified-token-cache.ts';
import { type CreatorCeiling, creatorCeiling, effectiveScopes } from './creator-ceiling.ts';
import { type ApiKeyCredential, findCredentialByHash, hashApiKey } from './repository.ts';

export interface ApiKeyVerifierOptions {
  /** Most entries kept; the least recently used go first. */
  maxEntries?: number;
  /** How long a found key is trusted before it is read again (revocation also invalidates at once). */
  positiveTtlMs?: number;
  /** How long "no such key" is remembered. */
  negativeTtlMs?: number;
  /**
   * A cap on every entry's age, on top of the TTLs above, that follows the invalidation bus
   * (state/credential-freshness.ts): none while it delivers, 2 s while it does not, so a revocation whose
   * message was lost still takes effect within 2 s.
   */
  freshness?: Freshness;
}

interface CacheEntry {
  credential: ApiKeyCredential | null;
  expiresAtMs: number | null;
  revoked: boolean;
  /** What bounds the key today (its creator's role); null for an unknown key. */
  ceiling: CreatorCeiling | null;
  /** When the entry itself goes stale. */
  staleAt: number;
  /** When the database was read for it: its age is checked against the bus-dependent bound. */
  checkedAt: number;
  /** Built once per entry: the same immutable context serves every request with this key. */
  context?: AuthContext;
  /** Set when a re-read failed: until then the entry is served without asking the database again. */
  retryAt?: number;
}

/** Whose key a refusal is about (for the audit event of the failed authentication). */
function subjectOf(credential: ApiKeyCredential) {
  return { orgId: credential.orgId, kind: 'api_key' as const, id: credential.id };
}

export class ApiKeyVerifier {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #maxEntries: number;
  readonly #positiveTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #freshness: Freshness;
  /** Lookups in flight per hash, so a burst of one uncached key makes one query. */
  readonly #pending = new Map<string, Promise<CacheEntry>>();
  /**
   * Bumped by every invalidation. A lookup that read the database before an invalidation must not write
   * its (possibly pre-revocation) row back into the cache afterwards, or a revoked key would be served
   * until the entry goes stale: the lookup remembers its row only if no invalidation happened meanwhile.
   */
  #generation = 0;
  hits = 0;
  misses = 0;

  constructor(db: Kysely<DB>, clock: Clock, options: ApiKeyVerifierOptions = {}) {
    this.#db = db;
    this.#clock = clock;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#positiveTtlMs = options.positiveTtlMs ?? CREDENTIAL_RECHECK_MS;
    this.#negativeTtlMs = options.negativeTtlMs ?? 5_000;
    this.#freshness = options.freshness ?? { recheckMs: Number.POSITIVE_INFINITY };
  }

  /**
   * Resolves a key to an AuthContext or throws a 401 ApiError. Synchronous on a cache hit (no promise
   * per request on the hot path); returns a promise only when the database must be asked.
   */
  verify(key: string): AuthContext | Promise<AuthContext> {
    const hash = hashApiKey(key);
    const now = this.#clock.now();
    const cached = this.#cache.get(hash);
    // Only keys that passed the checksum are ever cached, so a hit needs no second checksum.
    if (cached && cached.staleAt > now && now - cached.checkedAt < this.#freshness.recheckMs) {
      this.hits++;
      this.#touch(hash, cached);
      return this.#toContext(cached, now);
    }
    // A known key due for its re-read, while storage confirmed it recently enough to outlast an outage.
    if (cached?.credential && now - cached.checkedAt < STALE_SERVE_MAX_MS) {
      return this.#revalidate(hash, cached, now);
    }
    // A typo or a made-up string never reaches the database (nor the negative cache).
    if (!parseApiKey(key)) throw new ApiError('invalid_credential', 'The API key is malformed');
    this.misses++;
    return this.#load(hash).then((entry) => this.#toContext(entry, this.#clock.now()));
  }

  /**
   * The cache-hit half of `verify`: the key's context (or its 401) when this node has the key cached and
   * fresh, undefined otherwise, so the caller takes the full path. `now` is the request's clock reading.
   */
  verifyCached(key: string, now: number): AuthContext | undefined {
    const hash = hashApiKey(key);
    const cached = this.#cache.get(hash);
    if (
      cached === undefined ||
      cached.staleAt <= now ||
      now - cached.checkedAt >= this.#freshness.recheckMs
    ) {
      return undefined;
    }
    this.hits++;
    this.#touch(hash, cached);
    return this.#toContext(cached, now);
  }

  /** Drops a key from this node's cache (after revoke/roll/delete; fan-out calls it on every node). */
  invalidate(keyHash: string): void {
    this.#generation++;
    this.#cache.delete(keyHash);
    // Requests arriving from now on must read the database afresh, not join a lookup that began before.
    this.#pending.delete(keyHash);
  }

  /** Drops every cached key of an org (its tier or limits changed). */
  invalidateOrg(orgId: string): void {
    this.#generation++;
    this.#pending.clear();
    for (const [hash, entry] of this.#cache) {
      if (entry.credential?.orgId === orgId) this.#cache.delete(hash);
    }
  }

  /** Drops every cached key whose scopes a person's role bounds in an org (their role changed, or they left). */
  invalidateCreator(orgId: string, userId: string): void {
    this.#generation++;
    this.#pending.clear();
    for (const [hash, entry] of this.#cache) {
      if (entry.credential?.orgId === orgId && entry.ceiling?.userId === userId) this.#cache.delete(hash);
    }
  }

  clear(): void {
    this.#generation++;
    this.#pending.clear();
    this.#cache.clear();
  }

  /** Applies a message from the invalidation bus. */
  apply(message: Invalidation): void {
    if (message.kind === 'api_key') this.invalidate(message.keyHash);
    else if (message.kind === 'org') this.invalidateOrg(message.orgId);
    else if (message.kind === 'member') this.invalidateCreator(message.orgId, message.userId);
    else if (message.kind === 'all') this.clear();
  }

  get size(): number {
    return this.#cache.size;
  }

  /** Re-reads a due entry, serving it as it is when the database is too slow or down (see the top). */
  #revalidate(hash: string, stale: CacheEntry, now: number): AuthContext | Promise<AuthContext> {
    this.misses++;
    if (stale.retryAt !== undefined && now < stale.retryAt) return this.#toContext(stale, now);
    const fresh = this.#load(hash);
    fresh.catch(() => {
      stale.retryAt = this.#clock.now() + STALE_RETRY_MS;
    });
    return freshOrStale(fresh, stale, STALE_REVALIDATE_WAIT_MS).then((entry) =>
      this.#toContext(entry, this.#clock.now()),
    );
  }

  #load(hash: string): Promise<CacheEntry> {
    let pending = this.#pending.get(hash);
    if (!pending) {
      const generation = this.#generation;
      const lookup: Promise<CacheEntry> = findCredentialByHash(this.#db, hash)
        .then(async (credential) => {
          const ceiling = credential ? await creatorCeiling(this.#db, credential.orgId, credential.id) : null;
          const now = this.#clock.now();
          const entry: CacheEntry = {
            credential,
            expiresAtMs: credential?.expiresAt ? Date.parse(credential.expiresAt) : null,
            revoked: credential?.revokedAt != null,
            ceiling,
            staleAt: now + (credential ? this.#positiveTtlMs : this.#negativeTtlMs),
            checkedAt: now,
          };
          if (generation === this.#generation) this.#remember(hash, entry);
          return entry;
        })
        .finally(() => {
          if (this.#pending.get(hash) === lookup) this.#pending.delete(hash);
        });
      pending = lookup;
      this.#pending.set(hash, pending);
    }
    return pending;
  }

  /**
   * Refreshes an entry's recency: Map keeps insertion order, so re-inserting makes it the newest. Two Map
   * writes per hit bought nothing while the cache is far from full (nothing is evicted then), so recency is
   * kept only once the cache is at least half full, where the eviction order starts to matter.
   */
  #touch(hash: string, entry: CacheEntry): void {
    if (this.#cache.size < this.#maxEntries >> 1) return;
    this.#cache.delete(hash);
    this.#cache.set(hash, entry);
  }

  #remember(hash: string, entry: CacheEntry): void {
    this.#cache.delete(hash);
    if (this.#cache.size >= this.#maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(hash, entry);
  }

  // A refusal's subject is built only when refusing: the hot path (a valid key) allocates nothing for it.
  #toContext(entry: CacheEntry, now: number): AuthContext {
    const credential = entry.credential;
    if (!credential) throw new ApiError('invalid_credential', 'The API key is not valid');
    if (entry.revoked) {
      throw new ApiError('revoked_credential', 'The API key has been revoked', {
        subject: subjectOf(credential),
      });
    }
    if (entry.expiresAtMs !== null && entry.expiresAtMs <= now) {
      throw new ApiError('expired_credential', 'The API key has expired', { subject: subjectOf(credential) });
    }
    if (entry.ceiling?.ended) {
      throw new ApiError(
        'revoked_credential',
        'The API key ended: the person or service account that created it is no longer in the organization',
        { subject: subjectOf(credential) },
      );
    }
    entry.context ??= Object.freeze({
      orgId: credential.orgId,
      mode: credential.mode,
      principal: Object.freeze({ kind: 'api_key' as const, id: credential.id }),
      scopes: effectiveScopes(credential.scopes, entry.ceiling?.scopes ?? null),
      expiresAt: credential.expiresAt,
      via: 'bearer' as const,
      rateLimitPerMinute: credential.rateLimitPerMinute,
    });
    return entry.context;
  }
}
