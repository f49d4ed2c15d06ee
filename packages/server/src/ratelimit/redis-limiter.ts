/**
 * The fleet limiter: every window of a request checked and counted in ONE Redis round trip by a Lua script
 * (atomic, so two nodes can never both take the last unit: exactly `limit` requests pass). Counters expire
 * on their own just after their window ends.
 *
 * When Redis is unreachable or slow, the node falls back to a local limiter with its share of each limit
 * (limit ÷ live nodes, from a heartbeat set) — it neither fails closed nor stops limiting — logs once per
 * outage, reports it through `degraded`, and returns to Redis when the connection is back.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type Decision, decide, type RateLimiter, type WindowSpec, windowIndex } from './limiter.ts';
import { MemoryRateLimiter } from './memory-limiter.ts';

/**
 * KEYS: one counter per window. ARGV: limits (n), expire-at epoch seconds (n), then "1" to count or "0" to
 * peek. Returns {allowed, count_before_1, …, count_before_n}.
 */
const CONSUME_SCRIPT = `
local n = #KEYS
local before = {}
local allowed = 1
for i = 1, n do
  local c = tonumber(redis.call('GET', KEYS[i]) or '0')
  before[i] = c
  if c >= tonumber(ARGV[i]) then allowed = 0 end
end
if allowed == 1 and ARGV[2 * n + 1] == '1' then
  for i = 1, n do
    if redis.call('INCR', KEYS[i]) == 1 then
      redis.call('EXPIREAT', KEYS[i], ARGV[n + i])
    end
  end
end
local out = {allowed}
for i = 1, n do out[i + 1] = before[i] end
return out
`;

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

/** Seconds a counter outlives its window, so nodes with slightly skewed clocks still agree. */
const EXPIRY_SLACK_SECONDS = 5;
const HEARTBEAT_MS = 5_000;
const NODE_TTL_MS = 15_000;

type ConsumeRedis = Redis & {
  cohera_consume(...args: Array<string | number>): Promise<number[]>;
  cohera_release(...args: Array<string | number>): Promise<number>;
};

export interface RedisRateLimiterOptions {
  url: string;
  prefix: string;
  log: Logger;
  /** How long a Redis call may take before this request is decided locally (default 250 ms). */
  commandTimeoutMs?: number;
}

export class RedisRateLimiter implements RateLimiter {
  readonly backend = 'redis' as const;
  readonly #redis: ConsumeRedis;
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #fallback = new MemoryRateLimiter();
  readonly #nodeId = randomBytes(8).toString('hex');
  readonly #heartbeat: NodeJS.Timeout;
  #degraded = false;
  #nodes = 1;
  /** Requests decided by the local fallback since start (a metric). */
  fallbackDecisions = 0;

  constructor(options: RedisRateLimiterOptions) {
    this.#prefix = options.prefix;
    this.#log = options.log;
    this.#redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 250,
      // Requests arriving in the same tick share one write to Redis: still one round trip per request,
      // far fewer syscalls per request under load.
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
    }) as ConsumeRedis;
    this.#redis.defineCommand('cohera_consume', { lua: CONSUME_SCRIPT });
    this.#redis.defineCommand('cohera_release', { lua: RELEASE_SCRIPT });
    this.#redis.on('error', () => {}); // state changes are reported below, once per outage
    this.#redis.on('ready', () => {
      if (this.#degraded) this.#log.warn('redis is back: rate limits are global again');
      this.#degraded = false;
      this.#beat();
    });
    this.#heartbeat = setInterval(() => this.#beat(), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  /** True while requests are limited locally because Redis is unreachable. */
  get degraded(): boolean {
    return this.#degraded || this.#redis.status !== 'ready';
  }

  /** Live nodes last seen in the heartbeat set (at least 1). */
  get nodes(): number {
    return this.#nodes;
  }

  #beat(): void {
    if (this.#redis.status !== 'ready') return;
    const key = `${this.#prefix}rl:nodes`;
    const now = Date.now();
    this.#redis
      .multi()
      .zadd(key, now, this.#nodeId)
      .zremrangebyscore(key, '-inf', now - NODE_TTL_MS)
      .zcard(key)
      .pexpire(key, NODE_TTL_MS * 2)
      .exec()
      .then((results) => {
        const count = Number(results?.[2]?.[1] ?? 1);
        this.#nodes = Math.max(1, count);
      })
      .catch(() => {});
  }

  #markDegraded(error: unknown): void {
    if (!this.#degraded) {
      this.#degraded = true;
      this.#log.warn(
        { err: (error as Error).message, nodes: this.#nodes },
        'redis unreachable: rate limiting locally with this node’s share of each limit',
      );
    }
  }

  #share(windows: readonly WindowSpec[]): WindowSpec[] {
    return windows.map((w) => ({ ...w, limit: Math.max(1, Math.ceil(w.limit / this.#nodes)) }));
  }

  #local(windows: readonly WindowSpec[], nowMs: number, consume: boolean): Decision {
    this.fallbackDecisions++;
    const share = this.#share(windows);
    const decision = consume ? this.#fallback.consume(share, nowMs) : this.#fallback.peek(share, nowMs);
    return decision;
  }

  #keys(windows: readonly WindowSpec[], nowMs: number): string[] {
    return windows.map((w) => `${this.#prefix}rl:${w.key}:${windowIndex(nowMs, w.windowSeconds)}`);
  }

  #run(windows: readonly WindowSpec[], nowMs: number, consume: boolean): Decision | Promise<Decision> {
    if (this.#redis.status !== 'ready') {
      this.#markDegraded(new Error(`connection ${this.#redis.status}`));
      return this.#local(windows, nowMs, consume);
    }
    const keys = this.#keys(windows, nowMs);
    const args: Array<string | number> = [
      keys.length,
      ...keys,
      ...windows.map((w) => w.limit),
      ...windows.map(
        (w) => (windowIndex(nowMs, w.windowSeconds) + 1) * w.windowSeconds + EXPIRY_SLACK_SECONDS,
      ),
      consume ? '1' : '0',
    ];
    return this.#redis.cohera_consume(...args).then(
      (result) => decide(windows, result.slice(1).map(Number), nowMs, consume),
      (error: unknown) => {
        this.#markDegraded(error);
        return this.#local(windows, nowMs, consume);
      },
    );
  }

  consume(windows: readonly WindowSpec[], nowMs: number): Decision | Promise<Decision> {
    return this.#run(windows, nowMs, true);
  }

  peek(windows: readonly WindowSpec[], nowMs: number): Decision | Promise<Decision> {
    return this.#run(windows, nowMs, false);
  }

  /** One round trip, like consume; during an outage the local fallback gives the unit back instead. */
  release(windows: readonly WindowSpec[], nowMs: number): void | Promise<void> {
    if (this.#redis.status !== 'ready') {
      this.#markDegraded(new Error(`connection ${this.#redis.status}`));
      this.#fallback.release(windows, nowMs);
      return;
    }
    const keys = this.#keys(windows, nowMs);
    return this.#redis.cohera_release(keys.length, ...keys).then(
      () => {},
      (error: unknown) => {
        this.#markDegraded(error);
        this.#fallback.release(windows, nowMs);
      },
    );
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    const key = `${this.#prefix}rl:nodes`;
    if (this.#redis.status === 'ready') await this.#redis.zrem(key, this.#nodeId).catch(() => {});
    this.#redis.disconnect();
  }
}
