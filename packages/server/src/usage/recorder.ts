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
import type { AuthContext } from '../auth/context.ts';
import { touchAuthorizations } from '../auth/oauth/authorizations-repository.ts';
import { touchServiceAccountKeys } from '../auth/service-accounts/repository.ts';
import { type Clock, isoAt } from '../clock.ts';
import type { DB } from '../storage/schema.ts';
import { describeUnavailable, isDatabaseUnavailable } from '../storage/unavailable.ts';
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

/**
 * Where one API key's responses of one day are counted, found once per key and day (and after each flush)
 * rather than by building `key|date` strings and looking them up on every response.
 */
interface KeySlot {
  /** The recorder's generation the slot's objects belong to (a flush or a restore starts a new one). */
  generation: number;
  /** The day the slot counts, as epoch ms bounds. */
  dayStart: number;
  dayEnd: number;
  counter: DayCounter;
  orgCounter: OrgUsageCounts;
  lastUse: LastUse;
  /** Scope → its use entry in the current scope map. */
  scopes: Map<string, ScopeUse>;
}

interface ScopeUse {
  keyId: string;
  orgId: string;
  scope: string;
  at: number;
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
  #scopeUse = new Map<string, ScopeUse>();
  /**
   * Per API-key context (one object per cached key, auth/api-keys/verifier.ts): its slot. Bumping
   * `#generation` (on every swap of the maps above) makes every slot rebuild from the maps on next use.
   */
  #slots = new WeakMap<AuthContext, KeySlot>();
  #generation = 0;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;

  constructor(db: Kysely<DB>, clock: Clock, log: Logger) {
    this.#db = db;
    this.#clock = clock;
    this.#log = log;
  }

  /**
   * Everything one response to an API-key request counts: the key's day, the org's day in its mode, the
   * key's last use (time, IP) and, for a response below 400, the scope the route required. The same as
   * `recordOrg` + `record` + `recordScopeUse`, in a few increments: the counters are found through the key's
   * slot, built once per key, day and flush. `now` is the request's clock reading.
   */
  recordApiKeyResponse(
    auth: AuthContext,
    status: number,
    ip: string,
    scope: string | null,
    now: number,
  ): void {
    let slot = this.#slots.get(auth);
    if (
      slot === undefined ||
      slot.generation !== this.#generation ||
      now < slot.dayStart ||
      now >= slot.dayEnd
    ) {
      slot = this.#slotFor(auth, now);
    }
    tally(slot.counter, status);
    tally(slot.orgCounter, status);
    slot.lastUse.at = now;
    slot.lastUse.ip = ip;
    if (scope !== null) {
      const use = slot.scopes.get(scope);
      if (use !== undefined) use.at = now;
      else slot.scopes.set(scope, this.#scopeUseOf(auth.principal.id, auth.orgId, scope, now));
    }
  }

  #slotFor(auth: AuthContext, now: number): KeySlot {
    const keyId = auth.principal.id;
    const orgId = auth.orgId;
    const date = this.#dateOf(now);
    const id = `${keyId}|${date}`;
    let counter = this.#counters.get(id);
    if (!counter) {
      counter = { keyId, orgId, date, requests: 0, errors: 0, rateLimited: 0 };
      this.#counters.set(id, counter);
    }
    const orgKey = `${orgId}|${auth.mode}|${date}`;
    let orgCounter = this.#orgCounters.get(orgKey);
    if (!orgCounter) {
      orgCounter = { orgId, mode: auth.mode, date, requests: 0, errors: 0, rateLimited: 0 };
      this.#orgCounters.set(orgKey, orgCounter);
    }
    let lastUse = this.#lastUse.get(keyId);
    if (!lastUse) {
      lastUse = { orgId, at: now, ip: '' };
      this.#lastUse.set(keyId, lastUse);
    }
    const slot: KeySlot = {
      generation: this.#generation,
      dayStart: this.#day.start,
      dayEnd: this.#day.end,
      counter,
      orgCounter,
      lastUse,
      scopes: new Map(),
    };
    this.#slots.set(auth, slot);
    return slot;
  }

  /** The scope-use entry of a key and scope in the current map, created if new. */
  #scopeUseOf(keyId: string, orgId: string, scope: string, now: number): ScopeUse {
    const id = `${keyId}|${scope}`;
    const use = this.#scopeUse.get(id);
    if (use) {
      use.at = now;
      return use;
    }
    const created = { keyId, orgId, scope, at: now };
    this.#scopeUse.set(id, created);
    return created;
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
    // In place when present: a key's slot (recordApiKeyResponse) holds this object.
    const use = this.#lastUse.get(keyId);
    if (use) {
      use.at = now;
      use.ip = ip;
    } else this.#lastUse.set(keyId, { orgId, at: now, ip });
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
    this.#generation++;
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
      // The restore may have put older objects in the maps: slots must find the ones now there.
      this.#generation++;
      // Retried every few seconds with the counts kept: an outage is logged once when it starts and once
      // when it ends (storage/availability.ts, told of this error by the pool), not here on every retry.
      if (isDatabaseUnavailable(error)) {
        this.#log.debug(
          { error: describeUnavailable(error) },
          'usage flush waits for the database; will retry',
        );
      } else {
        this.#log.warn({ err: (error as Error).message }, 'usage flush failed; will retry');
      }
      throw error;
    }
  }
}
