/**
 * Invalidation over PostgreSQL LISTEN/NOTIFY, for a fleet on PostgreSQL without Redis. One dedicated
 * connection listens (a pooled one cannot: LISTEN belongs to a session); notifications go out through the
 * pool. On a lost connection it reconnects with backoff and then clears caches (messages may be missed).
 */
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DB } from '../storage/schema.ts';
import {
  decodeInvalidation,
  encodeInvalidation,
  HandlerSet,
  type Invalidation,
  type InvalidationBus,
} from './invalidation-bus.ts';

const CHANNEL = 'cohera_invalidate';

export class PostgresInvalidationBus implements InvalidationBus {
  readonly transport = 'postgres' as const;
  readonly #url: string;
  readonly #db: Kysely<DB>;
  readonly #log: Logger;
  readonly #handlers = new HandlerSet();
  #client: pg.Client | null = null;
  #closed = false;
  #ready: Promise<void>;
  #retryMs = 100;

  constructor(url: string, db: Kysely<DB>, log: Logger) {
    this.#url = url;
    this.#db = db;
    this.#log = log;
    this.#ready = this.#connect(false);
  }

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
    this.#emit(message);
    try {
      await sql`select pg_notify(${CHANNEL}, ${encodeInvalidation(message)})`.execute(this.#db);
    } catch (error) {
      this.#log.warn(
        { err: (error as Error).message },
        'postgres notify failed; other nodes catch up by cache TTL',
      );
    }
  }

  subscribe(handler: (message: Invalidation) => void): void {
    this.#handlers.add(handler);
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = null;
    if (client) {
      this.#dead.add(client);
      await client.end().catch(() => {});
    }
  }
}
