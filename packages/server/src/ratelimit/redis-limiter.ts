/**
 * The fleet limiter: every window of a request checked and counted in ONE Redis round trip by a Lua script
 * (atomic, so two nodes can never both take the last unit: exactly `limit` requests pass). The requests of
 * one event-loop turn share that trip: one script call decides them in turn (redis-batch.ts). Counters
 * expire on their own just after their window ends.
 *
 * When Redis is gone, the node falls back to a local limiter with its share of each limit (limit ÷ live
 * nodes, from a heartbeat set): it neither fails closed nor stops limiting. Whether Redis is gone is the
 * circuit breaker's decision (redis-breaker.ts), not one slow command's: while it is open no request waits
 * on Redis, and `degraded` (the `cohera_redis_fallback` gauge) says so; when Redis answers again, the counts
 * decided locally are added to Redis (redis-reseed.ts) before requests go back to it, and a Redis that
 * lost its counters in a restart gets the day windows back from the usage table.
 *
 * A single command that fails or times out while the breaker is closed is decided locally for that one
 * request; with the default timeout (1 s, far above a loaded Redis's answer time) that is rare, and it
 * is the only way a healthy fleet can allow more than the limit (by one request per such failure).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type Decision, decide, type RateLimiter, type WindowSpec, windowIndex } from './limiter.ts';
import { MemoryRateLimiter } from './memory-limiter.ts';
import { BATCH_SCRIPT, type BatchGroup, ConsumeBatcher, hashTag } from './redis-batch.ts';
import { RedisBreaker } from './redis-breaker.ts';
import {
  claimFreshRedis,
  counterKey,
  type DaySeedSource,
  EPOCH_TTL_MS,
  EXPIRY_SLACK_SECONDS,
  epochKey,
  PendingSeeds,
} from './redis-reseed.ts';

/**
 * KEYS: the counters a consume incremented (same window indices). Decrements each that is still above zero;
 * a counter that expired (its window is over) is not recreated. DECR keeps the key's expiry.
 */
const RELEASE_SCRIPT = `
for i = 1, #KEYS do
  local c = tonumber(redis.call('GET', KEYS[i]) or '0')
  if c > 0 then redis.call('DECR', KEYS[i]) end
end
return 1
`;

/** ioredis's `commandTimeout` error: the command was sent, and may yet run. */
function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Command timed out';
}

/** A request waiting for its batch's answer: its promise's resolve, or the request path's callback (consumeThen). */
type Waiter = (decision: Decision) => void;

const HEARTBEAT_MS = 5_000;
const NODE_TTL_MS = 15_000;

type ConsumeRedis = Redis & {
  cohera_consume_batch(...args: Array<string | number>): Promise<number[]>;
  cohera_release(...args: Array<string | number>): Promise<number>;
};

export interface RedisRateLimiterOptions {
  url: string;
  prefix: string;
  log: Logger;
  /**
   * How long a Redis call may take before this request is decided locally (default 1 s): the longest a
   * request waits on Redis, in the moment before the breaker opens.
   */
  commandTimeoutMs?: number;
  /** Today's day-window counts from storage, for a Redis that lost its counters (redis-reseed.ts). */
  daySeed?: DaySeedSource;
}

export class RedisRateLimiter implements RateLimiter {
  readonly backend = 'redis' as const;
  readonly #redis: ConsumeRedis;
  readonly #prefix: string;
  readonly #log: Logger;
  /** Counts requests decided locally; replaced by an empty one when its counts go to Redis. */
  #fallback = new MemoryRateLimiter();
  readonly #nodeId = randomBytes(8).toString('hex');
  readonly #heartbeat: NodeJS.Timeout;
  readonly #breaker: RedisBreaker;
  /** Outage counts not yet in Redis (kept across failed attempts). */
  readonly #seeds = new PendingSeeds();
  readonly #daySeed: DaySeedSource | undefined;
  readonly #timeoutMs: number;
  #nodes = 1;
  /**
   * Units allowed locally for a request whose command was sent and then timed out, per Redis counter: Redis
   * may still run it (a frozen Redis runs what is queued when it thaws), so `#recover` does not hand these
   * over again. A Redis that died never runs them; the day seed covers those (redis-reseed.ts). A command
   * refused or cut off by a closed connection counts as not run, and is handed over.
   */
  #sentAndUnsure = new Map<string, number>();
  /** Requests decided by the local fallback since start (a metric). */
  fallbackDecisions = 0;
  readonly #batcher: ConsumeBatcher<Waiter>;

  constructor(options: RedisRateLimiterOptions) {
    this.#prefix = options.prefix;
    this.#log = options.log;
    this.#daySeed = options.daySeed;
    this.#timeoutMs = options.commandTimeoutMs ?? 1_000;
    this.#redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.#timeoutMs,
      // No auto-pipelining: the batcher already sends one command per turn (redis-batch.ts), and
      // ioredis's pipeline around that one command cost a Pipeline object and a tick per turn.
      retryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
    }) as ConsumeRedis;
    this.#redis.defineCommand('cohera_consume_batch', { lua: BATCH_SCRIPT });
    this.#redis.defineCommand('cohera_release', { lua: RELEASE_SCRIPT });
    this.#batcher = new ConsumeBatcher<Waiter>(
      (args) => this.#redis.cohera_consume_batch(...args),
      this.#settle,
    );
    this.#redis.on('error', () => {}); // state changes are reported by the breaker, once per outage
    this.#breaker = new RedisBreaker(this.#redis, {
      timeoutMs: this.#timeoutMs,
      log: this.#log,
      onRecovery: () => this.#recover(),
      describe: () => ({ nodes: this.#nodes }),
    });
    this.#heartbeat = setInterval(() => this.#beat(), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  /** True while requests are limited locally because Redis is unreachable (the breaker is open). */
  get degraded(): boolean {
    return this.#breaker.open;
  }

  /** Live nodes last seen in the heartbeat set (at least 1). */
  get nodes(): number {
    return this.#nodes;
  }

  #beat(): void {
    // Not the breaker's state: `#recover` beats just before the breaker closes, so the share is current.
    if (this.#redis.status !== 'ready') return;
    const key = `${this.#prefix}rl:nodes`;
    const now = Date.now();
    this.#redis
      .multi()
      .zadd(key, now, this.#nodeId)
      .zremrangebyscore(key, '-inf', now - NODE_TTL_MS)
      .zcard(key)
      .pexpire(key, NODE_TTL_MS * 2)
      .pexpire(epochKey(this.#prefix), EPOCH_TTL_MS)
      .exec()
      .then((results) => {
        const count = Number(results?.[2]?.[1] ?? 1);
        this.#nodes = Math.max(1, count);
        this.#breaker.succeeded();
      })
      // With no traffic, the heartbeat is what notices a frozen Redis.
      .catch((error: unknown) => this.#breaker.failed(error, 1));
  }

  /**
   * Before the breaker closes: hand this node's outage counts to Redis, and seed the day windows if Redis
   * lost its counters. False (retried at the next probe) when Redis fails meanwhile.
   */
  async #recover(): Promise<boolean> {
    const outage = this.#fallback;
    const unsure = this.#sentAndUnsure;
    this.#fallback = new MemoryRateLimiter();
    this.#sentAndUnsure = new Map();
    // Every counter, even of a window that ended: `flush` drops those by the real clock, as Redis would.
    for (const c of outage.current(0)) {
      const key = counterKey(this.#prefix, c.key, c.window);
      this.#seeds.add({
        key,
        count: c.count - (unsure.get(key) ?? 0),
        // The fallback's counters expire at their window's end, as Redis's do (plus the slack).
        expireAt: Math.ceil(c.expiresAt / 1000) + EXPIRY_SLACK_SECONDS,
      });
    }
    try {
      if (this.#daySeed && (await claimFreshRedis(this.#redis, this.#prefix, this.#nodeId))) {
        await this.#seedDays(this.#daySeed);
      }
      await this.#seeds.flush(this.#redis, Math.floor(Date.now() / 1000));
    } catch (error) {
      this.#log.warn(
        { err: (error as Error).message },
        'redis rate-limit counters not restored yet; retrying',
      );
      return false;
    }
    this.#beat();
    return true;
  }

  /** Redis lost its counters: today's day windows from the usage table (approximate: redis-reseed.ts). */
  async #seedDays(source: DaySeedSource): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const rows = await Promise.race([
        source(),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('usage read timed out')), 5_000);
        }),
      ]);
      for (const row of rows) {
        this.#seeds.add({
          key: counterKey(this.#prefix, row.key, row.dayIndex),
          count: row.count,
          expireAt: (row.dayIndex + 1) * 86_400 + EXPIRY_SLACK_SECONDS,
        });
      }
      if (rows.length > 0) {
        this.#log.warn(
          { windows: rows.length },
          'redis has no rate-limit counters (new, or restarted without its data): day windows seeded from usage',
        );
      }
    } catch (error) {
      // The database may be down too: the day windows restart from zero rather than the limiter waiting.
      this.#log.warn(
        { err: (error as Error).message },
        'redis lost its rate-limit counters; day windows not reseeded',
      );
    } finally {
      clearTimeout(timer);
    }
  }

  #share(windows: readonly WindowSpec[]): WindowSpec[] {
    return windows.map((w) => ({ ...w, limit: Math.max(1, Math.ceil(w.limit / this.#nodes)) }));
  }

  #local(windows: readonly WindowSpec[], nowMs: number, consume: boolean): Decision {
    this.fallbackDecisions++;
    this.#breaker.decidedLocally();
    const share = this.#share(windows);
    const decision = consume ? this.#fallback.consume(share, nowMs) : this.#fallback.peek(share, nowMs);
    return decision;
  }

  /**
   * The Redis keys of the windows' counters, `<prefix>rl:<window key>:<window index>`. The part before the
   * index is kept per window spec (the rate-limit step keeps a credential's specs), so a request builds one
   * string per window.
   */
  #keys(windows: readonly WindowSpec[], nowMs: number): string[] {
    const keys: string[] = new Array(windows.length);
    for (let i = 0; i < windows.length; i++) {
      const w = windows[i] as WindowSpec;
      keys[i] = this.#stem(w).stem + windowIndex(nowMs, w.windowSeconds);
    }
    return keys;
  }

  #stem(w: WindowSpec): { stem: string; tag: string } {
    let stem = this.#keyStems.get(w);
    if (stem === undefined) {
      stem = { stem: `${this.#prefix}rl:${w.key}:`, tag: hashTag(w.key) };
      this.#keyStems.set(w, stem);
    }
    return stem;
  }

  readonly #keyStems = new WeakMap<WindowSpec, { stem: string; tag: string }>();

  #run(windows: readonly WindowSpec[], nowMs: number, consume: boolean): Decision | Promise<Decision> {
    if (windows.length === 0) return decide(windows, [], nowMs, consume);
    if (this.#breaker.open) return this.#local(windows, nowMs, consume);
    return new Promise<Decision>((resolve) => this.#join(windows, nowMs, consume, resolve));
  }

  /** Puts a request in this turn's batch, in the group of its windows (redis-batch.ts). */
  #join(windows: readonly WindowSpec[], nowMs: number, consume: boolean, waiter: Waiter): void {
    const batcher = this.#batcher;
    const group = batcher.find(windows, consume, nowMs) ?? batcher.open(this.#group(windows, nowMs, consume));
    batcher.add(group, waiter);
  }

  /** A new batch group for these windows at `nowMs` (redis-batch.ts): their counters' keys, limits, expiry. */
  #group(windows: readonly WindowSpec[], nowMs: number, consume: boolean): BatchGroup<Waiter> {
    const n = windows.length;
    const indexes: number[] = new Array(n);
    const keys: string[] = new Array(n);
    const limits: number[] = new Array(n);
    const expireAts: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const w = windows[i] as WindowSpec;
      const index = windowIndex(nowMs, w.windowSeconds);
      indexes[i] = index;
      keys[i] = this.#stem(w).stem + index;
      limits[i] = w.limit;
      expireAts[i] = (index + 1) * w.windowSeconds + EXPIRY_SLACK_SECONDS;
    }
    const tag = this.#stem(windows[0] as WindowSpec).tag;
    return { windows, consume, nowMs, indexes, keys, limits, expireAts, tag, waiters: [] };
  }

  /**
   * A group's answer: its first `passed` requests pass, counted one after the other from the counts before
   * it; the rest are refused at the counts the last one left (a refused request counts nothing). A peek
   * group's requests all see the counts before it.
   */
  readonly #settle = (
    group: BatchGroup<Waiter>,
    before: number[] | null,
    passed: number,
    error?: unknown,
  ) => {
    const { windows, nowMs, consume, waiters } = group;
    if (before !== null) {
      this.#breaker.succeeded();
      const n = before.length;
      for (let j = 0; j < waiters.length; j++) {
        const counted = consume ? Math.min(j, passed) : 0;
        const counts: number[] = new Array(n);
        for (let i = 0; i < n; i++) counts[i] = (before[i] as number) + counted;
        this.#answer(waiters[j] as Waiter, decide(windows, counts, nowMs, consume));
      }
      return;
    }
    // Every request of a failed call is decided locally; the breaker counts a run of failures, and asks
    // Redis before it opens, so one failed batch of many requests does not trip it by itself.
    for (const waiter of waiters) {
      this.#breaker.failed(error);
      const decision = this.#local(windows, nowMs, consume);
      if (consume && decision.allowed && isTimeout(error)) {
        for (const key of group.keys) this.#sentAndUnsure.set(key, (this.#sentAndUnsure.get(key) ?? 0) + 1);
      }
      this.#answer(waiter, decision);
    }
  };

  /** One waiter's answer: a waiter that throws must not leave the rest of its group unanswered. */
  #answer(waiter: Waiter, decision: Decision): void {
    try {
      waiter(decision);
    } catch (error) {
      this.#log.error({ err: error }, 'a rate-limit decision could not be delivered');
    }
  }

  consume(windows: readonly WindowSpec[], nowMs: number): Decision | Promise<Decision> {
    return this.#run(windows, nowMs, true);
  }

  /**
   * `consume` for the request path (limiter.ts): the decision goes to `then` once it is known (at once while
   * the breaker is open), with no promise per request.
   */
  consumeThen(windows: readonly WindowSpec[], nowMs: number, then: (decision: Decision) => void): void {
    if (windows.length === 0) then(decide(windows, [], nowMs, true));
    else if (this.#breaker.open) then(this.#local(windows, nowMs, true));
    else this.#join(windows, nowMs, true, then);
  }

  peek(windows: readonly WindowSpec[], nowMs: number): Decision | Promise<Decision> {
    return this.#run(windows, nowMs, false);
  }

  /** One round trip, like consume; during an outage the local fallback gives the unit back instead. */
  release(windows: readonly WindowSpec[], nowMs: number): void | Promise<void> {
    if (this.#breaker.open) {
      this.#fallback.release(windows, nowMs);
      return;
    }
    const keys = this.#keys(windows, nowMs);
    return this.#redis.cohera_release(keys.length, ...keys).then(
      () => this.#breaker.succeeded(),
      (error: unknown) => {
        this.#breaker.failed(error);
        this.#fallback.release(windows, nowMs);
      },
    );
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#breaker.stop();
    const key = `${this.#prefix}rl:nodes`;
    if (this.#redis.status === 'ready') await this.#redis.zrem(key, this.#nodeId).catch(() => {});
    this.#redis.disconnect();
  }
}
