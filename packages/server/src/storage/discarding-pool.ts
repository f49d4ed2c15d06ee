/**
 * Kysely's view of pg's pool, with one rule pg-pool lacks: a connection on which a query failed for want of
 * the server (the client-side query timeout, a dropped connection) is destroyed when it is released, never
 * handed to another request. It also tells `onUnavailable` of every outage error it sees, from requests and
 * background tasks alike, so the node notices an outage even when no request is asking (availability.ts).
 *
 * Why: after a client-side timeout the statement may still sit in the server's socket. A frozen server that
 * resumes runs it — a `BEGIN` nobody will commit, say — and the next request given that connection would run
 * inside it: its writes answered 201, then rolled back when the session ends. Queries a caller sends on such
 * a connection before releasing it (Kysely's `ROLLBACK` after a failed statement) fail at once rather than
 * queue behind the one that never answered.
 *
 * A statement the server itself cancelled (`statement_timeout`, SQLSTATE 57014) leaves the connection in a
 * known state, so it is kept.
 */
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import { DISCARDED_CONNECTION, isDatabaseUnavailable } from './unavailable.ts';

/** Whether the connection a query failed on can no longer be trusted (see above). */
function leavesConnectionUnusable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  // A SQLSTATE from the server ends the statement, not the session — except connection exceptions (08)
  // and the server's own shutdowns (57P0x).
  const fromServer = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
  return !fromServer || code.startsWith('08') || code.startsWith('57P');
}

type OnUnavailable = (error: unknown) => void;

class GuardedClient implements PostgresPoolClient {
  readonly #client: pg.PoolClient;
  readonly #onUnavailable: OnUnavailable;
  /** Set by a failure that left the connection unusable; cleared on the next checkout (a fresh client). */
  broken = false;

  constructor(client: pg.PoolClient, onUnavailable: OnUnavailable) {
    this.#client = client;
    this.#onUnavailable = onUnavailable;
    // pg-pool listens for errors of idle clients only. A checked-out client whose connection drops between
    // queries (inside a transaction, say) emits 'error' with no listener, which would crash the process.
    client.on('error', (error: Error) => {
      this.broken = true;
      onUnavailable(error);
    });
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sql: string | PostgresCursor<R>,
    parameters?: ReadonlyArray<unknown>,
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // Cursors are not configured in this server (no streaming queries); pass one through untouched.
    if (typeof sql !== 'string') return this.#client.query(sql as never) as PostgresCursor<R>;
    if (this.broken) return Promise.reject(new Error(DISCARDED_CONNECTION));
    const result = this.#client.query(sql, parameters as unknown[]) as unknown as Promise<
      PostgresQueryResult<R>
    >;
    return result.catch((error: unknown) => {
      if (isDatabaseUnavailable(error)) {
        this.#onUnavailable(error);
        if (leavesConnectionUnusable(error)) this.broken = true;
      }
      throw error;
    });
  }

  release(): void {
    // pg-pool destroys a client released with a truthy argument instead of returning it to the pool.
    this.#client.release(this.broken);
  }
}

export class DiscardingPool implements PostgresPool {
  readonly #pool: pg.Pool;
  /** One wrapper per pg client, so Kysely (which keys its connections by client) sees a stable object. */
  readonly #guarded = new WeakMap<pg.PoolClient, GuardedClient>();
  readonly #onUnavailable: OnUnavailable;

  constructor(pool: pg.Pool, onUnavailable: OnUnavailable = () => {}) {
    this.#pool = pool;
    this.#onUnavailable = onUnavailable;
  }

  async connect(): Promise<PostgresPoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      // No connection within COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS, or refused: the commonest outage error.
      if (isDatabaseUnavailable(error)) this.#onUnavailable(error);
      throw error;
    }
    let guarded = this.#guarded.get(client);
    if (!guarded) {
      guarded = new GuardedClient(client, this.#onUnavailable);
      this.#guarded.set(client, guarded);
    }
    guarded.broken = false;
    return guarded;
  }

  end(): Promise<void> {
    return this.#pool.end();
  }
}
