/**
 * Each org's effective limits, cached per node. Entries are refreshed in the background once they are a few
 * seconds old (the request keeps the cached value meanwhile), so a tier change by the operator — who may
 * write straight to the database with `cohera admin set-tier` — reaches every running node within 5 s
 * without a query on the hot path; an entry older than 5 s (an org that was idle) is reloaded before use.
 * An `org` invalidation message refreshes at once.
 *
 * When the database is slow or down, the cached limits keep serving (storage/stale-while-revalidate.ts):
 * an entry due for its reload waits for it at most `STALE_REVALIDATE_WAIT_MS`, a failed reload is retried
 * after `STALE_RETRY_MS` rather than per request, and only past `STALE_SERVE_MAX_MS` does a request have to
 * wait for the database (and get a 503 when it cannot answer).
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { rateLimitsOf } from '../orgs/repository.ts';
import type { DB } from '../storage/schema.ts';
import {
  freshOrStale,
  STALE_RETRY_MS,
  STALE_REVALIDATE_WAIT_MS,
  STALE_SERVE_MAX_MS,
} from '../storage/stale-while-revalidate.ts';

export interface OrgLimits {
  perMinute: number;
  perDay: number;
}

interface Entry {
  limits: OrgLimits;
  fetchedAt: number;
  /** Set when a reload failed: until then the entry is served without asking the database again. */
  retryAt?: number;
}

const ignore = () => {};
const anyError = () => true;

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
   * judged by limits the operator has since changed), for at most `STALE_REVALIDATE_WAIT_MS`. If that reload
   * fails, the old limits still apply, up to `STALE_SERVE_MAX_MS` after they were read.
   */
  get(orgId: string): OrgLimits | Promise<OrgLimits> {
    const entry = this.#entries.get(orgId);
    if (entry) {
      const now = this.#clock.now();
      const age = now - entry.fetchedAt;
      if (age < this.#refreshMs) return entry.limits;
      return this.#due(orgId, entry, now, age);
    }
    return this.#load(orgId);
  }

  /** An entry due for its reload: see the class comment for when it is served as it is. */
  #due(orgId: string, entry: Entry, now: number, age: number): OrgLimits | Promise<OrgLimits> {
    // Too old to serve even in an outage: this request waits for the database, and fails when it cannot.
    if (age >= STALE_SERVE_MAX_MS) return this.#load(orgId);
    if (entry.retryAt !== undefined && now < entry.retryAt) return entry.limits;
    if (age < this.#maxAgeMs) {
      if (!this.#loading.has(orgId)) this.#load(orgId).catch(ignore);
      return entry.limits;
    }
    // An idle org's first request: its limits may have changed since, so it waits for the reload, briefly.
    // If the reload fails, the old limits still apply, whatever the reason.
    return freshOrStale(this.#load(orgId), entry.limits, STALE_REVALIDATE_WAIT_MS, anyError);
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
        .catch((error: unknown) => {
          const stale = this.#entries.get(orgId);
          if (stale) stale.retryAt = this.#clock.now() + STALE_RETRY_MS;
          throw error;
        })
        .finally(() => this.#loading.delete(orgId));
      this.#loading.set(orgId, loading);
    }
    return loading;
  }
}
