/**
 * The parts of outage handling below the HTTP layer (issue 22, items 2 and 4):
 * - which errors are an outage (503) and which a bug (500): storage/unavailable.ts;
 * - the availability probe that logs an outage once when it starts and once when it ends: availability.ts;
 * - against the test PostgreSQL behind a proxy that can freeze the connection: a connection whose query got
 *   no answer is never reused (discarding-pool.ts), and the credential and org-limit caches keep serving
 *   within their bound while the database cannot answer, and stop after it (stale-while-revalidate.ts).
 * End to end with a real server process and a real PostgreSQL frozen and killed: system/postgres-outage.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApp } from '../../src/app.ts';
import type { AuthContext } from '../../src/auth/context.ts';
import { ManualClock } from '../../src/clock.ts';
import { type AvailabilityLog, DatabaseAvailability } from '../../src/storage/availability.ts';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { STALE_SERVE_MAX_MS } from '../../src/storage/stale-while-revalidate.ts';
import { isDatabaseUnavailable } from '../../src/storage/unavailable.ts';
import { createOrg, logCapture, type TestOrg } from '../support/app.ts';
import { tempDir, testConfig } from '../support/config.ts';
import { createPostgresDatabase, POSTGRES_ADMIN_URL, postgresReachable } from '../support/engines.ts';
import { FreezableProxy } from '../support/freezable-proxy.ts';

/** Waits for `check` to hold, polling; fails after a generous deadline (a bound on a hang, not a timing). */
async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(20);
  }
}

const sqlState = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

describe('which errors are an outage', () => {
  const outages: [string, unknown][] = [
    ['08006 connection_failure', sqlState('08006')],
    ['08001 cannot connect', sqlState('08001')],
    ['57P01 admin_shutdown', sqlState('57P01')],
    ['57P03 cannot_connect_now (starting up)', sqlState('57P03')],
    ['57014 statement_timeout', sqlState('57014')],
    ['53300 too_many_connections', sqlState('53300')],
    [
      'ECONNREFUSED',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ["pg's client-side query timeout", new Error('Query read timeout')],
    ["pg-pool's wait for a connection", new Error('timeout exceeded when trying to connect')],
    ["pg's handshake timeout", new Error('Connection terminated due to connection timeout')],
    ['a connection dropped under a query', new Error('Connection terminated unexpectedly')],
    ['SQLITE_BUSY past busy_timeout', Object.assign(new Error('database is locked'), { errcode: 5 })],
    ['SQLITE_BUSY_SNAPSHOT', Object.assign(new Error('database is locked'), { errcode: 517 })],
    [
      'a refusal on every address of a host (AggregateError)',
      new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1'), { code: 'ECONNREFUSED' })]),
    ],
    ['an outage wrapped as a cause', new Error('loading failed', { cause: new Error('Query read timeout') })],
  ];
  for (const [what, error] of outages) {
    test(`${what} is an outage`, () => assert.equal(isDatabaseUnavailable(error), true));
  }
  const bugs: [string, unknown][] = [
    ['23505 unique_violation', sqlState('23505')],
    ['42P01 undefined_table', sqlState('42P01')],
    ['42601 syntax_error', sqlState('42601')],
    ['40001 serialization_failure (a conflict, answered 409)', sqlState('40001')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['SQLITE_CONSTRAINT_UNIQUE', Object.assign(new Error('UNIQUE constraint failed'), { errcode: 2067 })],
    ['a string', 'Query read timeout'],
    ['null', null],
  ];
  for (const [what, error] of bugs) {
    test(`${what} is not an outage`, () => assert.equal(isDatabaseUnavailable(error), false));
  }

  test('a real refused connection from pg is one', async () => {
    const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    const error = await client.connect().catch((e: unknown) => e);
    assert.equal(isDatabaseUnavailable(error), true, String(error));
  });
});

/** A log that keeps what the availability says. */
function recordingLog(): AvailabilityLog & { lines: { level: string; details: Record<string, unknown> }[] } {
  const lines: { level: string; details: Record<string, unknown> }[] = [];
  return {
    lines,
    warn: (details) => lines.push({ level: 'warn', details }),
    info: (details) => lines.push({ level: 'info', details }),
  };
}

describe('DatabaseAvailability', () => {
  test('an outage is logged once when it starts and once when it ends, however often it is met', async () => {
    let answering = false;
    let pings = 0;
    const log = recordingLog();
    const availability = new DatabaseAvailability(
      async () => {
        pings++;
        if (!answering) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      },
      log,
      { recheckMs: 10, cacheMs: 5 },
    );
    try {
      for (let i = 0; i < 20; i++) availability.suspect(new Error('Query read timeout'));
      await eventually('the outage noticed', () => !availability.up);
      assert.equal(await availability.check(), false);
      for (let i = 0; i < 20; i++) availability.suspect(new Error('Query read timeout'));
      await eventually('several probes while down', () => pings >= 5);
      assert.deepEqual(
        log.lines.map((line) => [line.level, line.details.database]),
        [['warn', 'unreachable']],
      );
      answering = true;
      await eventually('the recovery noticed', () => availability.up);
      assert.equal(await availability.check(), true);
      assert.deepEqual(
        log.lines.map((line) => [line.level, line.details.database]),
        [
          ['warn', 'unreachable'],
          ['info', 'reachable'],
        ],
      );
      assert.equal(typeof log.lines[1]?.details.down_ms, 'number');
    } finally {
      availability.close();
    }
  });

  test('an outage-like error when the database answers is not an outage: nothing is logged', async () => {
    const log = recordingLog();
    const availability = new DatabaseAvailability(async () => {}, log);
    availability.suspect(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    assert.equal(await availability.check(), true);
    assert.equal(availability.up, true);
    assert.deepEqual(log.lines, []);
  });

  test('a probe that gets no answer fails within its bound, and never stacks a second one behind it', async () => {
    let pings = 0;
    let answering = false;
    let answer: () => void = () => {};
    const availability = new DatabaseAvailability(
      () => {
        pings++;
        if (answering) return Promise.resolve();
        return new Promise<void>((resolve) => {
          answer = resolve;
        });
      },
      recordingLog(),
      { probeTimeoutMs: 50, cacheMs: 0, recheckMs: 10 },
    );
    try {
      assert.equal(await availability.check(), false);
      assert.equal(await availability.check(), false);
      await sleep(50); // several rechecks would have started a ping each
      assert.equal(pings, 1, 'one ping at a time: the unanswered one still holds its connection');
      answering = true;
      answer();
      await eventually('the recovery noticed', () => availability.up);
    } finally {
      availability.close();
    }
  });
});

describe('PostgreSQL behind a connection that freezes', async () => {
  const reachable = await postgresReachable();
  if (!reachable && process.env.CI) {
    throw new Error(`PostgreSQL is unreachable at ${POSTGRES_ADMIN_URL}; CI must run these tests`);
  }
  const skip = reachable ? false : 'PostgreSQL unreachable (set COHERA_TEST_POSTGRES_URL)';
  let proxy: FreezableProxy;
  let target: { url: string; drop(): Promise<void> };
  let url = '';

  before(async () => {
    if (!reachable) return;
    target = await createPostgresDatabase();
    proxy = await FreezableProxy.start(target.url);
    url = proxy.urlThrough(target.url);
  });
  after(async () => {
    if (!reachable) return;
    proxy.thaw();
    await proxy.close();
    await target.drop();
  });

  test('a connection whose query got no answer is closed, not handed to the next query', {
    skip,
  }, async () => {
    const dir = tempDir();
    let database: Database | null = null;
    try {
      database = await openDatabase({
        databaseUrl: url,
        dataDir: dir.path,
        poolSize: 1,
        databasePool: { connectTimeoutMs: 1000, statementTimeoutMs: 1000, queryTimeoutMs: 1500 },
      });
      const db = database.db;
      await sql`create table outage_probe (note text)`.execute(db);
      const before = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
      proxy.freeze();
      // The BEGIN sits unanswered in the socket; the server will run it when the connection thaws.
      const timedOut = await sql`begin`.execute(db).catch((error: unknown) => error);
      assert.equal(isDatabaseUnavailable(timedOut), true, String(timedOut));
      proxy.thaw();
      // Had the pool (of one connection) reused it, this insert would run inside that BEGIN's transaction,
      // which nobody commits: acknowledged here, lost when the session ends.
      await sql`insert into outage_probe (note) values ('committed')`.execute(db);
      const after = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
      assert.notEqual(after.rows[0]?.pid, before.rows[0]?.pid, 'a new connection');
      const other = new pg.Client({ connectionString: target.url });
      await other.connect();
      try {
        const seen = await other.query('select note from outage_probe');
        assert.deepEqual(seen.rows, [{ note: 'committed' }], 'visible to another session: committed');
      } finally {
        await other.end();
      }
    } finally {
      proxy.thaw();
      await database?.destroy();
      dir.remove();
    }
  });

  test('a connection dropped between two queries of a transaction: no crash, an outage, a recovery', {
    skip,
  }, async () => {
    const dir = tempDir();
    let database: Database | null = null;
    try {
      database = await openDatabase({
        databaseUrl: url,
        dataDir: dir.path,
        poolSize: 2,
        databasePool: { connectTimeoutMs: 1000, statementTimeoutMs: 1000, queryTimeoutMs: 1500 },
        log: { warn() {}, info() {} },
      });
      const { db, availability } = database;
      const failed = await db
        .transaction()
        .execute(async (trx) => {
          await sql`select 1`.execute(trx);
          // The connection is checked out and idle: pg emits 'error' on the client, which pg-pool does not
          // listen to while a client is checked out. Unheard, that error would end the process here.
          proxy.refuse();
          await eventually('the outage noticed', () => !availability.up);
          await sql`select 2`.execute(trx);
        })
        .catch((error: unknown) => error);
      assert.equal(isDatabaseUnavailable(failed), true, String(failed));
      proxy.thaw();
      await eventually('the recovery noticed', () => availability.up);
      assert.deepEqual((await sql<{ n: number }>`select 3 as n`.execute(db)).rows, [{ n: 3 }]);
    } finally {
      proxy.thaw();
      await database?.destroy();
      dir.remove();
    }
  });

  describe('cached credentials and org limits while the database cannot answer', { skip }, () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.now());
    let app: FastifyInstance;
    let org: TestOrg;
    let cached: AuthContext;

    before(async () => {
      if (!reachable) return;
      app = await buildApp(
        testConfig(
          {
            COHERA_DATABASE_URL: url,
            COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS: '1',
            COHERA_DATABASE_STATEMENT_TIMEOUT_SECONDS: '1',
            COHERA_DATABASE_QUERY_TIMEOUT_SECONDS: '2',
          },
          dir.path,
        ),
        { clock, logDestination: logCapture() },
      );
      org = await createOrg(app);
      cached = await app.deps.apiKeys.verify(org.adminKey);
      await app.deps.orgLimits.get(org.orgId);
    });
    after(async () => {
      if (!reachable) return;
      proxy.thaw();
      await app.close();
      dir.remove();
    });

    test('a key due for its re-read is served from the cache, then without asking again', async () => {
      clock.advance(31_000); // past the 30 s recheck
      proxy.freeze();
      try {
        assert.equal(await app.deps.apiKeys.verify(org.adminKey), cached);
        // Once the re-read failed (after the 2 s query timeout), the entry is served synchronously.
        await eventually(
          'the failed re-read noticed',
          () => !(app.deps.apiKeys.verify(org.adminKey) instanceof Promise),
        );
        assert.equal(app.deps.apiKeys.verify(org.adminKey), cached);
      } finally {
        proxy.thaw();
      }
    });

    test('org limits due for their reload keep applying', async () => {
      clock.advance(6_000); // past the 5 s after which limits are reloaded before use
      proxy.freeze();
      try {
        const limits = await app.deps.orgLimits.get(org.orgId);
        assert.deepEqual(limits, { perMinute: 600, perDay: 50_000 });
        await eventually(
          'the failed reload noticed',
          () => !(app.deps.orgLimits.get(org.orgId) instanceof Promise),
        );
      } finally {
        proxy.thaw();
      }
    });

    test(`past ${STALE_SERVE_MAX_MS / 60_000} minutes the cache is not trusted: the database must answer`, async () => {
      clock.advance(STALE_SERVE_MAX_MS);
      proxy.freeze();
      try {
        const key = await Promise.resolve(app.deps.apiKeys.verify(org.adminKey)).catch((e: unknown) => e);
        assert.equal(isDatabaseUnavailable(key), true, `the key: ${String(key)}`);
        const limits = await Promise.resolve(app.deps.orgLimits.get(org.orgId)).catch((e: unknown) => e);
        assert.equal(isDatabaseUnavailable(limits), true, `the limits: ${String(limits)}`);
      } finally {
        proxy.thaw();
      }
      // And once it answers again, both are read afresh.
      const fresh = await app.deps.apiKeys.verify(org.adminKey);
      assert.equal(fresh.orgId, org.orgId);
      assert.deepEqual(await app.deps.orgLimits.get(org.orgId), { perMinute: 600, perDay: 50_000 });
    });
  });
});
