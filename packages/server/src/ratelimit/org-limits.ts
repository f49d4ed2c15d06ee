/**
 * Each org's effective limits, cached per node. Entries are refreshed in the background once they are a few
 * seconds old (the request keeps the cached value meanwhile), so a tier change by the operator — who may
 * write straight to the database with `cohera admin set-tier` — reaches every running node within 5 s
 * without a query on the hot path; an entry older than 5 s (an org that was idle) is reloaded before use.
 * An `org` invalidation message refreshes at once.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { rateLimitsOf } from '../orgs/repository.ts';
import type { DB } from '../storage/schema.ts';

export interface OrgLimits {
  perMinute: number;
  perDay: number;
}

interface Entry {
  limits: OrgLimits;
  fetchedAt: number;
}

export const ORG_LIMITS_REFRESH_MS = 4_000;
/** Older than this, an entry is reloaded before use: the 5 s of DESIGN §5.2. */
export const ORG_LIMITS_MAX_AGE_MS = 5_000;

export class OrgLimitCache {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<OrgLimits>>();
  readonly #refreshMs: number;
  readonly #maxAgeMs: number;

  constructor(
    db: Kysely<DB>,
    clock: Clock,
    refreshMs = ORG_LIMITS_REFRESH_MS,
    maxAgeMs = Math.max(refreshMs, ORG_LIMITS_MAX_AGE_MS),
  ) {
    this.#db = db;
    this.#clock = clock;
    this.#refreshMs = refreshMs;
    this.#maxAgeMs = maxAgeMs;
  }

  /**
   * Synchronous when cached and fresh, or a little stale (a refresh starts behind it); a promise on first
   * sight, and when the entry is too old to trust (an org idle for a while: its next request must not be
   * judged by limits the operator has since changed). If that reload fails, the old limits still apply.
   */
  get(orgId: string): OrgLimits | Promise<OrgLimits> {
    const entry = this.#entries.get(orgId);
    if (entry) {
      const age = this.#clock.now() - entry.fetchedAt;
      if (age >= this.#maxAgeMs) return this.#load(orgId).catch(() => entry.limits);
      if (age >= this.#refreshMs) this.#load(orgId).catch(() => {});
      return entry.limits;
    }
    return this.#load(orgId);
  }

  invalidate(orgId: string): void {
    if (this.#entries.has(orgId)) this.#load(orgId).catch(() => {});
  }

  clear(): void {
    this.#entries.clear();
  }

  #load(orgId: string): Promise<OrgLimits> {
    let loading = this.#loading.get(orgId);
    if (!loading) {
      loading = this.#db
        .selectFrom('orgs')
        .select(['tier', 'rate_limit_per_minute', 'rate_limit_per_day'])
        .where('id', '=', orgId)
        .executeTakeFirst()
        .then((org) => {
          if (!org) throw new Error('organization not found');
          const { per_minute, per_day } = rateLimitsOf(org);
          const limits = { perMinute: per_minute, perDay: per_day };
          this.#entries.set(orgId, { limits, fetchedAt: this.#clock.now() });
          return limits;
        })
        .finally(() => this.#loading.delete(orgId));
      this.#loading.set(orgId, loading);
    }
    return loading;
  }
}
