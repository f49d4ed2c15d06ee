/**
 * Group commit in the fleet limiter (ratelimit/redis-batch.ts), against the Redis at 127.0.0.1:6379 under
 * a prefix of its own: the requests of one event-loop turn share one script call, and the result is what
 * one call per request would give. Exact across two nodes batching at once; a refused request counts
 * nothing in its other windows; peeks count nothing; one call per org's hash tag; at most MAX_BATCH
 * requests per call; a failed call settles every request of it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Decision, WindowSpec } from '../../src/ratelimit/limiter.ts';
import { MemoryRateLimiter } from '../../src/ratelimit/memory-limiter.ts';
import {
  BATCH_SCRIPT,
  type BatchGroup,
  ConsumeBatcher,
  hashTag,
  MAX_BATCH,
} from '../../src/ratelimit/redis-batch.ts';
import { RedisRateLimiter } from '../../src/ratelimit/redis-limiter.ts';
import { deleteKeysUnder, REDIS_TEST_URL, untilConnected } from '../support/engines.ts';

const REDIS_URL = REDIS_TEST_URL;

type BatchRedis = Redis & { batch(...args: Array<string | number>): Promise<number[]> };

/**
 * The batcher's open group of a one-window request at `nowMs`, or a new one: what the limiter does, for the
 * tests that drive the batcher directly.
 */
function joinGroup<W>(
  batcher: ConsumeBatcher<W>,
  windows: WindowSpec[],
  key: string,
  tag: string,
  nowMs: number,
): BatchGroup<W> {
  const w = windows[0] as WindowSpec;
  const index = Math.floor(nowMs / 1000 / w.windowSeconds);
  return (
    batcher.find(windows, true, nowMs) ??
    batcher.open({
      windows,
      consume: true,
      nowMs,
      indexes: [index],
      keys: [key],
      limits: [w.limit],
      expireAts: [(index + 1) * w.windowSeconds + 5],
      tag,
      waiters: [],
    })
  );
}

describe('the fleet limiter batches a turn of requests into one script call', () => {
  const prefix = `cohera-test:${randomBytes(6).toString('hex')}:`;
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }) as BatchRedis;
  admin.defineCommand('batch', { lua: BATCH_SCRIPT });
  const log = pino({ level: 'silent' });
  let a: RedisRateLimiter;
  let b: RedisRateLimiter;
  const oracle = new MemoryRateLimiter();
  // Half-way through a minute, so that a burst cannot straddle a minute boundary.
  const now = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
  const minute = Math.floor(now / 60_000);

  before(async () => {
    a = new RedisRateLimiter({ url: REDIS_URL, prefix, log });
    b = new RedisRateLimiter({ url: REDIS_URL, prefix, log });
    await untilConnected(a);
    await untilConnected(b);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await deleteKeysUnder(admin, prefix);
    admin.disconnect();
  });

  test('two nodes batching at once, 300 requests, limit 100: exactly 100 pass, each unit once', async () => {
    const org = `{org_${randomBytes(4).toString('hex')}}`;
    const windows: WindowSpec[] = [
      { key: `${org}:live:m`, name: 'minute', limit: 100, windowSeconds: 60 },
      { key: `${org}:live:d`, name: 'day', limit: 10_000, windowSeconds: 86_400 },
    ];
    // Six turns of 50 requests, 25 on each node: each node sends a batch per turn, racing the other's.
    const decisions: Decision[] = [];
    for (let turn = 0; turn < 6; turn++) {
      decisions.push(
        ...(await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).consume(windows, now)),
        )),
      );
    }
    const allowed = decisions.filter((d) => d.allowed);
    assert.equal(allowed.length, 100);
    // Remaining after each allowed request: 99 … 0, each exactly once (a unit is never handed out twice).
    assert.deepEqual(
      allowed.map((d) => d.windows[0]?.remaining).sort((x, y) => (x ?? 0) - (y ?? 0)),
      Array.from({ length: 100 }, (_, i) => i),
    );
    // Both nodes got some: the count was shared, not split.
    assert.ok(decisions.some((d, i) => i % 2 === 0 && d.allowed));
    assert.ok(decisions.some((d, i) => i % 2 === 1 && d.allowed));
    // The 200 refused took nothing from the day window.
    assert.equal(await admin.get(`${prefix}rl:${org}:live:m:${minute}`), '100');
    assert.equal(await admin.get(`${prefix}rl:${org}:live:d:${Math.floor(now / 86_400_000)}`), '100');
    assert.equal(a.fallbackDecisions + b.fallbackDecisions, 0, 'decided by Redis, not locally');
  });

  test('a refused request counts nothing in its other windows, within one batch', async () => {
    const org = `{org_${randomBytes(4).toString('hex')}}`;
    const orgMinute: WindowSpec = { key: `${org}:live:m`, name: 'minute', limit: 50, windowSeconds: 60 };
    const ownMinute: WindowSpec = { key: `${org}:k:1:m`, name: 'key-minute', limit: 3, windowSeconds: 60 };
    const other: WindowSpec = { key: `${org}:k:2:m`, name: 'key-minute', limit: 50, windowSeconds: 60 };
    const results = await Promise.all([
      ...Array.from({ length: 5 }, () => a.consume([orgMinute, ownMinute], now)),
      ...Array.from({ length: 5 }, () => a.consume([orgMinute, other], now)),
    ]);
    assert.deepEqual(
      results.map((d) => d.allowed),
      [true, true, true, false, false, true, true, true, true, true],
    );
    // 3 + 5 counted in the org's minute; the two refused by the key's own limit are not.
    assert.equal(await admin.get(`${prefix}rl:${org}:live:m:${minute}`), '8');
    assert.equal(results[9]?.windows[0]?.used, 8);
    assert.equal(results[4]?.windows[1]?.remaining, 0);
  });

  test('peeks in a batch read the counts and count nothing', async () => {
    const org = `{org_${randomBytes(4).toString('hex')}}`;
    const w: WindowSpec[] = [{ key: `${org}:ip:m`, name: 'minute', limit: 10, windowSeconds: 60 }];
    const [first, peeked, second] = await Promise.all([a.consume(w, now), a.peek(w, now), a.consume(w, now)]);
    assert.equal(first.windows[0]?.used, 1);
    assert.equal(second.windows[0]?.used, 2);
    // The two consumes form one group, decided before the peek's group (groups go in the order of their
    // first request): the peek sees both, and took nothing.
    assert.equal(peeked.windows[0]?.used, 2);
    assert.equal(peeked.allowed, true);
    assert.equal(await admin.get(`${prefix}rl:${org}:ip:m:${minute}`), '2');
    const full: WindowSpec[] = [{ key: `${org}:ip2:m`, name: 'minute', limit: 1, windowSeconds: 60 }];
    const [taken, blocked, refused] = await Promise.all([
      a.consume(full, now),
      a.peek(full, now),
      a.peek(full, now),
    ]);
    assert.deepEqual([taken.allowed, blocked.allowed, refused.allowed], [true, false, false]);
  });

  test('a turn of mixed credentials decides exactly as one request after another, group by group', async () => {
    // An oracle: the in-memory limiter deciding the same requests one at a time, in the batch's order (the
    // groups of equal windows in the order of their first request; a group's requests in arrival order).
    // Limits are small so that groups run out part-way; keys are shared between credentials' windows.
    const org = `{org_${randomBytes(4).toString('hex')}}`;
    const orgMinute = { key: `${org}:live:m`, name: 'minute', limit: 40, windowSeconds: 60 };
    const orgDay = { key: `${org}:live:d`, name: 'day', limit: 1_000, windowSeconds: 86_400 };
    const plans: WindowSpec[][] = [
      [orgMinute, orgDay],
      [orgMinute, orgDay, { key: `${org}:k:1:m`, name: 'key-minute', limit: 5, windowSeconds: 60 }],
      [orgMinute, orgDay, { key: `${org}:k:2:m`, name: 'key-minute', limit: 12, windowSeconds: 60 }],
      [{ key: `${org}:ip:9:m`, name: 'minute', limit: 7, windowSeconds: 60 }],
    ];
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let turn = 0; turn < 4; turn++) {
      const requests = Array.from({ length: 30 }, () => ({
        windows: plans[Math.floor(random() * plans.length)] as WindowSpec[],
        consume: random() < 0.8,
      }));
      const decisions = await Promise.all(
        requests.map((r) => (r.consume ? a.consume(r.windows, now) : a.peek(r.windows, now))),
      );
      const order: number[] = [];
      const groups = new Map<string, number[]>();
      requests.forEach((r, i) => {
        const id = `${plans.indexOf(r.windows)}:${r.consume}`;
        const group = groups.get(id) ?? [];
        if (group.length === 0) groups.set(id, group);
        group.push(i);
      });
      for (const group of groups.values()) order.push(...group);
      for (const i of order) {
        const r = requests[i] as (typeof requests)[number];
        const expected = r.consume ? oracle.consume(r.windows, now) : oracle.peek(r.windows, now);
        const got = decisions[i] as Decision;
        assert.equal(got.allowed, expected.allowed, `turn ${turn}, request ${i}`);
        assert.deepEqual(
          got.windows.map((w) => [w.used, w.remaining, w.resetAt]),
          expected.windows.map((w) => [w.used, w.remaining, w.resetAt]),
          `turn ${turn}, request ${i}`,
        );
      }
    }
    assert.equal(
      await admin.get(`${prefix}rl:${org}:live:m:${minute}`),
      '40',
      'the org minute ran out exactly',
    );
  });

  test('one script call per hash tag, at most MAX_BATCH requests each; every request settled with its group', async () => {
    const calls: Array<Array<string | number>> = [];
    const settled: Array<[string, number[] | null, number]> = [];
    const batcher = new ConsumeBatcher<string>(
      (args) => {
        calls.push(args);
        return admin.batch(...args);
      },
      (group, before, passed) => {
        for (const waiter of group.waiters) settled.push([waiter, before, passed]);
      },
    );
    const orgs = [`{org_${randomBytes(4).toString('hex')}}`, `{org_${randomBytes(4).toString('hex')}}`];
    const counts = [MAX_BATCH * 2 + 10, 7];
    orgs.forEach((org, o) => {
      const windows: WindowSpec[] = [
        { key: `${org}:live:m`, name: 'minute', limit: 1_000, windowSeconds: 60 },
      ];
      for (let i = 0; i < (counts[o] ?? 0); i++) {
        const key = `${prefix}rl:${org}:live:m:${minute}`;
        batcher.add(joinGroup(batcher, windows, key, hashTag(`${org}:live:m`), now), `${o}:${i}`);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(settled.length, (counts[0] ?? 0) + (counts[1] ?? 0), 'every request settled once');
    // A call per full batch and one per org for the rest; each call is one group of one counter (its
    // arguments: 1 key, the key, its expiry, then n, the flag and m).
    assert.deepEqual(
      calls.map((args) => Number(args[5])).sort((x, y) => x - y),
      [7, 10, MAX_BATCH, MAX_BATCH],
    );
    for (const args of calls) assert.equal(args[0], 1, 'each counter once per call');
    // Each full batch of the first org saw the counts the one before left: 0, 256, 512.
    const firstOrg = settled.filter(([w]) => w.startsWith('0:'));
    assert.deepEqual(
      [...new Set(firstOrg.map(([, before]) => before?.[0]))].sort((x, y) => (x ?? 0) - (y ?? 0)),
      [0, MAX_BATCH, 2 * MAX_BATCH],
    );
    assert.ok(settled.every(([, , passed]) => passed > 0));
  });

  test('a failed call settles every group of its batch with the error', async () => {
    const outcomes: string[] = [];
    const batcher = new ConsumeBatcher<number>(
      () => Promise.reject(new Error('Connection is closed.')),
      (group, before, _passed, error) => {
        for (const _ of group.waiters) outcomes.push(before ? 'counted' : (error as Error).message);
      },
    );
    for (let i = 0; i < 4; i++) {
      const windows: WindowSpec[] = [{ key: `k${i % 2}`, name: 'minute', limit: 1, windowSeconds: 60 }];
      batcher.add(joinGroup(batcher, windows, `k${i}`, 'org_x', now), i);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(outcomes, Array(4).fill('Connection is closed.'));
  });

  test('one turn across a minute boundary: the same windows form a group per minute, each counted in its own', async () => {
    const org = `{org_${randomBytes(4).toString('hex')}}`;
    const windows: WindowSpec[] = [
      { key: `${org}:live:m`, name: 'minute', limit: 3, windowSeconds: 60 },
      { key: `${org}:live:d`, name: 'day', limit: 100, windowSeconds: 86_400 },
    ];
    // A minute boundary that is not also a day boundary (the test asserts one day's count).
    const boundary = (minute + 1) % 1440 === 0 ? minute : minute + 1;
    const end = boundary * 60_000 - 1; // the last millisecond of one minute
    const next = end + 1; // the first of the next
    const day = Math.floor(end / 86_400_000);
    const times = [end, next, end, next, end, next, end, next];
    const decisions = await Promise.all(times.map((t) => a.consume(windows, t)));
    // Three of each minute pass (its own limit), the fourth of each is refused; the day counts all six.
    assert.deepEqual(
      decisions.map((d) => d.allowed),
      [true, true, true, true, true, true, false, false],
    );
    assert.deepEqual(
      decisions.map((d) => d.windows[0]?.resetAt),
      times.map((t) => (Math.floor(t / 60_000) + 1) * 60),
    );
    assert.equal(await admin.get(`${prefix}rl:${org}:live:m:${boundary - 1}`), '3');
    assert.equal(await admin.get(`${prefix}rl:${org}:live:m:${boundary}`), '3');
    assert.equal(await admin.get(`${prefix}rl:${org}:live:d:${day}`), '6');
    // The day's count as each request saw it: one group per minute, the earlier minute's first.
    assert.deepEqual(
      decisions
        .filter((d) => d.allowed)
        .map((d) => d.windows[1]?.used ?? 0)
        .sort((x, y) => x - y),
      [1, 2, 3, 4, 5, 6],
    );
  });

  test('consumeThen (the request path) shares the batch with consume, and a throwing caller does not strand its group', async () => {
    const org = `{org_${randomBytes(4).toString('hex')}}`;
    const windows: WindowSpec[] = [{ key: `${org}:live:m`, name: 'minute', limit: 3, windowSeconds: 60 }];
    const answers: Array<boolean | string> = [];
    const viaPromise = a.consume(windows, now);
    a.consumeThen(windows, now, () => {
      throw new Error('a caller that throws');
    });
    for (let i = 0; i < 3; i++) a.consumeThen(windows, now, (d) => answers.push(d.allowed));
    assert.equal(answers.length, 0, 'answered when Redis answers, not before');
    assert.equal((await viaPromise).windows[0]?.used, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The second request threw on its answer; the three after it were still answered, in order.
    assert.deepEqual(answers, [true, false, false]);
    assert.equal(await admin.get(`${prefix}rl:${org}:live:m:${minute}`), '3');
  });

  test('hashTag: the org part of a window key, or the whole key without braces', () => {
    assert.equal(hashTag('{org_1}:live:m'), 'org_1');
    assert.equal(hashTag('{org_1}:s:sess_2:m'), 'org_1');
    assert.equal(hashTag('plain:key'), 'plain:key');
    assert.equal(hashTag('{}:odd'), '{}:odd');
  });
});
