/**
 * The limiter port, one conformance suite for both implementations (memory; Redis at 127.0.0.1:6379 under
 * a prefix of its own): counting, rejection at the limit, all-or-nothing across windows (a request a day
 * window rejects takes nothing from the minute window — rate-limiter-flexible's RateLimiterUnion issues
 * #280/#150), `peek` never counts, `release` gives a unit back, window roll-over, and exactness under concurrency across two limiter
 * instances (two nodes). Redis only: every counter key expires on its own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { RateLimiter, WindowSpec } from '../../src/ratelimit/limiter.ts';
import { MemoryRateLimiter } from '../../src/ratelimit/memory-limiter.ts';
import { RedisRateLimiter } from '../../src/ratelimit/redis-limiter.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * Half-way through the current real minute: Redis expires counters at absolute times derived from this
 * clock, so it must be close to Redis's own clock; and half a minute leaves room before the window ends.
 */
function midMinuteNow(): number {
  return Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS + 30_000;
}

interface Implementation {
  name: string;
  /** Two limiters that share their counts (two nodes); for memory, the same instance twice. */
  create(): Promise<{ a: RateLimiter; b: RateLimiter }>;
  /** Redis: no decision may have come from the local fallback, or the suite would prove nothing. */
  checkNoFallback(): void;
  teardown(): Promise<void>;
}

async function deleteKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  return keys;
}

const implementations: Implementation[] = [
  (() => {
    let limiter: MemoryRateLimiter | undefined;
    return {
      name: 'memory',
      async create() {
        limiter = new MemoryRateLimiter();
        return { a: limiter, b: limiter };
      },
      checkNoFallback() {},
      async teardown() {
        await limiter?.close();
      },
    };
  })(),
  (() => {
    const prefix = `cohera-test:rl:${randomBytes(6).toString('hex')}:`;
    const log = pino({ level: 'silent' });
    const made: RedisRateLimiter[] = [];
    const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    return {
      name: 'redis',
      async create() {
        await admin.connect();
        const a = new RedisRateLimiter({ url: REDIS_URL, prefix, log });
        const b = new RedisRateLimiter({ url: REDIS_URL, prefix, log });
        made.push(a, b);
        // Wait until both are connected, so no decision falls back to the local limiter.
        for (let i = 0; i < 200 && (a.degraded || b.degraded); i++)
          await new Promise((r) => setTimeout(r, 10));
        assert.equal(a.degraded || b.degraded, false, 'Redis at 127.0.0.1:6379 must be reachable');
        return { a, b };
      },
      checkNoFallback() {
        for (const limiter of made)
          assert.equal(limiter.fallbackDecisions, 0, 'a decision fell back to memory');
      },
      async teardown() {
        for (const limiter of made) await limiter.close();
        await deleteKeys(admin, prefix);
        admin.disconnect();
      },
    };
  })(),
];

for (const impl of implementations) {
  describe(`rate limiter conformance [${impl.name}]`, () => {
    let a: RateLimiter;
    let b: RateLimiter;
    let n = 0;
    /** Fresh counter ids per test, so tests never see each other's counts. */
    const ids = () => {
      n++;
      return { m: `t${n}:m`, d: `t${n}:d`, k: `t${n}:k` };
    };
    before(async () => {
      ({ a, b } = await impl.create());
    });
    afterEach(() => impl.checkNoFallback());
    after(() => impl.teardown());

    test('counts one per request and rejects the request past the limit', async () => {
      const id = ids();
      const now = midMinuteNow();
      const windows: WindowSpec[] = [{ key: id.m, name: 'minute', limit: 3, windowSeconds: 60 }];
      const remaining: number[] = [];
      for (let i = 0; i < 3; i++) {
        const d = await a.consume(windows, now);
        assert.equal(d.allowed, true);
        remaining.push(d.windows[0]?.remaining ?? -1);
      }
      assert.deepEqual(remaining, [2, 1, 0]);
      const rejected = await a.consume(windows, now);
      assert.equal(rejected.allowed, false);
      assert.equal(rejected.windows[0]?.used, 3);
      assert.equal(rejected.windows[0]?.resetAt, (Math.floor(now / MINUTE_MS) + 1) * 60);
    });

    test('a request one window rejects takes nothing from the others (all or nothing)', async () => {
      const id = ids();
      const now = midMinuteNow();
      const windows: WindowSpec[] = [
        { key: id.m, name: 'minute', limit: 10, windowSeconds: 60 },
        { key: id.d, name: 'day', limit: 2, windowSeconds: 86_400 },
      ];
      assert.equal((await a.consume(windows, now)).allowed, true);
      assert.equal((await a.consume(windows, now)).allowed, true);
      for (let i = 0; i < 5; i++) assert.equal((await a.consume(windows, now)).allowed, false);
      const after = await a.peek(windows, now);
      assert.deepEqual(
        after.windows.map((w) => w.used),
        [2, 2],
        'the five rejected requests must not have counted against the minute',
      );
      // Ask with a looser day: the minute has 8 left, exactly, not 3.
      const looser = [windows[0] as WindowSpec, { ...(windows[1] as WindowSpec), limit: 1_000 }];
      assert.equal((await a.peek(looser, now)).windows[0]?.remaining, 8);
    });

    test('peek reads without counting', async () => {
      const id = ids();
      const now = midMinuteNow();
      const windows: WindowSpec[] = [{ key: id.m, name: 'minute', limit: 2, windowSeconds: 60 }];
      for (let i = 0; i < 5; i++) assert.equal((await a.peek(windows, now)).windows[0]?.used, 0);
      await a.consume(windows, now);
      await a.consume(windows, now);
      const full = await a.peek(windows, now);
      assert.equal(full.allowed, false);
      assert.equal(full.windows[0]?.used, 2);
    });

    test('release gives back one unit per window, never below zero, and never to a later window', async () => {
      const id = ids();
      const now = midMinuteNow();
      const windows: WindowSpec[] = [
        { key: id.m, name: 'minute', limit: 3, windowSeconds: 60 },
        { key: id.d, name: 'day', limit: 100, windowSeconds: 86_400 },
      ];
      for (let i = 0; i < 3; i++) assert.equal((await a.consume(windows, now)).allowed, true);
      assert.equal((await a.consume(windows, now)).allowed, false);
      // Another node gives a unit back: the shared count drops in both windows and one more fits.
      await b.release(windows, now);
      assert.deepEqual(
        (await a.peek(windows, now)).windows.map((w) => w.used),
        [2, 2],
      );
      assert.equal((await a.consume(windows, now)).allowed, true);
      // Released at the reservation's time after the minute rolled over: the new minute is untouched.
      const next = now + 30_000;
      assert.equal((await a.consume(windows, next)).allowed, true);
      await a.release([windows[0] as WindowSpec], now);
      assert.equal((await a.peek(windows, next)).windows[0]?.used, 1);
      // Never below zero: releasing more than was counted leaves an empty window, not a negative one.
      const fresh: WindowSpec[] = [{ key: ids().m, name: 'minute', limit: 1, windowSeconds: 60 }];
      await a.release(fresh, now);
      await a.release(fresh, now);
      assert.equal((await a.consume(fresh, now)).allowed, true);
      assert.equal((await a.consume(fresh, now)).allowed, false);
    });

    test('the next minute starts a fresh minute window; the day window carries on', async () => {
      const id = ids();
      const now = midMinuteNow();
      const windows: WindowSpec[] = [
        { key: id.m, name: 'minute', limit: 2, windowSeconds: 60 },
        { key: id.d, name: 'day', limit: 100, windowSeconds: 86_400 },
      ];
      await a.consume(windows, now);
      await a.consume(windows, now);
      assert.equal((await a.consume(windows, now + 29_999)).allowed, false, 'same minute');
      const next = await a.consume(windows, now + 30_000);
      assert.equal(next.allowed, true, 'the next clock minute');
      assert.deepEqual(
        next.windows.map((w) => w.used),
        [1, 3],
      );
      // Whether the next day is a fresh day depends on where in the day `now` is: compute it.
      const nextDay = (Math.floor(now / DAY_MS) + 1) * DAY_MS + 1_000;
      assert.deepEqual(
        (await a.consume(windows, nextDay)).windows.map((w) => w.used),
        [1, 1],
      );
    });

    test('exact under concurrency on two nodes: 30 at once against a limit of 20 → exactly 20 pass', async () => {
      const id = ids();
      const now = midMinuteNow();
      const windows: WindowSpec[] = [
        { key: id.m, name: 'minute', limit: 20, windowSeconds: 60 },
        { key: id.d, name: 'day', limit: 1_000, windowSeconds: 86_400 },
      ];
      const decisions = await Promise.all(
        Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).consume(windows, now)),
      );
      assert.equal(decisions.filter((d) => d.allowed).length, 20);
      // The ten rejected requests consumed nothing from the day.
      assert.deepEqual(
        (await b.peek(windows, now)).windows.map((w) => w.used),
        [20, 20],
      );
    });
  });
}

describe('rate limiter [redis]: counters expire on their own', () => {
  const prefix = `cohera-test:rl:${randomBytes(6).toString('hex')}:`;
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let limiter: RedisRateLimiter;
  before(() => {
    limiter = new RedisRateLimiter({ url: REDIS_URL, prefix, log: pino({ level: 'silent' }) });
  });
  after(async () => {
    await limiter.close();
    await deleteKeys(admin, prefix);
    admin.disconnect();
  });

  test('every key under the prefix has a TTL, ending just after its window', async () => {
    for (let i = 0; i < 200 && limiter.degraded; i++) await new Promise((r) => setTimeout(r, 10));
    const now = midMinuteNow();
    const windows: WindowSpec[] = [
      { key: 'o:m', name: 'minute', limit: 5, windowSeconds: 60 },
      { key: 'o:d', name: 'day', limit: 50, windowSeconds: 86_400 },
    ];
    for (let i = 0; i < 7; i++) await limiter.consume(windows, now);
    const keys = await admin.keys(`${prefix}*`);
    const counters = keys.filter((k) => k.includes(':o:'));
    assert.equal(counters.length, 2, keys.join(' '));
    for (const key of keys) {
      const ttl = await admin.ttl(key);
      assert.ok(ttl > 0, `${key} has TTL ${ttl}`);
    }
    // The minute counter outlives its window by a few seconds at most (slack for skewed node clocks).
    const minuteKey = counters.find((k) => k.includes(':o:m:')) ?? '';
    const minuteEnd = (Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS;
    const expiresAt = Date.now() + (await admin.pttl(minuteKey));
    assert.ok(
      expiresAt > minuteEnd && expiresAt <= minuteEnd + 10_000,
      `expires at ${new Date(expiresAt).toISOString()}`,
    );
    assert.equal(await admin.get(minuteKey), '5');
    assert.equal(limiter.fallbackDecisions, 0);
  });
});
