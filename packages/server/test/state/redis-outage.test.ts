/**
 * A hung, slow or restarted Redis, against the parts that talk to it (issue 22, items 3, 5 and 7), on a
 * `redis-server` this test owns (support/redis-server.ts) so it can freeze it (SIGSTOP), thaw it and kill it:
 *
 * - the invalidation bus: `publish` never waits for Redis, a message published while Redis is frozen is
 *   delivered once it thaws, and `healthy` follows Redis's real state;
 * - the limiter's circuit breaker: one slow command does not open it; a frozen Redis does, after which no
 *   request waits on Redis (decisions are synchronous again); thawed, it closes and hands Redis the counts
 *   it made locally; a Redis that lost its counters gets the day windows back from the seed source;
 * - two app nodes: a key revoked while the bus is down is refused on the other node within the short TTL.
 *
 * Bounds on time here are bounds on a hang (a wait as long as the freeze), with slack for a loaded machine.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '@cohera/shared';
import type { Redis } from 'ioredis';
import type { AuthContext } from '../../src/auth/context.ts';
import { createLogger } from '../../src/http/logger.ts';
import { orgDayWindowKey } from '../../src/ratelimit/day-seed.ts';
import { windowsFor } from '../../src/ratelimit/hook.ts';
import type { WindowSpec } from '../../src/ratelimit/limiter.ts';
import { RedisRateLimiter } from '../../src/ratelimit/redis-limiter.ts';
import type { Invalidation } from '../../src/state/invalidation-bus.ts';
import { RedisInvalidationBus } from '../../src/state/redis-invalidation-bus.ts';
import { capturedLogs, createOrg, logCapture, startTestApp } from '../support/app.ts';
import { tempDir } from '../support/config.ts';
import { prepareEngine } from '../support/engines.ts';
import { RedisServer } from '../support/redis-server.ts';

const log = createLogger('warn', logCapture());
/** Short, so a frozen Redis is noticed fast; the production default is 1 s. */
const TIMEOUT_MS = 200;

async function poll(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const started = Date.now(); !condition(); await sleep(20)) {
    if (Date.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
  }
}

/** How long `work` took, in ms. */
async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

describe('Redis outages', () => {
  const dir = tempDir('cohera-redis-outage-');
  let redis: RedisServer;
  let admin: Redis;

  before(async () => {
    redis = await RedisServer.start(dir.path);
    admin = redis.client();
  });
  after(async () => {
    admin?.disconnect();
    await redis?.kill();
    dir.remove();
  });

  describe('the invalidation bus', () => {
    test('publish never waits for a frozen Redis; the message arrives after the thaw; healthy follows Redis', async () => {
      const prefix = `t:${randomBytes(4).toString('hex')}:`;
      const a = new RedisInvalidationBus(redis.url, prefix, log, { timeoutMs: TIMEOUT_MS });
      const b = new RedisInvalidationBus(redis.url, prefix, log, { timeoutMs: TIMEOUT_MS });
      try {
        await Promise.all([a.ready(), b.ready()]);
        const onB: Invalidation[] = [];
        b.subscribe((message) => onB.push(message));
        const health: boolean[] = [];
        b.onHealthChange((healthy) => health.push(healthy));
        assert.equal(b.healthy, true);

        redis.freeze();
        const localOnA: Invalidation[] = [];
        a.subscribe((message) => localOnA.push(message));
        const message: Invalidation = { kind: 'credential', credentialId: newId('service_account_key') };
        const took = await timed(() => a.publish(message));
        assert.ok(took < TIMEOUT_MS, `publish waited ${Math.round(took)} ms for a frozen Redis`);
        assert.deepEqual(localOnA, [message], 'applied on the publishing node at once');
        await poll('B sees the bus is down', () => !b.healthy);
        assert.equal(a.healthy, false);

        redis.thaw();
        await poll('the queued message reaches B', () =>
          onB.some((m) => m.kind === 'credential' && m.credentialId === message.credentialId),
        );
        await poll('B healthy again', () => b.healthy);
        assert.deepEqual(health, [false, true]);
        // Back from unhealthy, B cleared its caches: a message may have been lost meanwhile.
        assert.ok(onB.some((m) => m.kind === 'all'));
      } finally {
        redis.thaw();
        await Promise.all([a.close(), b.close()]);
      }
    });
  });

  describe('the limiter’s circuit breaker', () => {
    const minute = (key: string, limit: number): WindowSpec[] => [
      { key, name: 'minute', limit, windowSeconds: 60 },
    ];

    test('one slow command is decided locally but does not open the breaker', async () => {
      const limiter = new RedisRateLimiter({
        url: redis.url,
        prefix: `t:${randomBytes(4).toString('hex')}:`,
        log,
        commandTimeoutMs: TIMEOUT_MS,
      });
      try {
        await poll('connected', () => !limiter.degraded);
        const windows = minute(`{org_${randomBytes(4).toString('hex')}}:live:m`, 100);
        // Redis busy for longer than the command timeout, once: the request times out, Redis is alive.
        const busy = admin.call('DEBUG', 'SLEEP', String((TIMEOUT_MS * 1.5) / 1000));
        await sleep(10);
        const slow = await limiter.consume(windows, Date.now());
        assert.equal(slow.allowed, true);
        assert.equal(limiter.fallbackDecisions, 1);
        await busy;
        const next = limiter.consume(windows, Date.now());
        assert.ok(next instanceof Promise, 'still asking Redis');
        await next;
        assert.equal(limiter.degraded, false, 'one slow answer is not an outage');
        assert.equal(limiter.fallbackDecisions, 1);
      } finally {
        await limiter.close();
      }
    });

    test('frozen: opens, then decides at once without Redis; thawed: closes and hands Redis the local counts', async () => {
      const prefix = `t:${randomBytes(4).toString('hex')}:`;
      const limiter = new RedisRateLimiter({ url: redis.url, prefix, log, commandTimeoutMs: TIMEOUT_MS });
      try {
        await poll('connected', () => !limiter.degraded);
        const key = `{org_${randomBytes(4).toString('hex')}}:live:m`;
        const windows = minute(key, 100);
        const now = Date.now();
        for (let i = 0; i < 3; i++) assert.equal((await limiter.consume(windows, now)).allowed, true);
        const counter = `${prefix}rl:${key}:${Math.floor(now / 60_000)}`;
        assert.equal(await admin.get(counter), '3');

        const warningsBefore = capturedLogs.filter((l) => l.includes('redis unreachable')).length;
        redis.freeze();
        // Requests while the breaker decides: each waits at most the command timeout.
        for (let i = 0; i < 4; i++) {
          const took = await timed(async () => {
            await limiter.consume(windows, now);
          });
          assert.ok(took < TIMEOUT_MS * 5, `a request waited ${Math.round(took)} ms on a frozen Redis`);
        }
        await poll('the breaker opens', () => limiter.degraded);
        const decided = limiter.consume(windows, now);
        assert.ok(!(decided instanceof Promise), 'decided locally, with no wait on Redis');
        assert.equal(
          capturedLogs.filter((l) => l.includes('redis unreachable')).length,
          warningsBefore + 1,
          'one warning per outage',
        );
        const local = limiter.fallbackDecisions;
        assert.ok(local >= 5);

        redis.thaw();
        await poll('the breaker closes', () => !limiter.degraded);
        // Every request allowed locally is now counted in Redis too: 3 before, `local` during.
        assert.equal(Number(await admin.get(counter)), 3 + local);
        const back = limiter.consume(windows, now);
        assert.ok(back instanceof Promise, 'back on Redis');
        assert.equal((await back).windows[0]?.used, 3 + local + 1);
        // Handed over once: a second outage does not add the first one's counts again.
        assert.equal(Number(await admin.get(counter)), 3 + local + 1);
      } finally {
        redis.thaw();
        await limiter.close();
      }
    });

    test('a Redis that lost its counters gets the day windows back from the seed source, once', async () => {
      const prefix = `t:${randomBytes(4).toString('hex')}:`;
      const org = `org_${randomBytes(4).toString('hex')}`;
      const dayIndex = Math.floor(Date.now() / 86_400_000);
      let asked = 0;
      const limiter = new RedisRateLimiter({
        url: redis.url,
        prefix,
        log,
        commandTimeoutMs: TIMEOUT_MS,
        daySeed: async () => {
          asked++;
          return [{ key: orgDayWindowKey(org, 'live'), count: 240, dayIndex }];
        },
      });
      const dayCounter = `${prefix}rl:{${org}}:live:d:${dayIndex}`;
      try {
        await poll('connected', () => !limiter.degraded);
        // The first node to find Redis without the fleet's marker seeds it (a new Redis counts as one).
        assert.equal(asked, 1);
        assert.equal(await admin.get(dayCounter), '240');
        assert.ok((await admin.pttl(dayCounter)) > 0, 'the seeded counter expires with its window');

        await redis.kill();
        await redis.restart();
        await poll('reconnected', () => !limiter.degraded, 15_000);
        assert.equal(asked, 2, 'the restart lost the marker: seeded again');
        await poll('admin reconnected', () => admin.status === 'ready');
        assert.equal(await admin.get(dayCounter), '240');
      } finally {
        await limiter.close();
      }
    });

    test('the seeded day key is the key the rate-limit step counts', () => {
      const auth = {
        orgId: 'org_x',
        mode: 'test',
        principal: { kind: 'api_key', id: 'key_x' },
        scopes: [],
        rateLimitPerMinute: null,
      } as unknown as AuthContext; // only the fields windowsFor reads
      const day = windowsFor(auth, { perMinute: 10, perDay: 100 }).find((w) => w.name === 'day');
      assert.equal(day?.key, orgDayWindowKey('org_x', 'test'));
    });
  });

  describe('two nodes while the bus is down', () => {
    test('a key revoked on A is refused on B within the short TTL (2 s), and the revoke answers at once', async () => {
      const handle = await prepareEngine('sqlite');
      const env = {
        COHERA_REDIS_URL: redis.url,
        COHERA_REDIS_PREFIX: `t:${randomBytes(4).toString('hex')}:`,
        COHERA_REDIS_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS),
      };
      const a = await startTestApp(handle, { env });
      const b = await startTestApp(handle, { env });
      try {
        await Promise.all([a.app.deps.bus.ready(), b.app.deps.bus.ready()]);
        const org = await createOrg(a.app);
        const created = await a.call(org.adminKey, 'POST', '/v1/api-keys', {
          name: 'revoked while the bus is down',
          scopes: ['read:suppliers'],
        });
        assert.equal(created.statusCode, 201, created.body);
        const { id, key } = JSON.parse(created.body) as { id: string; key: string };
        assert.equal((await b.call(key, 'GET', '/v1/suppliers')).statusCode, 200); // cached on B

        redis.freeze();
        await poll('B knows its bus is down', () => !b.app.deps.bus.healthy);
        let revoked = 0;
        const took = await timed(async () => {
          revoked = (await a.call(org.adminKey, 'POST', `/v1/api-keys/${id}/revoke`)).statusCode;
        });
        assert.equal(revoked, 200);
        assert.ok(took < 1_000, `the revoke answered after ${Math.round(took)} ms with Redis frozen`);

        const since = performance.now();
        let status = 200;
        while (status === 200 && performance.now() - since < 6_000) {
          status = (await b.call(key, 'GET', '/v1/suppliers')).statusCode;
          if (status === 200) await sleep(50);
        }
        const elapsed = performance.now() - since;
        assert.equal(status, 401, `B still accepted the revoked key after ${Math.round(elapsed)} ms`);
        // The short TTL (2 s) plus a poll and a database read; without it, up to 30 s.
        assert.ok(elapsed < 3_000, `B refused the key after ${Math.round(elapsed)} ms (short TTL 2 s)`);
      } finally {
        redis.thaw();
        await poll('A healthy', () => a.app.deps.bus.healthy).catch(() => {});
        await poll('B healthy', () => b.app.deps.bus.healthy).catch(() => {});
        await a.close();
        await b.close();
        await handle.cleanup();
      }
    });
  });
});
