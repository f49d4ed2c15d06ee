/**
 * Invalidation over PostgreSQL LISTEN/NOTIFY: the transport of a fleet on PostgreSQL without Redis, and the
 * second path beside Redis on a fleet with both (fan-out-bus.ts). One dedicated connection listens (a
 * pooled one cannot: LISTEN belongs to a session); notifications go out through the pool, in the background
 * and retried (publish-queue.ts). On a lost connection it reconnects with backoff and then clears caches
 * (messages may be missed).
 *
 * Health: a listening connection only receives, so behind a partition (a frozen server, a dropped route, a
 * NAT that forgot the flow) it would wait for notifications forever and never learn it is dead, and this
 * node would keep trusting cached credentials for the long TTL while revocations stop arriving. So the
 * connection has TCP keepalive and a connect timeout (COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS), and every
 * `livenessIntervalMs` it is asked `SELECT 1`; an answer not back within `livenessTimeoutMs` tears it down
 * and reconnects with backoff. From the moment it is found dead until LISTEN is back, `healthy` is false,
 * so credential-freshness.ts trusts caches for the short TTL only; when it is back, caches are cleared.
 *
 * Logs: one warn when the listener is lost and one info when it is back; failed reconnects in between are
 * at debug (during a database outage, storage/availability.ts has already said so, once).
 */
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DB } from '../storage/schema.ts';
import { describeUnavailable } from '../storage/unavailable.ts';
import {
  BusHealth,
  decodeInvalidation,
  HandlerSet,
  type Invalidation,
  type InvalidationBus,
} from './invalidation-bus.ts';
import { PublishQueue } from './publish-queue.ts';

export interface PostgresBusOptions {
  /** Longest wait for one NOTIFY through the pool (default 1 s). */
  timeoutMs?: number;
  /** Longest wait for the listening connection's handshake (COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS; default 5 s). */
  connectTimeoutMs?: number;
  /** How often the listening connection is asked `SELECT 1` (default 5 s). */
  livenessIntervalMs?: number;
  /** How long that answer (and the `LISTEN` after a connect) may take before the connection is given up (default 3 s). */
  livenessTimeoutMs?: number;
}

/** How long the idle listening connection waits before its first TCP keepalive probe. */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** Longest wait between reconnect attempts. */
const MAX_RETRY_MS = 5_000;

/** Resolves with the promise's outcome, or rejects once `ms` passed without one. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} got no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const CHANNEL = 'cohera_invalidate';

export class PostgresInvalidationBus implements InvalidationBus {
  readonly transport = 'postgres' as const;
  readonly #url: string;
  readonly #db: Kysely<DB>;
  readonly #log: Logger;
  readonly #handlers = new HandlerSet();
  readonly #queue: PublishQueue;
  readonly #health = new BusHealth();
  readonly #connectTimeoutMs: number;
  readonly #livenessTimeoutMs: number;
  readonly #liveness: NodeJS.Timeout;
  /** The liveness check in flight: never a second one queued behind an unanswered first. */
  #checking = false;
  /** Whether the loss was logged (one warn per loss, one info when back). */
  #lostLogged = false;
  #client: pg.Client | null = null;
  #closed = false;
  #ready: Promise<void>;
  #retryMs = 100;

  constructor(url: string, db: Kysely<DB>, log: Logger, options: PostgresBusOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 1_000;
    this.#url = url;
    this.#db = db;
    this.#log = log;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.#livenessTimeoutMs = options.livenessTimeoutMs ?? 3_000;
    this.#liveness = setInterval(() => this.#checkLiveness(), options.livenessIntervalMs ?? 5_000);
    this.#liveness.unref();
    this.#queue = new PublishQueue({
      send: (payload) => sql`select pg_notify(${CHANNEL}, ${payload})`.execute(this.#db),
      timeoutMs,
      transport: 'postgres',
      log,
    });
    this.#ready = this.#connect(false);
  }

  /** Whether the listening connection is up (see the top). */
  get healthy(): boolean {
    return this.#health.healthy;
  }

  onHealthChange(handler: (healthy: boolean) => void): void {
    this.#health.onChange(handler);
  }

  async #connect(reconnect: boolean): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: this.#connectTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
      application_name: 'cohera-listen',
    });
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) this.#emit(decodeInvalidation(message.payload));
    });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('the listening connection ended')));
    try {
      await client.connect();
      // Bounded too: a server that accepts the handshake and then stops answering must not hold us here.
      await within(client.query(`LISTEN ${CHANNEL}`), this.#livenessTimeoutMs, 'LISTEN');
      if (this.#closed || this.#dead.has(client)) {
        this.#discard(client);
        return;
      }
      this.#client = client;
      this.#retryMs = 100;
      if (reconnect) {
        // Before healthy: a cache that trusts the long TTL again must not keep what a missed message evicted.
        this.#emit({ kind: 'all' });
        this.#log.info(
          { invalidation: 'postgres', listener: 'reconnected' },
          'postgres invalidation listener reconnected; credential caches cleared',
        );
      }
      this.#lostLogged = false;
      this.#health.set(true);
    } catch (error) {
      this.#lost(client, error);
    }
  }

  /** Asks the listening connection `SELECT 1`; no answer within the bound means it is dead. */
  #checkLiveness(): void {
    const client = this.#client;
    if (this.#closed || this.#checking || client === null) return;
    this.#checking = true;
    within(client.query('SELECT 1'), this.#livenessTimeoutMs, "the invalidation listener's SELECT 1")
      .catch((error: unknown) => this.#lost(client, error))
      .finally(() => {
        this.#checking = false;
      });
  }

  /** Clients already given up on: `error`, `end` and a failed check can all fire for one loss. */
  readonly #dead = new WeakSet<pg.Client>();

  /** The connection is gone or unanswering: unhealthy at once, torn down, reconnected with backoff. */
  #lost(client: pg.Client, error: unknown): void {
    if (this.#closed || this.#dead.has(client)) return;
    this.#dead.add(client);
    if (this.#client === client) this.#client = null;
    this.#discard(client);
    this.#health.set(false);
    if (!this.#lostLogged) {
      this.#lostLogged = true;
      this.#log.warn(
        { invalidation: 'postgres', listener: 'lost', error: describeUnavailable(error) },
        'postgres invalidation listener lost: credential caches use their short TTL until it is back; reconnecting',
      );
    } else {
      this.#log.debug(
        { invalidation: 'postgres', error: describeUnavailable(error) },
        'postgres invalidation listener cannot connect yet',
      );
    }
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    setTimeout(() => {
      if (!this.#closed && this.#client === null) this.#ready = this.#connect(true);
    }, delay).unref();
  }

  /**
   * Ends a connection without waiting on it: `end()` sends Terminate and waits for the server, which a
   * frozen one never answers, so the socket is destroyed as well.
   */
  #discard(client: pg.Client): void {
    this.#dead.add(client);
    client.end().catch(() => {});
    client.connection?.stream?.destroy();
  }

  #emit(message: Invalidation): void {
    this.#handlers.emit(message, (error) => this.#log.error({ err: error }, 'invalidation handler failed'));
  }

  async publish(message: Invalidation): Promise<void> {
    this.#emit(message); // this node at once, whatever PostgreSQL does
    this.broadcast(message);
  }

  /** Queues a message for the other nodes only (the fan-out bus applies it locally once itself). */
  broadcast(message: Invalidation): void {
    this.#queue.enqueue(message);
  }

  subscribe(handler: (message: Invalidation) => void): void {
    this.#handlers.add(handler);
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  flush(timeoutMs: number): Promise<boolean> {
    return this.#queue.flush(timeoutMs);
  }

  async close(): Promise<void> {
    await this.#queue.flush(2_000);
    this.#queue.close();
    this.#closed = true;
    clearInterval(this.#liveness);
    const client = this.#client;
    this.#client = null;
    if (client) {
      this.#dead.add(client);
      // Bounded: a frozen server never answers the Terminate `end()` waits for.
      await within(client.end(), 1_000, 'closing the invalidation listener').catch(() => {});
      client.connection?.stream?.destroy();
    }
  }
}
