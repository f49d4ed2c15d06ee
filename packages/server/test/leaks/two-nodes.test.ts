/**
 * The leak intake across a fleet (DESIGN §5.6, §5.1): two apps in this process play two nodes on one
 * database. A key reported to node A's public endpoint is refused by node B — which had it cached, so only
 * the fan-out can change its mind — within a second of A's answer; and the per-IP limit of 60 an hour is
 * one count across both nodes when they share Redis. Run on SQLite with Redis (pub/sub and limiter), and on
 * PostgreSQL with LISTEN/NOTIFY as the only transport.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createKey, createOrg, startTestApp, type TestApp } from '../support/app.ts';
import {
  deleteKeysUnder,
  type EngineHandle,
  POSTGRES_ADMIN_URL,
  postgresReachable,
  prepareEngine,
  REDIS_TEST_URL,
  redisReachable,
} from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';
import { report } from './fixtures.ts';

const REDIS_URL = REDIS_TEST_URL;
const PROPAGATION_BUDGET_MS = 1000;

function twoNodes(title: string, engine: 'sqlite' | 'postgres', withRedis: boolean) {
  describe(title, async () => {
    if (engine === 'postgres' && !(await postgresReachable())) {
      if (process.env.CI) throw new Error(`PostgreSQL is unreachable at ${POSTGRES_ADMIN_URL}`);
      test('PostgreSQL unreachable: skipped', { skip: true }, () => {});
      return;
    }
    if (withRedis && !(await redisReachable())) {
      if (process.env.CI) throw new Error(`Redis is unreachable at ${REDIS_URL}`);
      test('Redis unreachable: skipped', { skip: true }, () => {});
      return;
    }
    const prefix = `cohera-test:${randomBytes(6).toString('hex')}:`;
    const env: Record<string, string> = withRedis
      ? { COHERA_REDIS_URL: REDIS_URL, COHERA_REDIS_PREFIX: prefix }
      : {};
    let handle: EngineHandle;
    let a: TestApp;
    let b: TestApp;

    before(async () => {
      handle = await prepareEngine(engine);
      a = await startTestApp(handle, { env });
      b = await startTestApp(handle, { env });
      // Both subscriptions live before anything is published.
      await a.app.deps.bus.ready();
      await b.app.deps.bus.ready();
    });
    after(async () => {
      await a?.close();
      await b?.close();
      if (withRedis) {
        const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
        await deleteKeysUnder(admin, prefix);
        admin.disconnect();
      }
      await handle?.cleanup();
    });

    test('a key reported to node A is refused by node B within a second', async (t) => {
      const org = await createOrg(a.app);
      const key = await createKey(a.app, org, ['read:suppliers']);
      assert.equal((await b.call(key, 'GET', '/v1/suppliers')).statusCode, 200);
      const hits = b.app.deps.apiKeys.hits;
      assert.equal((await b.call(key, 'GET', '/v1/suppliers')).statusCode, 200);
      assert.equal(b.app.deps.apiKeys.hits, hits + 1, 'node B serves the key from its cache');

      assert.equal((await report(a, { credentials: [key] }, '198.51.100.200')).statusCode, 202);
      const reportedAt = Date.now();
      const deadline = reportedAt + PROPAGATION_BUDGET_MS;
      for (;;) {
        const res = await b.call(key, 'GET', '/v1/suppliers');
        if (res.statusCode !== 200) {
          assertProblem(res, 401, 'revoked_credential');
          t.diagnostic(`refused by node B ${Date.now() - reportedAt} ms after node A's answer`);
          break;
        }
        assert.ok(
          Date.now() < deadline,
          `node B still accepts the key ${PROPAGATION_BUDGET_MS} ms after the report`,
        );
        await sleep(20);
      }
    });

    if (withRedis) {
      test('the per-IP limit is one count across both nodes', async () => {
        const ip = '203.0.113.99';
        const answers = await Promise.all(
          Array.from({ length: 70 }, (_, i) => report(i % 2 === 0 ? a : b, { credentials: ['x'] }, ip)),
        );
        const statuses = answers.map((r) => r.statusCode);
        assert.equal(statuses.filter((s) => s === 202).length, 60, statuses.join(' '));
        assert.equal(statuses.filter((s) => s === 429).length, 10, statuses.join(' '));
      });
    }
  });
}

twoNodes('leak intake on two nodes, Redis fan-out and limiter [sqlite]', 'sqlite', true);
twoNodes('leak intake on two nodes, LISTEN/NOTIFY [postgres]', 'postgres', false);
