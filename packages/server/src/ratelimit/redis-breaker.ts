/**
 * The circuit breaker in front of the fleet limiter's Redis (issue 22, items 3 and 5). It decides whether
 * Redis is gone, so that one slow command under load is not taken for an outage (that fell back to a local
 * share for a single request and overshot the limit) and a real outage is not paid for with a command
 * timeout on every request.
 *
 * - Closed (Redis in use). A failed command counts; a run of `FAILURES_BEFORE_PING` failures in a row, or a
 *   connection that is not `ready`, makes the breaker PING Redis. Only a PING that fails or is not
 *   answered within the timeout opens it; an answered PING means Redis is alive, merely slow, and resets
 *   the count. A dropped connection opens it at once.
 * - Open (decided locally). No request waits on Redis. Every `PROBE_MS` a PING is sent; when one is
 *   answered the breaker runs `onRecovery` (hand the local counts back to Redis) and closes only once that
 *   succeeded, so no node counts in Redis while its outage counts are still missing from it.
 *
 * Logs one warning when it opens and one line when it closes, never per request.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Failures in a row before Redis is asked whether it is alive. */
export const FAILURES_BEFORE_PING = 3;
/** How often an open breaker checks whether Redis is back. */
export const PROBE_MS = 500;

export const OUTAGE_WARNING = 'redis unreachable: rate limiting locally with this node’s share of each limit';
export const RECOVERY_NOTICE = 'redis is back: rate limits are global again';

export interface RedisBreakerOptions {
  timeoutMs: number;
  log: Logger;
  /** Work to finish before requests go to Redis again; resolves true when done (else retried). */
  onRecovery(): Promise<boolean>;
  /** Context for the outage warning. */
  describe(): Record<string, unknown>;
}

export class RedisBreaker {
  readonly #redis: Redis;
  readonly #options: RedisBreakerOptions;
  /**
   * Starts open: until the first connection is ready and `onRecovery` ran (which also checks whether
   * Redis lost its counters), requests are decided locally. That start is not an outage: no warning.
   */
  #open = true;
  #warned = false;
  #failures = 0;
  #pinging = false;
  #probe: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(redis: Redis, options: RedisBreakerOptions) {
    this.#redis = redis;
    this.#options = options;
    redis.on('close', () => this.trip(new Error('connection closed')));
    redis.on('ready', () => this.#tryClose());
    this.#startProbe();
  }

  /** True while requests are decided locally. */
  get open(): boolean {
    return this.#open;
  }

  /** A command answered: a run of failures is over. */
  succeeded(): void {
    this.#failures = 0;
  }

  /**
   * A command failed or timed out: maybe Redis is gone, maybe it was one slow answer. Decide. `threshold`:
   * failures in a row before asking Redis (1 for the heartbeat, which is all an idle node sends).
   */
  failed(error: unknown, threshold = FAILURES_BEFORE_PING): void {
    if (this.#open) return;
    if (this.#redis.status !== 'ready') {
      this.trip(error);
      return;
    }
    if (++this.#failures < threshold || this.#pinging) return;
    this.#pinging = true;
    void this.#ping().then((alive) => {
      this.#pinging = false;
      if (alive) this.#failures = 0;
      else this.trip(error);
    });
  }

  /**
   * A request was decided locally. When Redis has been unreachable since start-up (the breaker starts open
   * without a warning), the first such request says so, once.
   */
  decidedLocally(): void {
    if (this.#warned) return;
    const status = this.#redis.status;
    if (status === 'reconnecting' || status === 'close' || status === 'end') {
      this.#warned = true;
      this.#options.log.warn({ err: `connection ${status}`, ...this.#options.describe() }, OUTAGE_WARNING);
    }
  }

  /** Opens the breaker now (the connection is gone, or a PING went unanswered). */
  trip(error: unknown): void {
    if (this.#open || this.#closed) return;
    this.#open = true;
    this.#warned = true;
    this.#options.log.warn(
      { err: error instanceof Error ? error.message : String(error), ...this.#options.describe() },
      OUTAGE_WARNING,
    );
    this.#startProbe();
  }

  stop(): void {
    this.#closed = true;
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = null;
  }

  #startProbe(): void {
    if (this.#probe || this.#closed) return;
    this.#probe = setInterval(() => this.#tryClose(), PROBE_MS);
    this.#probe.unref();
  }

  /** One attempt at a time: PING, then the recovery work, then close. */
  #tryClose(): void {
    if (!this.#open || this.#pinging || this.#closed || this.#redis.status !== 'ready') return;
    this.#pinging = true;
    // Never rejects: #ping resolves false, and a failed recovery is caught to false.
    void this.#ping()
      .then((alive) => (alive ? this.#options.onRecovery() : false))
      .catch(() => false)
      .then((recovered) => {
        this.#pinging = false;
        if (!recovered || !this.#open || this.#closed || this.#redis.status !== 'ready') return;
        this.#open = false;
        this.#failures = 0;
        if (this.#probe) clearInterval(this.#probe);
        this.#probe = null;
        if (this.#warned) this.#options.log.warn(RECOVERY_NOTICE);
        this.#warned = false;
      });
  }

  /** True when Redis answers PING within the timeout. */
  #ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), this.#options.timeoutMs);
      this.#redis.ping().then(
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        () => {
          clearTimeout(timer);
          resolve(false);
        },
      );
    });
  }
}
