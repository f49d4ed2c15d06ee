/**
 * `rate_limit.exceeded` (DESIGN §5.5): at most once per org, mode and window. A 429 is the request path of
 * an over-budget client, possibly a flood, so the event is written off that path (the step does not wait
 * for it) in its own small transaction, and a node remembers which windows it has already reported so a
 * flood of 429s costs one INSERT per window, not one per request. Across nodes, the outbox's unique
 * dedupe key `rate_limit.exceeded:<mode>:<window>:<window start>` makes the event once however many nodes
 * see the window overflow.
 *
 * The windows are the rate-limit step's (ratelimit/hook.ts): the org's `minute` and `day`, and a key's own
 * minute limit, whose window is that key's (`key-minute:<key id>`): a key over its own limit does not use up
 * the org's report, nor another key's.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/context.ts';
import { apiTime, isoAt } from '../clock.ts';
import type { Decision, WindowState } from '../ratelimit/limiter.ts';
import { inTransaction } from '../storage/database.ts';
import type { DB } from '../storage/schema.ts';
import { emitChange } from './produce.ts';

export interface RateLimitEventsDeps {
  db: Kysely<DB>;
  log: FastifyBaseLogger;
  /** Called after an event committed, so the local worker sends it at once. */
  wake: () => void;
}

/** The `data` of `rate_limit.exceeded`. */
export interface RateLimitExceeded {
  object: 'rate_limit';
  mode: AuthContext['mode'];
  /** `minute`, `day` (the org's) or `key-minute` (an API key's own limit). */
  window: string;
  /** The API key whose own limit this is (`key-minute` only), else null. */
  key_id: string | null;
  limit: number;
  window_start: string;
  resets_at: string;
}

/** The windows that refused a request: full before it (a refused request counts nothing). */
export function exceededWindows(decision: Decision): WindowState[] {
  return decision.windows.filter((window) => window.used >= window.spec.limit);
}

export class RateLimitEvents {
  readonly #deps: RateLimitEventsDeps;
  /** Dedupe key → when its window ends (ms): reported from this node, so not written again. */
  readonly #reported = new Map<string, number>();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(deps: RateLimitEventsDeps) {
    this.#deps = deps;
  }

  /** Records the windows that refused this request; returns at once (the write happens later). */
  report(auth: AuthContext, decision: Decision | null, now: number): void {
    if (!decision || decision.allowed) return;
    this.#forgetEnded(now);
    for (const window of exceededWindows(decision)) {
      const resetsAtMs = window.resetAt * 1000;
      const startMs = resetsAtMs - window.spec.windowSeconds * 1000;
      const keyId = window.spec.name === 'key-minute' ? auth.principal.id : null;
      const name = keyId === null ? window.spec.name : `${window.spec.name}:${keyId}`;
      const dedupeKey = `rate_limit.exceeded:${auth.mode}:${name}:${isoAt(startMs)}`;
      if (this.#reported.has(dedupeKey)) continue;
      this.#reported.set(dedupeKey, resetsAtMs);
      const data: RateLimitExceeded = {
        object: 'rate_limit',
        mode: auth.mode,
        window: window.spec.name,
        key_id: keyId,
        limit: window.spec.limit,
        window_start: apiTime(isoAt(startMs)),
        resets_at: apiTime(isoAt(resetsAtMs)),
      };
      this.#track(this.#write(auth, data, dedupeKey, now));
    }
  }

  /** Waits for the writes already started (shutdown, tests). */
  async settle(): Promise<void> {
    await Promise.all([...this.#inFlight]);
  }

  async #write(auth: AuthContext, data: RateLimitExceeded, dedupeKey: string, now: number): Promise<void> {
    const tenant = { orgId: auth.orgId, mode: auth.mode };
    try {
      const id = await inTransaction(this.#deps.db, (trx) =>
        emitChange(trx, tenant, 'rate_limit.exceeded', data, now, dedupeKey),
      );
      if (id !== null) this.#deps.wake();
    } catch (error) {
      // Not written: forget it, so the next refused request of this window tries again.
      this.#reported.delete(dedupeKey);
      this.#deps.log.error({ err: error, org_id: auth.orgId }, 'rate_limit.exceeded event not written');
    }
  }

  #track(write: Promise<void>): void {
    this.#inFlight.add(write);
    void write.finally(() => this.#inFlight.delete(write));
  }

  /** Drops windows that have ended, so the map holds at most the current windows of active tenants. */
  #forgetEnded(now: number): void {
    for (const [key, endsAt] of this.#reported) {
      if (endsAt <= now) this.#reported.delete(key);
    }
  }
}
