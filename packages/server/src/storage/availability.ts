/**
 * Whether this node can reach its database, told by a cheap probe (`SELECT 1` under a short bound) rather
 * than guessed from errors: an error that looks like an outage (unavailable.ts) only makes the node *ask*,
 * so one dropped connection, or a Redis error that happens to say ECONNRESET, never logs an outage that did
 * not happen. Once a probe fails the node is "down": one warn line, then a probe every second until one
 * succeeds, and one info line with how long it lasted — never a line per request.
 *
 * `GET /ready` asks `check()`, cached for a second, so a load balancer polling every node cannot turn
 * readiness into load on the database; `cohera_database_up` reads `up`.
 */
import { describeUnavailable } from './unavailable.ts';

export interface AvailabilityLog {
  warn(details: Record<string, unknown>, message: string): void;
  info(details: Record<string, unknown>, message: string): void;
}

export interface AvailabilityOptions {
  /** Longest wait for the probe's answer (default 2 s): readiness must answer quickly when the database cannot. */
  probeTimeoutMs?: number;
  /** How long a probe's verdict is reused by `check()` (default 1 s). */
  cacheMs?: number;
  /** Probe interval while down (default 1 s): how soon the node notices the database is back. */
  recheckMs?: number;
}

/** What a client is told to wait before retrying a request the database could not serve, in seconds. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

export class DatabaseAvailability {
  readonly #ping: () => Promise<unknown>;
  readonly #log: AvailabilityLog;
  readonly #probeTimeoutMs: number;
  readonly #cacheMs: number;
  readonly #recheckMs: number;
  #up = true;
  #downSince = 0;
  /** The last verdict and when it was reached (performance.now()), for `check()`'s cache. */
  #checkedAt = Number.NEGATIVE_INFINITY;
  /** The probe in flight, shared by every caller. */
  #probe: Promise<boolean> | null = null;
  /**
   * The ping a timed-out probe left behind. While it is still waiting (on a frozen server it holds a pool
   * connection until the query timeout), no second ping starts: probes must never exhaust the pool.
   */
  #lingering: Promise<unknown> | null = null;
  #recheck: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(ping: () => Promise<unknown>, log: AvailabilityLog, options: AvailabilityOptions = {}) {
    this.#ping = ping;
    this.#log = log;
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 2_000;
    this.#cacheMs = options.cacheMs ?? 1_000;
    this.#recheckMs = options.recheckMs ?? 1_000;
  }

  /** Whether the last probe (or, before any, the start-up migration) reached the database. */
  get up(): boolean {
    return this.#up;
  }

  /** Readiness: the last verdict if under a second old, else a fresh probe (bounded by the probe timeout). */
  check(): Promise<boolean> {
    if (this.#probe) return this.#probe;
    if (performance.now() - this.#checkedAt < this.#cacheMs) return Promise.resolve(this.#up);
    return this.#runProbe(null);
  }

  /**
   * A request or a background task failed with an error that looks like an outage: probe, and declare one
   * if the probe fails too. Cheap while already down or while a probe runs.
   */
  suspect(error: unknown): void {
    if (!this.#up || this.#probe || this.#closed) return;
    void this.#runProbe(error);
  }

  /** Stops the recovery probes (the database is being closed). */
  close(): void {
    this.#closed = true;
    if (this.#recheck) clearTimeout(this.#recheck);
    this.#recheck = null;
  }

  #runProbe(trigger: unknown): Promise<boolean> {
    const probe = this.#answers().then((failure) => {
      this.#checkedAt = performance.now();
      if (failure === null) this.#markUp();
      else this.#markDown(trigger ?? failure);
      return failure === null;
    });
    this.#probe = probe.finally(() => {
      this.#probe = null;
    });
    return this.#probe;
  }

  /** Null when the database answered within the bound; otherwise why not. */
  async #answers(): Promise<unknown> {
    if (this.#lingering) return new Error('the previous probe is still waiting for the database');
    const ping = this.#ping();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#probeTimeoutMs);
    });
    try {
      const outcome = await Promise.race([ping.then(() => 'answered' as const), timedOut]);
      if (outcome === 'answered') return null;
      this.#lingering = ping.then(
        () => undefined,
        () => undefined,
      );
      void this.#lingering.then(() => {
        this.#lingering = null;
      });
      return new Error(`the database did not answer SELECT 1 within ${this.#probeTimeoutMs} ms`);
    } catch (error) {
      return error;
    } finally {
      clearTimeout(timer);
    }
  }

  #markDown(reason: unknown): void {
    if (this.#closed) return;
    if (this.#up) {
      this.#up = false;
      this.#downSince = performance.now();
      this.#log.warn(
        { database: 'unreachable', error: describeUnavailable(reason) },
        'the database is unreachable or too slow: requests that need it are answered 503 with Retry-After, ' +
          'cached credentials keep working, GET /ready answers 503; checking again every second',
      );
    }
    this.#scheduleRecheck();
  }

  #markUp(): void {
    if (this.#recheck) clearTimeout(this.#recheck);
    this.#recheck = null;
    if (this.#up) return;
    this.#up = true;
    this.#log.info(
      { database: 'reachable', down_ms: Math.round(performance.now() - this.#downSince) },
      'the database answers again; serving normally',
    );
  }

  #scheduleRecheck(): void {
    if (this.#recheck || this.#closed) return;
    this.#recheck = setTimeout(() => {
      this.#recheck = null;
      if (!this.#closed && !this.#up && !this.#probe) void this.#runProbe(null);
      else if (!this.#up) this.#scheduleRecheck();
    }, this.#recheckMs);
    // Never what keeps a process alive (an operator command, a test).
    this.#recheck.unref();
  }
}
