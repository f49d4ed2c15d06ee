/**
 * Putting counts back into Redis after an outage or a restart (issue 22, item 5), so that neither hands out
 * a second budget.
 *
 * - Counts decided locally during an outage (each node's fallback limiter) are added to Redis when the node
 *   returns, once: INCRBY into the counter of the window they were made in, with that window's expiry.
 *   Exact: every request a node allowed while Redis was away ends up counted in Redis, whether Redis kept
 *   its counters (a freeze, a partition) or lost them (a restart).
 * - Counts Redis lost in a restart while no node was deciding locally (a quick restart) are gone from every
 *   node's view. A marker key tells a Redis that lost its data from one that did not: the first node to
 *   find it missing (SET NX) seeds each org's day windows from the usage table (usage/repository.ts).
 *   Approximate: usage is flushed every few seconds (the last seconds before the restart are missing) and
 *   also counts dashboard-session requests (which have a budget of their own), so the seed errs towards
 *   fewer requests, by little. Minute windows are not reseeded: at most one minute's budget is handed out
 *   again, once per restart, and it ends with the minute.
 */
import type { Redis } from 'ioredis';

/** Seconds a counter outlives its window, so nodes with slightly skewed clocks still agree. */
export const EXPIRY_SLACK_SECONDS = 5;

/** One count to add to a Redis counter. */
export interface CounterSeed {
  /** The full Redis key (prefix, window key, window index). */
  key: string;
  count: number;
  /** When the counter expires, epoch seconds: its window's end plus the slack. */
  expireAt: number;
}

/** Today's day-window counts of each org and mode: `key` is the window key (ratelimit/day-seed.ts). */
export type DaySeedSource = () => Promise<ReadonlyArray<{ key: string; count: number; dayIndex: number }>>;

/** The Redis key of a window's counter. */
export function counterKey(prefix: string, windowKey: string, windowIndex: number): string {
  return `${prefix}rl:${windowKey}:${windowIndex}`;
}

/** Counts of windows that are not over yet, merged per counter. */
export class PendingSeeds {
  readonly #counts = new Map<string, CounterSeed>();

  add(seed: CounterSeed): void {
    const known = this.#counts.get(seed.key);
    if (known) known.count += seed.count;
    else this.#counts.set(seed.key, { ...seed });
  }

  get size(): number {
    return this.#counts.size;
  }

  /** Sends every count in one MULTI (all or nothing), then forgets them; rejects and keeps them on failure. */
  async flush(redis: Redis, nowSeconds: number): Promise<void> {
    const live = [...this.#counts.values()].filter((seed) => seed.expireAt > nowSeconds && seed.count > 0);
    if (live.length > 0) {
      const multi = redis.multi();
      for (const seed of live) multi.incrby(seed.key, seed.count).expireat(seed.key, seed.expireAt);
      const results = await multi.exec();
      const failed = results?.find(([error]) => error !== null);
      if (!results || failed) throw failed?.[0] ?? new Error('MULTI aborted');
    }
    this.#counts.clear();
  }
}

/**
 * The marker's lifetime, renewed by every node's heartbeat: longer than a day window, so it only lapses
 * when no node ran for that long (and then no counter of today is left in Redis either, and a seed from
 * usage is right).
 */
export const EPOCH_TTL_MS = 2 * 86_400_000;

export function epochKey(prefix: string): string {
  return `${prefix}rl:epoch`;
}

/**
 * Whether Redis lost its data since the fleet last looked (or is new): true for exactly one caller, the one
 * whose SET NX created the marker. A Redis that evicts keys under memory pressure (an `allkeys-*` policy)
 * may evict it, and the day windows are then seeded again, erring towards fewer requests.
 */
export async function claimFreshRedis(redis: Redis, prefix: string, nodeId: string): Promise<boolean> {
  return (await redis.set(epochKey(prefix), nodeId, 'PX', EPOCH_TTL_MS, 'NX')) === 'OK';
}
