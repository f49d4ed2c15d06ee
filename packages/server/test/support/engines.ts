/**
 * Runs a suite against every storage engine: SQLite in a temporary directory, and PostgreSQL in a database
 * created for the suite and dropped after it (so runs never collide). PostgreSQL comes from
 * COHERA_TEST_POSTGRES_URL (default: the local server). When it is unreachable the PostgreSQL half is
 * skipped on a developer machine, but fails under CI (CI=true): CI must never pass by skipping it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { tempDir } from './config.ts';

export type Engine = 'sqlite' | 'postgres';

export const POSTGRES_ADMIN_URL =
  process.env.COHERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<boolean> | null = null;
export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return reachable;
}

/** The Redis the suites use (COHERA_TEST_REDIS_URL, default the local server); each suite picks its own key prefix. */
export const REDIS_TEST_URL = process.env.COHERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let redisUp: Promise<boolean> | null = null;
/** Whether that Redis answers, asked once per process (suites decide before they are defined). */
export function redisReachable(): Promise<boolean> {
  redisUp ??= (async () => {
    const client = new Redis(REDIS_TEST_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  })();
  return redisUp;
}

/** Waits (up to 3 s) for a fleet limiter to reach Redis; fails the test, naming the URL, when it does not. */
export async function untilConnected(limiter: { readonly degraded: boolean }): Promise<void> {
  for (let i = 0; i < 300 && limiter.degraded; i++) await sleep(10);
  assert.equal(limiter.degraded, false, `Redis at ${REDIS_TEST_URL} must be reachable`);
}

/** Deletes every key under a suite's prefix: what a Redis suite leaves behind. */
export async function deleteKeysUnder(admin: Redis, prefix: string): Promise<void> {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
}

/** A fresh PostgreSQL database; `drop()` removes it (and ends every connection to it). */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cohera_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A storage location for one engine: env for loadConfig, and cleanup. */
export interface EngineHandle {
  engine: Engine;
  /** Settings to pass to testConfig: COHERA_DATA_DIR, and COHERA_DATABASE_URL for PostgreSQL. */
  env: Record<string, string>;
  dataDir: string;
  databaseUrl: string | null;
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

export async function prepareEngine(engine: Engine): Promise<EngineHandle> {
  const dir = tempDir();
  if (engine === 'sqlite') {
    return {
      engine,
      env: { COHERA_DATA_DIR: dir.path },
      dataDir: dir.path,
      databaseUrl: null,
      open: () => openDatabase({ databaseUrl: null, dataDir: dir.path }),
      cleanup: async () => dir.remove(),
    };
  }
  const database = await createPostgresDatabase();
  return {
    engine,
    env: { COHERA_DATA_DIR: dir.path, COHERA_DATABASE_URL: database.url },
    dataDir: dir.path,
    databaseUrl: database.url,
    open: () => openDatabase({ databaseUrl: database.url, dataDir: dir.path, poolSize: 4 }),
    cleanup: async () => {
      await database.drop();
      dir.remove();
    },
  };
}

/**
 * `describe` once per engine. The callback receives a getter for the engine handle, which is ready
 * inside tests and `before` hooks (not at definition time).
 */
export function forEachEngine(
  title: string,
  suite: (engine: Engine, handle: () => EngineHandle) => void,
): void {
  for (const engine of ['sqlite', 'postgres'] as const) {
    describe(`${title} [${engine}]`, async () => {
      if (engine === 'postgres' && !(await postgresReachable())) {
        if (process.env.CI)
          throw new Error(`PostgreSQL is unreachable at ${POSTGRES_ADMIN_URL}; CI must run these tests`);
        describe('PostgreSQL unreachable: skipped (set COHERA_TEST_POSTGRES_URL)', { skip: true }, () => {});
        return;
      }
      let handle: EngineHandle | null = null;
      before(async () => {
        handle = await prepareEngine(engine);
      });
      suite(engine, () => {
        if (!handle) throw new Error('engine not ready: use the handle inside tests or hooks');
        return handle;
      });
      // Registered after the suite's own hooks, so apps close before their database is dropped.
      after(async () => {
        await handle?.cleanup();
      });
    });
  }
}
