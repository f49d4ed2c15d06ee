/**
 * A bounded cache of serialized resource objects for `GET /v1/<resource>/:id`, the hottest read. The
 * budget for an authenticated, rate-limited read is 85% of a bare Fastify route returning the same JSON
 * (DESIGN §7), which leaves no room for a database round trip per request.
 *
 * Correctness: every write invalidates the entry on this node at once and on every other node through the
 * invalidation bus (the same path as key revocation); entries also expire after a short TTL as a backstop
 * for a lost message, and never outlive a time-dependent field (a certificate turning `expired`). Entries
 * are keyed by tenant, so a hit can never cross orgs or modes.
 */
import type { Tenant } from '../auth/context.ts';
import type { Invalidation } from '../state/invalidation-bus.ts';

/** A cached object's JSON, and its length in UTF-8 bytes as text (the content-length, counted once). */
export interface CachedJson {
  json: string;
  length: string;
}

interface Entry extends CachedJson {
  orgId: string;
  mode: string;
  /** Epoch ms after which the entry must not be served. */
  staleAt: number;
}

export interface ReadCacheOptions {
  maxEntries?: number;
  ttlMs?: number;
}

export class ResourceReadCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  hits = 0;
  misses = 0;
  /**
   * Bumped by every invalidation. A load that started before an invalidation must not cache what it read
   * (it may be the old row), so `set` takes the generation seen before loading and drops stale results.
   */
  #generation = 0;

  get generation(): number {
    return this.#generation;
  }

  constructor(options: ReadCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#ttlMs = options.ttlMs ?? 30_000;
  }

  /** Ids are unique across tenants, so the id is the key; the tenant check makes a cross-tenant hit impossible. */
  get(tenant: Tenant, id: string, now: number): CachedJson | undefined {
    const entry = this.#entries.get(id);
    if (
      entry === undefined ||
      entry.staleAt <= now ||
      entry.orgId !== tenant.orgId ||
      entry.mode !== tenant.mode
    ) {
      if (entry && entry.staleAt <= now) this.#entries.delete(id);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry;
  }

  /** Caches `json` until `now + ttl`, or until `validUntil` if that comes first. */
  set(
    tenant: Tenant,
    id: string,
    json: string,
    now: number,
    validUntil: number = Number.POSITIVE_INFINITY,
    loadedAtGeneration: number = this.#generation,
  ): void {
    if (loadedAtGeneration !== this.#generation) return;
    this.#entries.delete(id);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(id, {
      orgId: tenant.orgId,
      mode: tenant.mode,
      json,
      length: `${Buffer.byteLength(json)}`,
      staleAt: Math.min(now + this.#ttlMs, validUntil),
    });
  }

  invalidate(id: string): void {
    this.#generation++;
    this.#entries.delete(id);
  }

  apply(message: Invalidation): void {
    if (message.kind === 'resource') this.invalidate(message.id);
    else if (message.kind === 'all') {
      this.#generation++;
      this.#entries.clear();
    }
  }
}
