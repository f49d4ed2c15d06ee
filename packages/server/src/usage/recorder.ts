/**
 * Usage without a database write per request (DESIGN §5.1): requests, errors and rate-limited responses
 * are counted in memory per key and UTC day, with the last use (time, IP), and per organization, mode and
 * UTC day for every authenticated request whatever its credential; all of it is flushed in one batch every
 * few seconds and on shutdown. Counters are summed by upsert, so nodes flush independently. A failed flush
 * puts its counts back for the next attempt: usage is delayed, never dropped.
 */
import type { Mode } from '@cohera/shared';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { touchAuthorizations } from '../auth/oauth/authorizations-repository.ts';
import { touchServiceAccountKeys } from '../auth/service-accounts/repository.ts';
import { type Clock, isoAt } from '../clock.ts';
import type { DB } from '../storage/schema.ts';
import { addOrgUsage, type OrgUsageCounts } from './repository.ts';

/** One day's responses: every one in `requests`; 429s in `rateLimited`, other responses ≥ 400 in `errors`. */
interface Counts {
  date: string;
  requests: number;
  errors: number;
  rateLimited: number;
}

interface DayCounter extends Counts {
  keyId: string;
  orgId: string;
}

function tally(counts: Counts, status: number): void {
  counts.requests++;
  if (status === 429) counts.rateLimited++;
  else if (status >= 400) counts.errors++;
}

/** Puts the counts of a failed flush back, adding them to whatever was counted meanwhile. */
function restoreCounts<C extends Counts>(into: Map<string, C>, from: Map<string, C>): void {
  for (const [id, c] of from) {
    const current = into.get(id);
    if (current) {
      current.requests += c.requests;
      current.errors += c.errors;
      current.rateLimited += c.rateLimited;
    } else {
      into.set(id, c);
    }
  }
}

/** Puts the last uses of a failed flush back, unless a newer use was noted meanwhile. */
function restoreLatest<U extends { at: number }>(into: Map<string, U>, from: Map<string, U>): void {
  for (const [id, use] of from) {
    const current = into.get(id);
    if (!current || current.at < use.at) into.set(id, use);
  }
}

const dayOf = (c: Counts): UsageDay => ({
  date: c.date,
  requests: c.requests,
  errors: c.errors,
  rate_limited: c.rateLimited,
});

interface LastUse {
  orgId: string;
  at: number;
  ip: string;
}

export interface UsageDay {
  date: string;
  requests: number;
  errors: number;
  rate_limited: number;
}

export function utcDate(ms: number): string {
  return isoAt(ms).slice(0, 10);
}

export class UsageRecorder {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #log: Logger;
  #counters = new Map<string, DayCounter>();
  /** Per org, mode and day: `org|mode|date` → counts. */
  #orgCounters = new Map<string, OrgUsageCounts>();
  #lastUse = new Map<string, LastUse>();
  /**
   * Service-account keys and OAuth authorizations: only their last use is kept (their traffic counts against
   * the org's budget). Their ids never collide (`sak_…`, `grt_…`).
   */
  #keyUse = new Map<string, { orgId: string; at: number }>();
  /** Which scope each API key used (key|scope → last use), for the security report's least-privilege check. */
  #scopeUse = new Map<string, { keyId: string; orgId: string; scope: string; at: number }>();
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;

  constructor(db: Kysely<DB>, clock: Clock, log: Logger) {
    this.#db = db;
    this.#clock = clock;
    this.#log = log;
  }

  /** Counts one response to a request made with key `keyId`. Hot path: two Map operations. */
  record(keyId: string, orgId: string, status: number, ip: string): void {
    const now = this.#clock.now();
    const date = this.#dateOf(now);
    const id = `${keyId}|${date}`;
    let counter = this.#counters.get(id);
    if (!counter) {
      counter = { keyId, orgId, date, requests: 0, errors: 0, rateLimited: 0 };
      this.#counters.set(id, counter);
    }
    tally(counter, status);
    this.#lastUse.set(keyId, { orgId, at: now, ip });
  }

  /**
   * Counts one response to an authenticated request of an org in a mode, whatever the credential (API key,
   * service-account or OAuth token, dashboard session). Hot path: two Map operations.
   */
  recordOrg(orgId: string, mode: Mode, status: number): void {
    const date = this.#dateOf(this.#clock.now());
    const id = `${orgId}|${mode}|${date}`;
    let counter = this.#orgCounters.get(id);
    if (!counter) {
      counter = { orgId, mode, date, requests: 0, errors: 0, rateLimited: 0 };
      this.#orgCounters.set(id, counter);
    }
    tally(counter, status);
  }

  #day = { start: 0, end: 0, date: '' };

  /** The UTC date of `now`, formatted once per day rather than once per request. */
  #dateOf(now: number): string {
    if (now < this.#day.start || now >= this.#day.end) {
      const start = now - (now % 86_400_000);
      this.#day = { start, end: start + 86_400_000, date: utcDate(now) };
    }
    return this.#day.date;
  }

  /** Notes that an API key used a scope (the scope a route required, on a response below 400). */
  recordScopeUse(keyId: string, orgId: string, scope: string): void {
    const id = `${keyId}|${scope}`;
    const use = this.#scopeUse.get(id);
    if (use) use.at = this.#clock.now();
    else this.#scopeUse.set(id, { keyId, orgId, scope, at: this.#clock.now() });
  }

  /** Notes the use of a service-account key (`kid`) or an OAuth authorization (`grt_…`). */
  recordLastUse(id: string, orgId: string): void {
    this.#keyUse.set(id, { orgId, at: this.#clock.now() });
  }

  /** Counts not yet flushed for a key, so a node's own fresh usage shows at once. */
  pending(keyId: string): UsageDay[] {
    const days: UsageDay[] = [];
    for (const c of this.#counters.values()) if (c.keyId === keyId) days.push(dayOf(c));
    return days;
  }

  /** Counts not yet flushed for an org in a mode, so a node's own fresh traffic shows at once. */
  pendingOrg(orgId: string, mode: Mode): UsageDay[] {
    const days: UsageDay[] = [];
    for (const c of this.#orgCounters.values()) if (c.orgId === orgId && c.mode === mode) days.push(dayOf(c));
    return days;
  }

  /** This node's last unflushed use of a key, if newer than what is stored. */
  lastUseOf(keyId: string, stored: string | null): string | null {
    const use = this.#lastUse.get(keyId) ?? this.#keyUse.get(keyId);
    if (!use) return stored;
    const at = isoAt(use.at);
    return stored === null || stored < at ? at : stored;
  }

  start(intervalMs = 5_000): void {
    this.#timer ??= setInterval(() => {
      this.flush().catch(() => {}); // flush() logs its own failures
    }, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush();
  }

  /** Writes everything counted so far in one transaction. Concurrent calls share one flush. */
  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  async #write(): Promise<void> {
    if (
      this.#counters.size === 0 &&
      this.#orgCounters.size === 0 &&
      this.#lastUse.size === 0 &&
      this.#keyUse.size === 0 &&
      this.#scopeUse.size === 0
    )
      return;
    const counters = this.#counters;
    const orgCounters = this.#orgCounters;
    const lastUse = this.#lastUse;
    const keyUse = this.#keyUse;
    const scopeUse = this.#scopeUse;
    this.#counters = new Map();
    this.#orgCounters = new Map();
    this.#lastUse = new Map();
    this.#keyUse = new Map();
    this.#scopeUse = new Map();
    try {
      await this.#db.transaction().execute(async (trx) => {
        const rows = [...counters.values()].map((c) => ({
          key_id: c.keyId,
          org_id: c.orgId,
          date: c.date,
          requests: c.requests,
          errors: c.errors,
          rate_limited: c.rateLimited,
        }));
        for (let i = 0; i < rows.length; i += 200) {
          await trx
            .insertInto('api_key_usage')
            .values(rows.slice(i, i + 200))
            .onConflict((oc) =>
              oc.columns(['key_id', 'date']).doUpdateSet((eb) => ({
                requests: eb('api_key_usage.requests', '+', eb.ref('excluded.requests')),
                errors: eb('api_key_usage.errors', '+', eb.ref('excluded.errors')),
                rate_limited: eb('api_key_usage.rate_limited', '+', eb.ref('excluded.rate_limited')),
              })),
            )
            .execute();
        }
        await addOrgUsage(trx, [...orgCounters.values()]);
        for (const [keyId, use] of lastUse) {
          const at = isoAt(use.at);
          await trx
            .updateTable('api_keys')
            .set({ last_used_at: at, last_used_ip: use.ip })
            .where('org_id', '=', use.orgId)
            .where('id', '=', keyId)
            .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
            .execute();
        }
        const uses = [...keyUse].map(([id, use]) => [id, { orgId: use.orgId, at: isoAt(use.at) }] as const);
        await touchServiceAccountKeys(trx, new Map(uses.filter(([id]) => id.startsWith('sak_'))));
        await touchAuthorizations(trx, new Map(uses.filter(([id]) => id.startsWith('grt_'))));
        const scopeRows = [...scopeUse.values()].map((use) => ({
          key_id: use.keyId,
          org_id: use.orgId,
          scope: use.scope,
          last_used_at: isoAt(use.at),
        }));
        for (let i = 0; i < scopeRows.length; i += 200) {
          await trx
            .insertInto('api_key_scope_usage')
            .values(scopeRows.slice(i, i + 200))
            .onConflict((oc) =>
              oc
                .columns(['key_id', 'scope'])
                .doUpdateSet((eb) => ({ last_used_at: eb.ref('excluded.last_used_at') })),
            )
            .execute();
        }
      });
    } catch (error) {
      restoreCounts(this.#counters, counters);
      restoreCounts(this.#orgCounters, orgCounters);
      restoreLatest(this.#lastUse, lastUse);
      restoreLatest(this.#scopeUse, scopeUse);
      restoreLatest(this.#keyUse, keyUse);
      this.#log.warn({ err: (error as Error).message }, 'usage flush failed; will retry');
      throw error;
    }
  }
}
