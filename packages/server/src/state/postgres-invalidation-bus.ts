/**
 * Invalidation over PostgreSQL LISTEN/NOTIFY: the transport of a fleet on PostgreSQL without Redis, and the
 * second path beside Redis on a fleet with both (fan-out-bus.ts). One dedicated connection listens (a
 * pooled one cannot: LISTEN belongs to a session); notifications go out through the pool, in the background
 * and retried (publish-queue.ts). On a lost connection it reconnects with backoff and then clears caches
 * (messages may be missed).
 *
 * Always `healthy`, unlike Redis: this transport shares its fate with the database the changes are
 * committed to. While this node cannot reach PostgreSQL, no change it could miss can be verified against
 * storage either (the caches' own outage rules apply: storage/stale-while-revalidate.ts), and a listener
 * that was cut off empties this node's caches when it reconnects.
 */
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DB } from '../storage/schema.ts';
import {
  decodeInvalidation,
  HandlerSet,
  type Invalidation,
  type InvalidationBus,
} from './invalidation-bus.ts';
import { PublishQueue } from './publish-queue.ts';

const CHANNEL = 'cohera_invalidate';

export class PostgresInvalidationBus implements InvalidationBus {
  readonly transport = 'postgres' as const;
  readonly #url: string;
  readonly #db: Kysely<DB>;
  readonly #log: Logger;
  readonly #handlers = new HandlerSet();
  readonly #queue: PublishQueue;
  /** See the top: the database that would be asked instead is the transport itself. */
  readonly healthy = true;
  #client: pg.Client | null = null;
  #closed = false;
  #ready: Promise<void>;
  #retryMs = 100;

  constructor(url: string, db: Kysely<DB>, log: Logger, options: { timeoutMs?: number } = {}) {
    const timeoutMs = options.timeoutMs ?? 1_000;
    this.#url = url;
    this.#db = db;
    this.#log = log;
    this.#queue = new PublishQueue({
      send: (payload) => sql`select pg_notify(${CHANNEL}, ${payload})`.execute(this.#db),
      timeoutMs,
      transport: 'postgres',
      log,
    });
    this.#ready = this.#connect(false);
  }

  onHealthChange(): void {}

  async #connect(reconnect: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url });
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) this.#emit(decodeInvalidation(message.payload));
    });
    client.on('error', (error) => {
      this.#log.warn({ err: error.message }, 'postgres invalidation listener lost');
      this.#scheduleReconnect(client);
    });
    client.on('end', () => this.#scheduleReconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.#client = client;
      this.#retryMs = 100;
      if (reconnect) {
        this.#log.warn('postgres invalidation listener reconnected; clearing credential caches');
        this.#emit({ kind: 'all' });
      }
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'postgres invalidation listener cannot connect');
      this.#scheduleReconnect(client);
    }
  }

  /** Clients already given up on: `error` and `end` both fire for one loss, and must reconnect once. */
  readonly #dead = new WeakSet<pg.Client>();

  #scheduleReconnect(client: pg.Client): void {
    if (this.#closed || this.#dead.has(client)) return;
    this.#dead.add(client);
    if (this.#client === client) this.#client = null;
    client.end().catch(() => {});
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, 5_000);
    setTimeout(() => {
      if (!this.#closed && this.#client === null) this.#ready = this.#connect(true);
    }, delay).unref();
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

  async close(): Promise<void> {
    await this.#queue.flush(2_000);
    this.#queue.close();
    this.#closed = true;
    const client = this.#client;
    this.#client = null;
    if (client) {
      this.#dead.add(client);
      await client.end().catch(() => {});
    }
  }
}
