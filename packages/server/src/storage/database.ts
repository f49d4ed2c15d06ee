/**
 * Opens the database the configuration names (SQLite file in the data dir, or PostgreSQL) and brings its
 * schema to the latest migration. Kysely's migrator takes a lock (an advisory lock on PostgreSQL), so
 * several nodes starting at once apply each migration exactly once.
 *
 * Every wait on PostgreSQL is bounded (docs/configuration.md#postgresql-timeouts), so an outage answers
 * `503` within seconds instead of hanging requests for as long as it lasts: the wait for a connection
 * (a new one's handshake, or a free one when the pool is exhausted), each statement (`statement_timeout`,
 * enforced by the server), the wait for any answer (`query_timeout`, enforced here, because a frozen or
 * partitioned server enforces nothing), and transactions left idle (`idle_in_transaction_session_timeout`,
 * so a node that froze mid-transaction does not hold its locks for ever). TCP keepalive finds a dead peer
 * on idle connections.
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  sql,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import type { DatabasePoolSettings } from '../config.ts';
import { type AvailabilityLog, DatabaseAvailability } from './availability.ts';
import { DiscardingPool } from './discarding-pool.ts';
import { foundation } from './migrations/0001-foundation.ts';
import { apiKeyLifecycle } from './migrations/0002-api-key-lifecycle.ts';
import { serviceAccounts } from './migrations/0003-service-accounts.ts';
import { oauth } from './migrations/0004-oauth.ts';
import { audit } from './migrations/0005-audit.ts';
import { idempotency } from './migrations/0006-idempotency.ts';
import { orgUsage } from './migrations/0007-org-usage.ts';
import { redirectUriRecheck } from './migrations/0008-redirect-uri-recheck.ts';
import { auditAnchors } from './migrations/0009-audit-anchors.ts';
import { apiKeySuccessor } from './migrations/0010-api-key-successor.ts';
import { webhooks } from './migrations/0011-webhooks.ts';
import { leakedKeys } from './migrations/0012-leaked-keys.ts';
import { oauthRevocationDevice } from './migrations/0013-oauth-revocation-device.ts';
import { teams } from './migrations/0014-teams.ts';
import { idempotencyLeases } from './migrations/0015-idempotency-leases.ts';
import { auditSegments } from './migrations/0016-audit-segments.ts';
import { oauthArtifactPartialIndexes } from './migrations/0017-oauth-artifact-partial-indexes.ts';
import { createPrivateFile, tightenPrivateFiles } from './private-files.ts';
import type { DB } from './schema.ts';
import { createSqliteDialect } from './sqlite-dialect.ts';
import { isDatabaseUnavailable } from './unavailable.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<DB>;
  dialect: Dialect;
  /** Where the data lives, for logs; never contains a password. */
  location: string;
  /** Whether the database answers (GET /ready, `cohera_database_up`, the outage log lines). */
  availability: DatabaseAvailability;
  destroy(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl: string | null;
  dataDir: string;
  /** PostgreSQL pool size per node (overrides `databasePool.size`; tests use small pools). */
  poolSize?: number;
  /** PostgreSQL pool size and timeouts (COHERA_DATABASE_*); the defaults below where unset. */
  databasePool?: Partial<DatabasePoolSettings>;
  /**
   * For migrations that must authenticate rows already there (0009 seals the audit chains' heads with a
   * MAC); a database with no such rows migrates without it.
   */
  masterKey?: Buffer;
  /**
   * Where to warn about data-dir files found readable by others (and tightened to 0600), and where an
   * outage's start and end are logged.
   */
  log?: AvailabilityLog;
}

/** The defaults of COHERA_DATABASE_* (docs/configuration.md#postgresql-timeouts says why these). */
export const DEFAULT_DATABASE_POOL: Readonly<DatabasePoolSettings> = Object.freeze({
  size: 10,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 10_000,
  queryTimeoutMs: 15_000,
  idleInTransactionTimeoutMs: 60_000,
});

/** How long an idle connection waits before its first TCP keepalive probe. */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

const silentLog: AvailabilityLog = { warn() {}, info() {} };

function migrations(dialect: Dialect, masterKey?: Buffer): Record<string, Migration> {
  return {
    '0001-foundation': foundation(dialect),
    '0002-api-key-lifecycle': apiKeyLifecycle(dialect),
    '0003-service-accounts': serviceAccounts(dialect),
    '0004-oauth': oauth(dialect),
    '0005-audit': audit(dialect),
    '0006-idempotency': idempotency(dialect),
    '0007-org-usage': orgUsage(dialect),
    '0008-redirect-uri-recheck': redirectUriRecheck(dialect),
    '0009-audit-anchors': auditAnchors(dialect, masterKey),
    '0010-api-key-successor': apiKeySuccessor(dialect),
    '0011-webhooks': webhooks(dialect),
    '0012-leaked-keys': leakedKeys(dialect),
    '0013-oauth-revocation-device': oauthRevocationDevice(dialect),
    '0014-teams': teams(dialect),
    '0015-idempotency-leases': idempotencyLeases(),
    '0016-audit-segments': auditSegments(dialect),
    '0017-oauth-artifact-partial-indexes': oauthArtifactPartialIndexes(),
  };
}

class StaticMigrations implements MigrationProvider {
  readonly #dialect: Dialect;
  readonly #masterKey: Buffer | undefined;
  constructor(dialect: Dialect, masterKey?: Buffer) {
    this.#dialect = dialect;
    this.#masterKey = masterKey;
  }
  async getMigrations() {
    return migrations(this.#dialect, this.#masterKey);
  }
}

/**
 * Strips credentials from a connection URL so it can be logged: pg also takes `?password=` and
 * `?sslpassword=` from the query string, so those go too.
 */
export function redactDatabaseUrl(url: string): string {
  const parsed = new URL(url);
  parsed.username = parsed.username ? '***' : '';
  parsed.password = '';
  for (const name of ['password', 'sslpassword']) {
    if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***');
  }
  return parsed.href;
}

/**
 * The pool of one node. `bounded: false` is for migrations only: a migration may rightly run longer than
 * any request should (an index on a large table), and waiting for another node's migration lock is a wait
 * on a statement too; the connection wait stays bounded.
 */
function postgresPool(
  url: string,
  settings: DatabasePoolSettings,
  bounded: boolean,
  onUnavailable?: (error: unknown) => void,
): DiscardingPool {
  const pool = new pg.Pool({
    connectionString: url,
    max: bounded ? settings.size : 1,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
    application_name: 'cohera',
    ...(bounded
      ? {
          statement_timeout: settings.statementTimeoutMs,
          query_timeout: settings.queryTimeoutMs,
          idle_in_transaction_session_timeout: settings.idleInTransactionTimeoutMs,
        }
      : {}),
  });
  // An idle client whose server connection dies emits 'error' on the pool; unheard, it would crash the
  // process. The pool replaces the client on the next checkout, so there is nothing else to do.
  pool.on('error', () => {});
  return new DiscardingPool(pool, onUnavailable);
}

function availabilityOf(db: Kysely<DB>, log: AvailabilityLog | undefined): DatabaseAvailability {
  return new DatabaseAvailability(() => sql`select 1`.execute(db), log ?? silentLog);
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  let database: Database;
  if (options.databaseUrl) {
    const settings: DatabasePoolSettings = {
      ...DEFAULT_DATABASE_POOL,
      ...options.databasePool,
      ...(options.poolSize === undefined ? {} : { size: options.poolSize }),
    };
    // Migrations first, on a connection of their own without the statement bounds (see postgresPool).
    const migrator = new Kysely<DB>({
      dialect: new PostgresDialect({ pool: postgresPool(options.databaseUrl, settings, false) }),
    });
    try {
      await migrate({ db: migrator, dialect: 'postgres' }, options.masterKey);
    } catch (error) {
      throw cannotOpen(error, options.databaseUrl);
    } finally {
      await migrator.destroy();
    }
    // Every outage error any query meets (a request's or a background task's) makes the node check.
    let availability: DatabaseAvailability | undefined;
    const pool = postgresPool(options.databaseUrl, settings, true, (error) => availability?.suspect(error));
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    const opened = availabilityOf(db, options.log);
    availability = opened;
    return {
      db,
      dialect: 'postgres',
      location: redactDatabaseUrl(options.databaseUrl),
      availability: opened,
      destroy: () => {
        opened.close();
        return db.destroy();
      },
    };
  } else {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const file = join(options.dataDir, 'cohera.sqlite');
    // Owner-only whatever the umask or the directory's mode (private-files.ts); SQLite gives its -wal and
    // -shm files the database file's mode.
    const companions = [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
    const tightened = tightenPrivateFiles([...companions, join(options.dataDir, 'master.key')]);
    if (tightened.length > 0) {
      options.log?.warn(
        { files: tightened },
        'data-dir files were readable by other users and are now 0600; if anyone else could read them, ' +
          'treat the master key and the stored secrets as exposed',
      );
    }
    createPrivateFile(file);
    const db = new Kysely<DB>({ dialect: createSqliteDialect(file) });
    const availability = availabilityOf(db, options.log);
    database = {
      db,
      dialect: 'sqlite',
      location: file,
      availability,
      destroy: () => {
        availability.close();
        return db.destroy();
      },
    };
  }
  try {
    await migrate(database, options.masterKey);
  } catch (error) {
    await database.destroy();
    throw error;
  }
  return database;
}

export async function migrate(database: Pick<Database, 'db' | 'dialect'>, masterKey?: Buffer): Promise<void> {
  const migrator = new Migrator({
    db: database.db,
    provider: new StaticMigrations(database.dialect, masterKey),
    migrationTableName: 'cohera_migrations',
    migrationLockTableName: 'cohera_migrations_lock',
  });
  const { error, results } =
    database.dialect === 'sqlite'
      ? await withSqliteWriteLock(database.db, () => migrator.migrateToLatest())
      : await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    // No migration ran: the database could not be reached or opened at all (openDatabase says where).
    if (!failed) throw new DatabaseOpenError((error as Error).message, error);
    throw new Error(`database migration ${failed} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** The database could not be reached or opened before any migration ran. */
export class DatabaseOpenError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'DatabaseOpenError';
  }
}

/**
 * What an operator reads when PostgreSQL cannot be opened at start: where (the URL without its password),
 * why (pg's own words), and what to check, instead of "database migration unknown failed".
 */
function cannotOpen(error: unknown, databaseUrl: string): unknown {
  if (!(error instanceof DatabaseOpenError)) return error;
  const where = redactDatabaseUrl(databaseUrl);
  const hint = isDatabaseUnavailable(error)
    ? 'Start PostgreSQL, or check the host and port in COHERA_DATABASE_URL.'
    : 'Check the user, password and database name in COHERA_DATABASE_URL.';
  return new DatabaseOpenError(
    `cannot open the PostgreSQL database at ${where}: ${error.message}. ${hint}`,
    error.cause,
  );
}

const SQLITE_BUSY = 5;

/**
 * Kysely takes no migration lock on SQLite (it assumes a single connection), so two processes opening one
 * data dir at once (a server and `cohera admin bootstrap`, say) would both apply a migration and one would
 * fail. A `BEGIN IMMEDIATE` around the run takes SQLite's write lock: the second opener waits, then finds
 * every migration applied; a failed run rolls back whole. The wait polls with `busy_timeout` 0, because
 * node:sqlite would block this thread while waiting, and this thread may be the one holding the lock.
 */
async function withSqliteWriteLock<T extends { error?: unknown }>(
  db: Kysely<DB>,
  run: () => Promise<T>,
): Promise<T> {
  await sql`PRAGMA busy_timeout = 0`.execute(db);
  try {
    for (let waited = 0; ; waited += 25) {
      try {
        await sql`BEGIN IMMEDIATE`.execute(db);
        break;
      } catch (error) {
        const code = (error as { errcode?: number }).errcode ?? 0;
        if ((code & 0xff) !== SQLITE_BUSY || waited >= 60_000) throw error;
        await sleep(25);
      }
    }
  } finally {
    await sql`PRAGMA busy_timeout = 5000`.execute(db);
  }
  let result: T;
  try {
    result = await run();
  } catch (error) {
    await sql`ROLLBACK`.execute(db).catch(() => undefined); // SQLite may have rolled back already
    throw error;
  }
  await (result.error ? sql`ROLLBACK` : sql`COMMIT`).execute(db);
  return result;
}

/** Whether an error is a unique-constraint violation, on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; errcode?: number; message?: string } | null;
  if (!e) return false;
  if (e.code === '23505') return true; // PostgreSQL unique_violation
  // SQLITE_CONSTRAINT_UNIQUE (2067) and SQLITE_CONSTRAINT_PRIMARYKEY (1555)
  return e.errcode === 2067 || e.errcode === 1555;
}

/** Whether an error is a foreign-key violation, on either engine. */
export function isForeignKeyViolation(error: unknown): boolean {
  const e = error as { code?: string; errcode?: number } | null;
  if (!e) return false;
  return e.code === '23503' || e.errcode === 787; // SQLITE_CONSTRAINT_FOREIGNKEY
}

/**
 * Runs `run` in a transaction: the caller's, when `db` already is one (a route that records an audit event
 * with its change), or a new one. Kysely does not nest transactions.
 */
export function inTransaction<T>(db: Kysely<DB>, run: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? run(db as Transaction<DB>) : db.transaction().execute(run);
}
