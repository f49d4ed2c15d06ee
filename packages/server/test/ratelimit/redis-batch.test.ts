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
import { BATCH_SCRIPT, ConsumeBatcher, hashTag, MAX_BATCH } from '../../src/ratelimit/redis-batch.ts';
import { RedisRateLimiter } from '../../src/ratelimit/redis-limiter.ts';
import { deleteKeysUnder, REDIS_TEST_URL, untilConnected } from '../support/engines.ts';

const REDIS_URL = REDIS_TEST_URL;

type BatchRedis = Redis & { batch(...args: Array<string | number>): Promise<number[]> };

describe('the fleet limiter batches a turn of requests into one script call', () => {
  const prefix = `cohera-test:${randomBytes(6).toString('hex')}:`;
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }) as BatchRedis;
  admin.defineCommand('batch', { lua: BATCH_SCRIPT });
  const log = pino({ level: 'silent' });
  let a: RedisRateLimiter;
  let b: RedisRateLimiter;
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
    const w: WindowSpec = { key: `${org}:ip:m`, name: 'minute', limit: 10, windowSeconds: 60 };
    const [first, peeked, second] = await Promise.all([
      a.consume([w], now),
      a.peek([w], now),
      a.consume([w], now),
    ]);
    assert.equal(first.windows[0]?.used, 1);
    assert.equal(peeked.windows[0]?.used, 1, 'the peek sees the consume before it');
    assert.equal(second.windows[0]?.used, 2, 'and took nothing');
  });

  test('one script call per hash tag, at most MAX_BATCH requests each; the results land on their requests', async () => {
    const calls: Array<Array<string | number>> = [];
    const batcher = new ConsumeBatcher((args) => {
      calls.push(args);
      return admin.batch(...args);
    });
    const orgs = [`{org_${randomBytes(4).toString('hex')}}`, `{org_${randomBytes(4).toString('hex')}}`];
    const counts = [MAX_BATCH * 2 + 10, 7];
    const settled = await Promise.all(
      orgs.flatMap((org, o) =>
        Array.from(
          { length: counts[o] ?? 0 },
          () =>
            new Promise<number>((resolve, reject) =>
              batcher.add(hashTag(`${org}:live:m`), {
                keys: [`${prefix}rl:${org}:live:m:${minute}`],
                limits: [1_000],
                expireAts: [(minute + 1) * 60 + 5],
                consume: true,
                settle: (before, error) => (before ? resolve(before[0] ?? -1) : reject(error)),
              }),
            ),
        ),
      ),
    );
    // Each org's requests saw 0, 1, 2, … in the order they were added.
    assert.deepEqual(
      settled.slice(0, counts[0]),
      Array.from({ length: counts[0] ?? 0 }, (_, i) => i),
    );
    assert.deepEqual(
      settled.slice(counts[0]),
      Array.from({ length: 7 }, (_, i) => i),
    );
    // Requests per call: after the keys and their expiry times, each request is n, its flag and n pairs.
    const requestsIn = (args: Array<string | number>) => {
      const keyCount = Number(args[0]);
      let requests = 0;
      for (let a = 1 + 2 * keyCount; a < args.length; a += 2 + 2 * Number(args[a])) requests++;
      return requests;
    };
    assert.deepEqual(
      calls.map(requestsIn).sort((x, y) => x - y),
      [7, 10, MAX_BATCH, MAX_BATCH],
    );
    for (const args of calls) {
      const keys = args.slice(1, 1 + Number(args[0])).map(String);
      // Every request of an org counts the same counter: it goes in KEYS once.
      assert.equal(keys.length, 1, 'each counter once per call');
      assert.equal(new Set(keys.map((k) => hashTag(k.slice(prefix.length)))).size, 1, 'one org per call');
    }
  });

  test('a failed call settles every request of its batch with the error', async () => {
    const batcher = new ConsumeBatcher(() => Promise.reject(new Error('Connection is closed.')));
    const outcomes = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<string>((resolve) =>
            batcher.add('org_x', {
              keys: ['k'],
              limits: [1],
              expireAts: [1],
              consume: true,
              settle: (before, error) => resolve(before ? 'counted' : (error as Error).message),
            }),
          ),
      ),
    );
    assert.deepEqual(outcomes, Array(4).fill('Connection is closed.'));
  });

  test('hashTag: the org part of a window key, or the whole key without braces', () => {
    assert.equal(hashTag('{org_1}:live:m'), 'org_1');
    assert.equal(hashTag('{org_1}:s:sess_2:m'), 'org_1');
    assert.equal(hashTag('plain:key'), 'plain:key');
    assert.equal(hashTag('{}:odd'), '{}:odd');
  });
});
