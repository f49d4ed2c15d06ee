/**
 * The invalidation bus (DESIGN §5.1) on every transport: a message published on one node arrives at every
 * node (the publisher included), malformed payloads become `{kind: 'all'}` (which only empties caches),
 * and a PostgreSQL listener that loses its connection reconnects, clears caches, and keeps receiving.
 * Redis and PostgreSQL are real; each test uses its own channel prefix or its own database.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { createLogger } from '../../src/http/logger.ts';
import {
  decodeInvalidation,
  encodeInvalidation,
  type Invalidation,
  type InvalidationBus,
  MemoryInvalidationBus,
} from '../../src/state/invalidation-bus.ts';
import { PostgresInvalidationBus } from '../../src/state/postgres-invalidation-bus.ts';
import { RedisInvalidationBus } from '../../src/state/redis-invalidation-bus.ts';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { logCapture } from '../support/app.ts';
import { tempDir } from '../support/config.ts';
import {
  createPostgresDatabase,
  POSTGRES_ADMIN_URL,
  postgresReachable,
  REDIS_TEST_URL,
  redisReachable,
} from '../support/engines.ts';

const REDIS_URL = REDIS_TEST_URL;
const log = createLogger('warn', logCapture());

/** Collects what a bus delivers and waits for a message that matches. */
class Inbox {
  readonly messages: Invalidation[] = [];
  constructor(bus: InvalidationBus) {
    bus.subscribe((message) => this.messages.push(message));
  }
  async waitFor(wanted: Invalidation, timeoutMs = 3000): Promise<void> {
    const text = JSON.stringify(wanted);
    const deadline = Date.now() + timeoutMs;
    while (!this.messages.some((m) => JSON.stringify(m) === text)) {
      if (Date.now() > deadline) {
        assert.fail(`no ${text} within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  count(wanted: Invalidation): number {
    const text = JSON.stringify(wanted);
    return this.messages.filter((m) => JSON.stringify(m) === text).length;
  }
  clear(): void {
    this.messages.length = 0;
  }
}

const SAMPLES: Invalidation[] = [
  { kind: 'api_key', keyHash: 'a'.repeat(64) },
  { kind: 'org', orgId: 'org_0000000000000000000000' },
  { kind: 'credential', credentialId: 'sak_0000000000000000000000' },
  { kind: 'member', orgId: 'org_0000000000000000000000', userId: 'user_000000000000000000000' },
  { kind: 'all' },
];
const MALFORMED = [
  'not json',
  '',
  'null',
  '42',
  '"api_key"',
  '[]',
  '{"kind":"api_key"}',
  '{"kind":"api_key","keyHash":7}',
  '{"kind":"org","orgId":null}',
  '{"kind":"member","orgId":"org_1"}',
  '{"kind":"member","orgId":"org_1","userId":7}',
  '{"kind":"drop_tables"}',
  '{"keyHash":"abc"}',
];

describe('invalidation messages on the wire', () => {
  test('every message survives encode → decode', () => {
    for (const message of SAMPLES) assert.deepEqual(decodeInvalidation(encodeInvalidation(message)), message);
  });
  test('extra fields are dropped', () => {
    assert.deepEqual(decodeInvalidation('{"kind":"api_key","keyHash":"abc","evil":true}'), {
      kind: 'api_key',
      keyHash: 'abc',
    });
  });
  test('anything malformed decodes to {kind: all}', () => {
    for (const raw of MALFORMED) assert.deepEqual(decodeInvalidation(raw), { kind: 'all' }, raw);
  });
});

describe('MemoryInvalidationBus', () => {
  test('delivers to every handler; a throwing handler does not stop the others', async () => {
    const errors: unknown[] = [];
    const bus = new MemoryInvalidationBus((error) => errors.push(error));
    bus.subscribe(() => {
      throw new Error('handler failed');
    });
    const inbox = new Inbox(bus);
    await bus.ready();
    for (const message of SAMPLES) await bus.publish(message);
    assert.deepEqual(inbox.messages, SAMPLES);
    assert.equal(errors.length, SAMPLES.length);
    await bus.close();
  });
});

// Decided before the suites are defined: node:test binds hooks and tests to the suite whose callback is
// running, and awaiting a client library inside a describe callback can lose that binding.
const redisUp = await redisReachable();
const postgresUp = await postgresReachable();
if (process.env.CI && !redisUp)
  throw new Error(`Redis is unreachable at ${REDIS_URL}; CI must run these tests`);
if (process.env.CI && !postgresUp) {
  throw new Error(`PostgreSQL is unreachable at ${POSTGRES_ADMIN_URL}; CI must run these tests`);
}

describe('RedisInvalidationBus', () => {
  if (!redisUp) {
    test('Redis unreachable: skipped', { skip: true }, () => {});
    return;
  }
  let prefix: string;
  let a: RedisInvalidationBus;
  let b: RedisInvalidationBus;
  let inboxA: Inbox;
  let inboxB: Inbox;
  before(async () => {
    prefix = `cohera-test:${randomBytes(6).toString('hex')}:`;
    a = new RedisInvalidationBus(REDIS_URL, prefix, log);
    b = new RedisInvalidationBus(REDIS_URL, prefix, log);
    inboxA = new Inbox(a);
    inboxB = new Inbox(b);
    await Promise.all([a.ready(), b.ready()]);
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  test('a message published on one node arrives at the other, and at itself', async () => {
    for (const message of SAMPLES) {
      await a.publish(message);
      await inboxB.waitFor(message);
      assert.ok(inboxA.count(message) >= 1);
    }
    const back: Invalidation = { kind: 'api_key', keyHash: 'b'.repeat(64) };
    await b.publish(back);
    await inboxA.waitFor(back);
  });

  test('another prefix is another installation: its messages do not arrive', async () => {
    const stranger = new RedisInvalidationBus(REDIS_URL, `${prefix}other:`, log);
    const strangerInbox = new Inbox(stranger);
    await stranger.ready();
    const theirs: Invalidation = { kind: 'org', orgId: 'org_theirs' };
    const ours: Invalidation = { kind: 'org', orgId: 'org_ours' };
    await stranger.publish(theirs);
    await a.publish(ours);
    await inboxB.waitFor(ours); // sent after theirs, on the same server: theirs would have arrived first
    assert.equal(inboxB.count(theirs), 0);
    assert.equal(strangerInbox.count(ours), 0);
    await stranger.close();
  });

  test('malformed payloads on the channel decode to {kind: all}', async () => {
    const raw = new Redis(REDIS_URL);
    try {
      for (const payload of MALFORMED) {
        inboxA.clear();
        inboxB.clear();
        await raw.publish(`${prefix}invalidate`, payload);
        await inboxA.waitFor({ kind: 'all' });
        await inboxB.waitFor({ kind: 'all' });
        assert.deepEqual(inboxB.messages, [{ kind: 'all' }], payload);
      }
    } finally {
      raw.disconnect();
    }
  });
});

describe('PostgresInvalidationBus', () => {
  if (!postgresUp) {
    test('PostgreSQL unreachable: skipped', { skip: true }, () => {});
    return;
  }
  let pg: { url: string; drop(): Promise<void> };
  let database: Database;
  const dir = tempDir();
  let a: PostgresInvalidationBus;
  let b: PostgresInvalidationBus;
  let inboxA: Inbox;
  let inboxB: Inbox;
  before(async () => {
    pg = await createPostgresDatabase();
    database = await openDatabase({ databaseUrl: pg.url, dataDir: dir.path, poolSize: 2 });
    a = new PostgresInvalidationBus(pg.url, database.db, log);
    b = new PostgresInvalidationBus(pg.url, database.db, log);
    inboxA = new Inbox(a);
    inboxB = new Inbox(b);
    await Promise.all([a.ready(), b.ready()]);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await database?.destroy();
    await pg?.drop();
    dir.remove();
  });

  test('a message published on one node arrives at the other, and at itself', async () => {
    for (const message of SAMPLES) {
      await a.publish(message);
      await inboxB.waitFor(message);
      assert.ok(inboxA.count(message) >= 1);
    }
  });

  test('malformed payloads on the channel decode to {kind: all}', async () => {
    // An empty NOTIFY payload carries nothing to decode and is ignored; every other one is checked.
    for (const payload of MALFORMED.filter((p) => p !== '')) {
      inboxA.clear();
      inboxB.clear();
      await sql`select pg_notify('cohera_invalidate', ${payload})`.execute(database.db);
      await inboxA.waitFor({ kind: 'all' });
      await inboxB.waitFor({ kind: 'all' });
      assert.deepEqual(inboxB.messages, [{ kind: 'all' }], payload);
    }
  });

  test('a listener whose connection is killed reconnects, clears caches, and keeps receiving', async () => {
    inboxA.clear();
    inboxB.clear();
    // Only this test's database: other suites may be listening on the same server.
    const killed = await sql<{ killed: boolean }>`
      select pg_terminate_backend(pid) as killed from pg_stat_activity
      where query like 'LISTEN%' and datname = current_database()`.execute(database.db);
    assert.equal(killed.rows.length, 2, 'both listeners were found');
    assert.ok(killed.rows.every((r) => r.killed));

    await inboxA.waitFor({ kind: 'all' }, 5000);
    await inboxB.waitFor({ kind: 'all' }, 5000);
    await Promise.all([a.ready(), b.ready()]);

    const later: Invalidation = { kind: 'api_key', keyHash: 'c'.repeat(64) };
    await a.publish(later);
    await inboxB.waitFor(later);
    const back: Invalidation = { kind: 'org', orgId: 'org_back' };
    await b.publish(back);
    await inboxA.waitFor(back);
    const listeners = await sql<{ n: string }>`
      select count(*) as n from pg_stat_activity
      where query like 'LISTEN%' and datname = current_database()`.execute(database.db);
    assert.equal(Number(listeners.rows[0]?.n), 2, 'one listener per bus, no leaked connections');
  });
});
