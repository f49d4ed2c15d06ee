/**
 * The fleet limiter through the real app (DESIGN §5.2): two apps (two nodes) share one database and the
 * Redis at 127.0.0.1:6379 under a prefix of their own. An enterprise org limited to 20 requests a minute
 * fires 30 concurrent requests split across both nodes: exactly 20 pass and 10 get 429 — not "about 20"
 * (Kong's asynchronous counters overshoot), and the 10 rejected take nothing from the day. Every key the
 * limiter leaves in Redis expires on its own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { newId } from '@cohera/shared';
import { Redis } from 'ioredis';
import { ManualClock } from '../../src/clock.ts';
import { setTier } from '../../src/orgs/repository.ts';
import { RedisRateLimiter } from '../../src/ratelimit/redis-limiter.ts';
import { createOrg, startTestApp, type TestApp } from '../support/app.ts';
import {
  deleteKeysUnder,
  type EngineHandle,
  prepareEngine,
  REDIS_TEST_URL,
  untilConnected,
} from '../support/engines.ts';

const REDIS_URL = REDIS_TEST_URL;
const MISSING = `/v1/suppliers/${newId('supplier')}`;

function redisLimiterOf(t: TestApp): RedisRateLimiter {
  const limiter = t.app.deps.limiter;
  assert.ok(limiter instanceof RedisRateLimiter, `expected the Redis limiter, got ${limiter.backend}`);
  return limiter;
}

describe('rate limits on Redis across two nodes', () => {
  const prefix = `cohera-test:${randomBytes(6).toString('hex')}:`;
  const env = { COHERA_REDIS_URL: REDIS_URL, COHERA_REDIS_PREFIX: prefix };
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  // Redis expires counters at absolute times computed from this clock, so it must read close to real time;
  // half-way through the minute so that the burst cannot straddle a minute boundary.
  const clock = new ManualClock(Math.floor(Date.now() / 60_000) * 60_000 + 30_000);
  let handle: EngineHandle;
  let a: TestApp;
  let b: TestApp;

  before(async () => {
    handle = await prepareEngine('sqlite');
    a = await startTestApp(handle, { clock, env });
    b = await startTestApp(handle, { clock, env });
    await untilConnected(redisLimiterOf(a));
    await untilConnected(redisLimiterOf(b));
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await deleteKeysUnder(admin, prefix);
    admin.disconnect();
    await handle?.cleanup();
  });

  test('limit 20/min: of 30 concurrent requests split across two nodes exactly 20 pass, 10 get 429', async () => {
    const org = await createOrg(a.app, 'enterprise');
    await setTier(
      a.app.deps.db,
      org.orgId,
      { tier: 'enterprise', perMinute: 20, perDay: 10_000 },
      clock.now(),
    );

    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).call(org.adminKey, 'GET', MISSING)),
    );
    const statuses = responses.map((r) => r.statusCode);
    assert.equal(statuses.filter((s) => s === 404).length, 20, statuses.join(' '));
    assert.equal(statuses.filter((s) => s === 429).length, 10, statuses.join(' '));
    // Both nodes served some of the 20: the count really was shared.
    assert.ok(responses.some((r, i) => i % 2 === 0 && r.statusCode === 404));
    assert.ok(responses.some((r, i) => i % 2 === 1 && r.statusCode === 404));
    for (const r of responses) {
      assert.equal(r.headers['x-ratelimit-limit'], '20');
      if (r.statusCode === 429) assert.ok(Number(r.headers['retry-after']) >= 1);
    }
    const remaining = responses
      .filter((r) => r.statusCode === 404)
      .map((r) => Number(r.headers['x-ratelimit-remaining']))
      .sort((x, y) => x - y);
    assert.deepEqual(
      remaining,
      Array.from({ length: 20 }, (_, i) => i),
      'each unit handed out exactly once',
    );

    // Decided by Redis, not by each node's local share (10 + 10 would also make 20).
    assert.equal(redisLimiterOf(a).fallbackDecisions, 0);
    assert.equal(redisLimiterOf(b).fallbackDecisions, 0);

    // The ten rejected requests took nothing from the day; the counters are in Redis with their TTLs.
    const minute = Math.floor(clock.now() / 60_000);
    const day = Math.floor(clock.now() / 86_400_000);
    assert.equal(await admin.get(`${prefix}rl:{${org.orgId}}:live:m:${minute}`), '20');
    assert.equal(await admin.get(`${prefix}rl:{${org.orgId}}:live:d:${day}`), '20');
    const next = await b.call(org.adminKey, 'GET', MISSING);
    assert.equal(next.statusCode, 429);
    assert.match(String(next.headers.ratelimit), /"day";r=9980;/);
  });

  test('no key under the prefix lives forever: every TTL is positive', async () => {
    const keys = await admin.keys(`${prefix}*`);
    assert.ok(
      keys.some((k) => k.includes(':live:m:')),
      `no minute counter among ${keys.join(' ')}`,
    );
    for (const key of keys) {
      const ttl = await admin.ttl(key);
      assert.ok(ttl > 0, `${key} has TTL ${ttl}`);
    }
  });
});
