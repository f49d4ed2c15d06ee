/**
 * Kysely over `node:sqlite` (built into Node ≥ 22.5, no native build). Kysely's SqliteDialect expects the
 * better-sqlite3 statement shape; this adapter gives node:sqlite that shape and caches prepared
 * statements, since preparing is most of the cost of a small indexed query.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { type SqliteDatabase, SqliteDialect, type SqliteStatement } from 'kysely';

const STATEMENT_CACHE_SIZE = 256;

class NodeSqliteStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #statement: StatementSync;
  constructor(statement: StatementSync) {
    this.#statement = statement;
    this.reader = statement.columns().length > 0;
  }
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#statement.all(...(parameters as SQLInputValue[]));
  }
  run(parameters: ReadonlyArray<unknown>) {
    const { changes, lastInsertRowid } = this.#statement.run(...(parameters as SQLInputValue[]));
    return { changes, lastInsertRowid };
  }
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#statement.iterate(...(parameters as SQLInputValue[]));
  }
}

class NodeSqliteDatabase implements SqliteDatabase {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, NodeSqliteStatement>();
  constructor(db: DatabaseSync) {
    this.#db = db;
  }
  prepare(sql: string): SqliteStatement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = new NodeSqliteStatement(this.#db.prepare(sql));
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.#statements.keys().next().value;
        if (oldest !== undefined) this.#statements.delete(oldest);
      }
      this.#statements.set(sql, statement);
    }
    return statement;
  }
  close(): void {
    this.#statements.clear();
    this.#db.close();
  }
}

const BUSY_TIMEOUT_MS = 5000;
/** SQLITE_BUSY, as node:sqlite reports it in `errcode`. */
const SQLITE_BUSY = 5;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * `journal_mode = WAL` on a new file takes an exclusive lock, and when another process opening the same new
 * file holds a conflicting one, SQLite answers SQLITE_BUSY at once instead of calling the busy handler (to
 * avoid a deadlock between two lock upgrades). So the switch is retried, for as long as busy_timeout would
 * wait, with a short synchronous pause: this runs once, at start-up, before anything else can run.
 */
function switchToWal(db: DatabaseSync): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      db.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (error) {
      const busy = (error as { errcode?: unknown }).errcode === SQLITE_BUSY;
      if (!busy || Date.now() >= deadline) throw error;
      Atomics.wait(pause, 0, 0, 20);
    }
  }
}

/**
 * Opens `file` in WAL mode. `busy_timeout` lets the operator CLI (bootstrap, set-tier) write while the
 * server runs; `foreign_keys` makes SQLite enforce the same references PostgreSQL does.
 */
export function createSqliteDialect(file: string): SqliteDialect {
  const db = new DatabaseSync(file);
  // First: switching to WAL needs a lock another process opening the file at the same moment may hold.
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  switchToWal(db);
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA foreign_keys = ON');
  return new SqliteDialect({ database: new NodeSqliteDatabase(db) });
}
