/**
 * Per-key usage on every engine (DESIGN §5.1): daily counts of requests, errors and rate-limited responses
 * and `last_used_at`, exact before and after a flush, one stored row per key per day (never one per
 * request), and nothing lost when the app closes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

interface UsageDay {
  date: string;
  requests: number;
  errors: number;
  rate_limited: number;
}

const DAY = 86_400_000;
const apiTimeOf = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const day = (ms: number, requests = 0, errors = 0): UsageDay => ({
  date: dateOf(ms),
  requests,
  errors,
  rate_limited: 0,
});

forEachEngine('api keys: usage', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  // No background flush during the suite: each test flushes when it means to.
  const options = () => ({ clock, usageFlushMs: 3_600_000 });
  before(async () => {
    clock = new ManualClock(Date.parse('2026-11-22T10:00:00Z'));
    t = await startTestApp(handle(), options());
    org = await createOrg(t.app);
  });
  after(() => t.close());

  async function newKey(name: string) {
    const res = await t.call(org.adminKey, 'POST', '/v1/api-keys', { name, scopes: ['read:suppliers'] });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<{ id: string; key: string }>();
  }
  async function usage(id: string, days: number) {
    const res = await t.call(org.adminKey, 'GET', `/v1/api-keys/${id}/usage?days=${days}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ data: UsageDay[] }>().data;
  }
  async function lastUsed(id: string) {
    const res = await t.call(org.adminKey, 'GET', `/v1/api-keys/${id}`);
    return res.json<{ last_used_at: string | null }>().last_used_at;
  }
  /** `ok` 200s, `missing` 404s and `denied` 403s with `key`; returns the time of the last call. */
  async function traffic(key: string, ok: number, missing: number, denied: number) {
    const expect = async (res: Promise<LightMyRequestResponse>, status: number) =>
      assert.equal((await res).statusCode, status);
    for (let i = 0; i < ok; i++) {
      clock.advance(1000);
      await expect(t.call(key, 'GET', '/v1/suppliers'), 200);
    }
    for (let i = 0; i < missing; i++) {
      clock.advance(1000);
      await expect(t.call(key, 'GET', `/v1/suppliers/sup_${'0'.repeat(22)}`), 404);
    }
    for (let i = 0; i < denied; i++) {
      clock.advance(1000);
      await expect(t.call(key, 'POST', '/v1/suppliers', { name: 'A', country: 'DE' }), 403);
    }
    return clock.now();
  }
  const storedRows = (keyId: string) =>
    t.app.deps.db
      .selectFrom('api_key_usage')
      .select(['date', 'requests', 'errors', 'rate_limited'])
      .where('key_id', '=', keyId)
      .orderBy('date')
      .execute();

  test('counts are exact before and after a flush, one row per key per day', async () => {
    const { id, key } = await newKey('counted');
    assert.deepEqual(await usage(id, 3), [
      day(clock.now() - 2 * DAY),
      day(clock.now() - DAY),
      day(clock.now()),
    ]);
    assert.equal(await lastUsed(id), null);

    const last = await traffic(key, 6, 3, 2);
    const expected = [day(clock.now() - 2 * DAY), day(clock.now() - DAY), day(clock.now(), 11, 5)];
    assert.deepEqual(await usage(id, 3), expected, 'before a flush');
    assert.equal(await lastUsed(id), apiTimeOf(last));
    assert.deepEqual(await storedRows(id), [], 'nothing was written per request');

    await t.app.deps.usage.flush();
    assert.deepEqual(await usage(id, 3), expected, 'after a flush');
    assert.deepEqual(
      (await storedRows(id)).map((r) => ({
        ...r,
        requests: Number(r.requests),
        errors: Number(r.errors),
        rate_limited: Number(r.rate_limited),
      })),
      [day(clock.now(), 11, 5)],
    );
    const row = await t.app.deps.db
      .selectFrom('api_keys')
      .select(['last_used_at', 'last_used_ip'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.equal(row.last_used_at, new Date(last).toISOString());
    assert.equal(row.last_used_ip, '127.0.0.1');
    assert.equal(await lastUsed(id), apiTimeOf(last));

    // More traffic: stored and pending counts add up, and a second flush sums into the same row.
    const later = await traffic(key, 2, 1, 0);
    const more = [day(clock.now() - 2 * DAY), day(clock.now() - DAY), day(clock.now(), 14, 6)];
    assert.deepEqual(await usage(id, 3), more);
    assert.equal(await lastUsed(id), apiTimeOf(later));
    await t.app.deps.usage.flush();
    assert.deepEqual(await usage(id, 3), more);
    assert.equal((await storedRows(id)).length, 1);

    // Another key's traffic is not counted here; the admin key's management calls are its own.
    const other = await newKey('other');
    await traffic(other.key, 3, 0, 0);
    assert.deepEqual(await usage(id, 3), more);
    assert.deepEqual((await usage(other.id, 1))[0], day(clock.now(), 3, 0));
  });

  test('days are UTC days, oldest first, with quiet days as zeros', async () => {
    clock.set(Date.parse('2026-11-25T23:59:00Z'));
    const { id, key } = await newKey('across midnight');
    await traffic(key, 2, 0, 0); // 23:59:01, 23:59:02
    clock.set(Date.parse('2026-11-27T00:00:30Z'));
    await traffic(key, 1, 1, 0);
    const expected = [
      { date: '2026-11-24', requests: 0, errors: 0, rate_limited: 0 },
      { date: '2026-11-25', requests: 2, errors: 0, rate_limited: 0 },
      { date: '2026-11-26', requests: 0, errors: 0, rate_limited: 0 },
      { date: '2026-11-27', requests: 2, errors: 1, rate_limited: 0 },
    ];
    assert.deepEqual(await usage(id, 4), expected);
    await t.app.deps.usage.flush();
    assert.deepEqual(await usage(id, 4), expected);
    assert.deepEqual(
      (await storedRows(id)).map((r) => r.date),
      ['2026-11-25', '2026-11-27'],
    );
    const month = await usage(id, 30);
    assert.equal(month.length, 30);
    assert.equal(month[29]?.date, '2026-11-27');
    assert.equal(month[0]?.date, '2026-10-29');
    const defaultDays = await t.call(org.adminKey, 'GET', `/v1/api-keys/${id}/usage`);
    assert.deepEqual(defaultDays.json<{ data: UsageDay[] }>().data, month, 'the default is 30 days');
    assert.deepEqual((await usage(id, 2))[0], expected[2], 'a shorter window drops older days');
  });

  test('429s count as rate_limited, not as errors', async () => {
    clock.set(Date.parse('2026-11-28T08:00:00Z')); // the start of a minute window
    const res = await t.call(org.adminKey, 'POST', '/v1/api-keys', {
      name: 'throttled',
      scopes: ['read:suppliers'],
      rate_limit_per_minute: 2,
    });
    assert.equal(res.statusCode, 201, res.body);
    const { id, key } = res.json<{ id: string; key: string }>();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await t.call(key, 'GET', '/v1/suppliers')).statusCode);
    assert.deepEqual(statuses, [200, 200, 429, 429, 429]);
    assert.equal((await t.call(key, 'GET', `/v1/suppliers/sup_${'0'.repeat(22)}`)).statusCode, 429);
    const expected = [{ date: '2026-11-28', requests: 6, errors: 0, rate_limited: 4 }];
    assert.deepEqual(await usage(id, 1), expected);
    await t.app.deps.usage.flush();
    assert.deepEqual(await usage(id, 1), expected);
  });

  test('days outside 1..90 is a 400 naming query/days', async () => {
    const { id } = await newKey('bad days');
    for (const days of ['0', '91', '-1', 'abc', '1.5']) {
      const res = await t.call(org.adminKey, 'GET', `/v1/api-keys/${id}/usage?days=${days}`);
      assert.equal(res.statusCode, 400, res.body);
      const problem = res.json<{ code: string; errors: { field: string }[] }>();
      assert.equal(problem.code, 'validation_failed');
      assert.ok(
        problem.errors.some((e) => e.field === 'query/days'),
        res.body,
      );
    }
    assert.equal((await usage(id, 90)).length, 90);
    assert.equal((await usage(id, 1)).length, 1);
  });

  test('counts survive closing the app (the last flush runs on close)', async () => {
    const { id, key } = await newKey('survivor');
    const last = await traffic(key, 4, 2, 0);
    await t.close();
    t = await startTestApp(handle(), options());
    assert.deepEqual(await usage(id, 1), [day(clock.now(), 6, 2)]);
    assert.equal(await lastUsed(id), apiTimeOf(last));
    assert.deepEqual(t.app.deps.usage.pending(id), [], 'read from storage, not from memory');
  });
});
