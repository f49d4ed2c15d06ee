/**
 * The fleet limiter against a Redis this test owns (DESIGN §5.2): a `redis-server` started on a free port,
 * so it can be counted and killed without disturbing anyone else. One Lua script call per request (one
 * round trip, both windows checked and counted); when Redis dies mid-run no request fails with a 5xx,
 * each node keeps limiting locally with its share of the limit, says so once in its log and through
 * `degraded`/`fallbackDecisions`, and returns to Redis when Redis is back on the same port, handing it
 * the counts it made meanwhile (so the restart does not hand out a second budget).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '@cohera/shared';
import type { Redis } from 'ioredis';
import { ManualClock } from '../../src/clock.ts';
import { setTier } from '../../src/orgs/repository.ts';
import { RedisRateLimiter } from '../../src/ratelimit/redis-limiter.ts';
import { encodeInvalidation } from '../../src/state/invalidation-bus.ts';
import { capturedLogs, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { tempDir } from '../support/config.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';
import { RedisServer } from '../support/redis-server.ts';

const MISSING = `/v1/suppliers/${newId('supplier')}`;
const OUTAGE_WARNING = 'redis unreachable: rate limiting locally with this node’s share of each limit';
const RECOVERY_NOTICE = 'redis is back: rate limits are global again';
/**
 * Commands of the limiter's heartbeat (every 5 s) and of the invalidation bus's health probe (a PING every
 * 500 ms), which are not per request.
 */
const HEARTBEAT_COMMANDS = new Set([
  'multi',
  'exec',
  'zadd',
  'zremrangebyscore',
  'zcard',
  'pexpire',
  'info',
  'ping',
]);

/** `cmdstat_<name>:calls=N` from INFO commandstats. */
function commandCalls(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) {
    calls.set(match[1] as string, Number(match[2]));
  }
  return calls;
}

function logMessages(): string[] {
  return capturedLogs.map((line) => {
    try {
      return String((JSON.parse(line) as { msg?: unknown }).msg);
    } catch {
      return '';
    }
  });
}

const countOf = (message: string) => logMessages().filter((m) => m === message).length;

const METRICS_TOKEN = randomBytes(16).toString('hex');

/** One sample of a metric from `GET /metrics`. */
async function metric(t: TestApp, name: string): Promise<number> {
  const res = await t.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  assert.equal(res.statusCode, 200, res.body);
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(res.body);
  assert.ok(match, `no ${name} in /metrics`);
  return Number(match[1]);
}

function redisLimiterOf(t: TestApp): RedisRateLimiter {
  const limiter = t.app.deps.limiter;
  assert.ok(limiter instanceof RedisRateLimiter, `expected the Redis limiter, got ${limiter.backend}`);
  return limiter;
}

async function poll(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const started = Date.now(); !condition(); await sleep(25)) {
    if (Date.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
  }
}

/** Publishes a marker on the bus channel until every app's bus has received it (so it is subscribed again). */
async function untilSubscribed(apps: TestApp[], publisher: Redis, channel: string): Promise<void> {
  const marker = newId('supplier');
  const arrived = new Set<TestApp>();
  for (const t of apps) {
    t.app.deps.bus.subscribe((message) => {
      if (message.kind === 'resource' && message.id === marker) arrived.add(t);
    });
  }
  for (let i = 0; i < 400 && arrived.size < apps.length; i++) {
    await publisher.publish(channel, encodeInvalidation({ kind: 'resource', id: marker }));
    await sleep(25);
  }
  assert.equal(arrived.size, apps.length, 'every invalidation subscriber is back');
}

describe('rate limiting on a Redis that goes away and comes back', () => {
  const dir = tempDir('cohera-redis-');
  const prefix = `cohera-test:${randomBytes(6).toString('hex')}:`;
  // Close to real time: Redis expires counters at absolute times computed from this clock.
  const clock = new ManualClock(Math.floor(Date.now() / 60_000) * 60_000 + 30_000);
  let redis: RedisServer | undefined;
  let admin: Redis;
  let handle: EngineHandle;
  let a: TestApp;
  let b: TestApp;
  let org: TestOrg;

  before(async () => {
    redis = await RedisServer.start(dir.path);
    admin = redis.client();
    handle = await prepareEngine('sqlite');
    const env = {
      COHERA_REDIS_URL: redis.url,
      COHERA_REDIS_PREFIX: prefix,
      COHERA_METRICS_TOKEN: METRICS_TOKEN,
    };
    a = await startTestApp(handle, { clock, env });
    b = await startTestApp(handle, { clock, env });
    await poll('both limiters connected', () => !redisLimiterOf(a).degraded && !redisLimiterOf(b).degraded);
    org = await createOrg(a.app, 'enterprise');
    await setTier(
      a.app.deps.db,
      org.orgId,
      { tier: 'enterprise', perMinute: 10, perDay: 1_000 },
      clock.now(),
    );
  });
  after(async () => {
    await a?.close();
    await b?.close();
    admin?.disconnect();
    await redis?.kill();
    await handle?.cleanup();
    dir.remove();
  });

  test('one script call per request, nothing else per request', async () => {
    // The first call loads the script (EVALSHA misses, EVAL follows); measure after it.
    assert.equal((await a.call(org.adminKey, 'GET', MISSING)).statusCode, 404);
    const before = commandCalls(await admin.info('commandstats'));
    const requests = 4;
    for (let i = 0; i < requests; i++)
      assert.equal((await a.call(org.adminKey, 'GET', MISSING)).statusCode, 404);
    const afterCalls = commandCalls(await admin.info('commandstats'));

    const delta = (name: string) => (afterCalls.get(name) ?? 0) - (before.get(name) ?? 0);
    assert.equal(delta('evalsha') + delta('eval'), requests);
    // Commandstats also counts what the script calls inside Redis: both windows read and counted, atomically.
    assert.equal(delta('get'), 2 * requests);
    assert.equal(delta('incrby'), 2 * requests);
    const inScript = new Set(['evalsha', 'eval', 'get', 'incrby', 'expireat']);
    const others = [...afterCalls.keys()].filter(
      (name) => !HEARTBEAT_COMMANDS.has(name) && !inScript.has(name),
    );
    for (const name of others) assert.equal(delta(name), 0, `${name} was called during the requests`);
    assert.equal(
      await admin.get(`${prefix}rl:{${org.orgId}}:live:m:${Math.floor(clock.now() / 60_000)}`),
      '5',
    );
  });

  test('Redis killed: no 5xx, limited locally with the node’s share, one warning; back to Redis after restart', async () => {
    const limiterB = redisLimiterOf(b);
    // B joined second, so its heartbeat has seen both nodes: its share of 10/min is 5.
    await poll('B sees two live nodes', () => limiterB.nodes === 2);
    const minuteKey = `${prefix}rl:{${org.orgId}}:live:m:${Math.floor(clock.now() / 60_000)}`;
    const fromRedis = await b.call(org.adminKey, 'GET', MISSING);
    assert.equal(fromRedis.statusCode, 404);
    assert.equal(fromRedis.headers['x-ratelimit-limit'], '10');
    assert.equal(fromRedis.headers['x-ratelimit-remaining'], '4'); // 5 counted by A in the test above
    assert.equal(await admin.get(minuteKey), '6');
    assert.equal(limiterB.fallbackDecisions, 0);
    assert.equal(countOf(OUTAGE_WARNING), 0);
    assert.equal(await metric(b, 'cohera_redis_fallback'), 0);
    assert.equal(await metric(b, 'cohera_redis_fleet_nodes'), 2);

    await redis?.kill();

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await b.call(org.adminKey, 'GET', MISSING);
      statuses.push(res.statusCode);
      assert.equal(res.headers['x-ratelimit-limit'], '5', `local share on request ${i + 1}`);
      assert.equal(res.headers['x-ratelimit-remaining'], String(4 - i));
    }
    assert.deepEqual(statuses, [404, 404, 404, 404, 404]);
    const limited = await b.call(org.adminKey, 'GET', MISSING);
    assert.equal(limited.statusCode, 429, limited.body);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    const list = await b.call(org.adminKey, 'GET', '/v1/suppliers');
    assert.equal(list.statusCode, 429, 'still limited, and still not a 5xx');

    assert.equal(limiterB.degraded, true);
    assert.equal(limiterB.fallbackDecisions, 7);
    // Both nodes lost their connection, A without serving a request: one warning each, none per request.
    await poll('A noticed too', () => countOf(OUTAGE_WARNING) === 2);
    assert.equal(countOf(OUTAGE_WARNING), 2, 'one warning per node and outage, not one per request');
    assert.equal(await metric(b, 'cohera_redis_fallback'), 1);

    await redis?.restart();
    await poll('B back on Redis', () => !limiterB.degraded);
    await poll('A back on Redis', () => !redisLimiterOf(a).degraded);
    assert.equal(countOf(RECOVERY_NOTICE), 2);

    // Counted in Redis again (a fresh, empty Redis), which B handed the 5 requests it allowed on its own
    // before taking any more: the minute does not start over.
    await poll('admin reconnected', () => admin.status === 'ready');
    const back = await b.call(org.adminKey, 'GET', MISSING);
    assert.equal(back.statusCode, 404, back.body);
    assert.equal(back.headers['x-ratelimit-limit'], '10');
    assert.equal(back.headers['x-ratelimit-remaining'], '4');
    assert.equal(await admin.get(minuteKey), '6');
    assert.equal(limiterB.fallbackDecisions, 7);
    assert.equal(countOf(OUTAGE_WARNING), 2);
    assert.equal(await metric(b, 'cohera_redis_fallback'), 0);

    // Let every client finish reconnecting before the apps close: ioredis re-sends SUBSCRIBE after a
    // reconnect without handling its promise, and closing in between is an unhandled rejection.
    await untilSubscribed([a, b], admin, `${prefix}invalidate`);
  });
});
