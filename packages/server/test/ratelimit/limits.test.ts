/**
 * Org rate limits through the real HTTP app on the embedded (in-memory) limiter, on every engine, with a
 * manual clock (DESIGN §4, §5.2): the count-down, the 429 at limit + 1 with `Retry-After` to the next
 * window, roll-over at the clock minute, the day window independent of the minute (to 00:00 UTC),
 * headers on 2xx and 4xx responses to authenticated requests but not on unauthenticated 401s, test mode's
 * own budget, a key's own per-minute limit, and enterprise custom limits reaching a running app.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateApiKey, newId } from '@cohera/shared';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import { setTier } from '../../src/orgs/repository.ts';
import { createKey, createOrg, startTestApp, type TestApp } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

const RATE_LIMIT_HEADERS = [
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'ratelimit-policy',
  'ratelimit',
] as const;

/** A well-formed supplier id that exists nowhere: the cheapest authenticated request (a 404). */
const MISSING = `/v1/suppliers/${newId('supplier')}`;
/** Not even shaped like an id: a 404 with no database read, for the thousand-request day test. */
const CHEAPEST = '/v1/suppliers/no-such-supplier';

const epochSeconds = (ms: number) => Math.floor(ms / 1000);
const nextMinuteMs = (ms: number) => (Math.floor(ms / 60_000) + 1) * 60_000;
const nextMidnightMs = (ms: number) => (Math.floor(ms / 86_400_000) + 1) * 86_400_000;

function header(res: LightMyRequestResponse, name: string): string {
  const value = res.headers[name];
  assert.equal(typeof value, 'string', `${name} missing (status ${res.statusCode}): ${res.body}`);
  return value as string;
}

const remaining = (res: LightMyRequestResponse) => Number(header(res, 'x-ratelimit-remaining'));

/** `r` (remaining) of one window in the IETF `RateLimit` field. */
function ietfRemaining(res: LightMyRequestResponse, window: string): number {
  const match = new RegExp(`"${window}";r=(\\d+);t=(\\d+)`).exec(header(res, 'ratelimit'));
  assert.ok(match, `no "${window}" in RateLimit: ${header(res, 'ratelimit')}`);
  return Number(match[1]);
}

function assertAllHeaders(res: LightMyRequestResponse): void {
  for (const name of RATE_LIMIT_HEADERS) header(res, name);
}

function assertNoRateLimitHeaders(res: LightMyRequestResponse): void {
  for (const name of [...RATE_LIMIT_HEADERS, 'retry-after']) {
    assert.equal(res.headers[name], undefined, `${name} on a ${res.statusCode}`);
  }
}

function assertRateLimited(res: LightMyRequestResponse, retryAfter: number): void {
  assert.equal(res.statusCode, 429, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const problem = res.json<{ status: number; code: string; request_id: string }>();
  assert.equal(problem.code, 'rate_limited');
  assert.equal(problem.status, 429);
  assert.equal(problem.request_id, res.headers['x-request-id']);
  assert.equal(header(res, 'retry-after'), String(retryAfter));
  assertAllHeaders(res);
  assert.equal(remaining(res), 0);
}

forEachEngine('rate limits over HTTP (memory limiter)', (_engine, handle) => {
  let t: TestApp;
  const clock = new ManualClock();
  before(async () => {
    t = await startTestApp(handle(), { clock });
  });
  after(() => t.close());

  test('free tier: counts down from 59, 429 at the 61st with Retry-After to the minute, resets next minute', async () => {
    const start = Date.parse('2026-11-22T10:00:17.250Z');
    clock.set(start);
    const org = await createOrg(t.app, 'free');
    const seen: number[] = [];
    let sixtieth: LightMyRequestResponse | undefined;
    for (let i = 0; i < 60; i++) {
      const res = await t.call(org.adminKey, 'GET', MISSING);
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(header(res, 'x-ratelimit-limit'), '60');
      assert.equal(header(res, 'x-ratelimit-reset'), String(epochSeconds(nextMinuteMs(start))));
      seen.push(remaining(res));
      sixtieth = res;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 60 }, (_, i) => 59 - i),
    );
    assert.ok(sixtieth);
    assert.equal(header(sixtieth, 'ratelimit-policy'), '"minute";q=60;w=60, "day";q=1000;w=86400');
    assert.equal(header(sixtieth, 'ratelimit'), '"minute";r=0;t=43, "day";r=940;t=50383');

    // 42.75 s to 10:01:00, rounded up to whole seconds (the 61st request and the ones after it).
    const expectedRetry = Math.ceil((nextMinuteMs(start) - start) / 1000);
    assert.equal(expectedRetry, 43);
    for (let i = 0; i < 3; i++) {
      const res = await t.call(org.adminKey, 'GET', MISSING);
      assertRateLimited(res, expectedRetry);
      assert.equal(header(res, 'x-ratelimit-limit'), '60');
      assert.equal(header(res, 'x-ratelimit-reset'), String(epochSeconds(nextMinuteMs(start))));
      // The day counted 60 requests; the 429s took nothing from it.
      assert.equal(ietfRemaining(res, 'day'), 1000 - 60);
    }
    clock.set(start + 30_000);
    assertRateLimited(await t.call(org.adminKey, 'GET', MISSING), 13);

    // The next clock minute: the minute window is fresh, the day carries on.
    clock.set(nextMinuteMs(start));
    const fresh = await t.call(org.adminKey, 'GET', MISSING);
    assert.equal(fresh.statusCode, 404);
    assert.equal(remaining(fresh), 59);
    assert.equal(ietfRemaining(fresh, 'minute'), 59);
    assert.equal(ietfRemaining(fresh, 'day'), 1000 - 61);
    assert.equal(fresh.headers['retry-after'], undefined);
  });

  test('free tier: the day limit (1,000) is independent of the minute; 429 until 00:00 UTC', async () => {
    const start = Date.parse('2026-11-22T21:30:05.500Z');
    clock.set(start);
    const org = await createOrg(t.app, 'free');
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < 1000; i++) {
      if (i > 0 && i % 60 === 0) clock.advance(60_000);
      last = await t.call(org.adminKey, 'GET', CHEAPEST);
      assert.equal(last.statusCode, 404, `request ${i + 1}: ${last.body}`);
    }
    assert.ok(last);
    assert.equal(ietfRemaining(last, 'day'), 0);
    assert.equal(ietfRemaining(last, 'minute'), 60 - (1000 % 60));

    // Plenty left in this minute, none in the day: the headers describe the day.
    const now = clock.now();
    const rejected = await t.call(org.adminKey, 'GET', CHEAPEST);
    assertRateLimited(rejected, Math.ceil((nextMidnightMs(now) - now) / 1000));
    assert.equal(header(rejected, 'x-ratelimit-limit'), '1000');
    assert.equal(header(rejected, 'x-ratelimit-reset'), String(epochSeconds(nextMidnightMs(now))));
    assert.equal(ietfRemaining(rejected, 'minute'), 60 - (1000 % 60));

    // A fresh minute does not help; a fresh day does.
    clock.advance(60_000);
    assert.equal((await t.call(org.adminKey, 'GET', CHEAPEST)).statusCode, 429);
    clock.set(nextMidnightMs(now));
    const nextDay = await t.call(org.adminKey, 'GET', CHEAPEST);
    assert.equal(nextDay.statusCode, 404);
    assert.equal(ietfRemaining(nextDay, 'day'), 999);
  });

  test('headers on 200, 400, 403, 404 and 429; none on unauthenticated 401s', async () => {
    clock.set(Date.parse('2026-11-22T11:00:00Z'));
    const org = await createOrg(t.app, 'free');
    const productsOnly = await createKey(t.app, org, ['read:products']);

    const ok = await t.call(org.adminKey, 'GET', '/v1/suppliers');
    assert.equal(ok.statusCode, 200);
    assertAllHeaders(ok);
    const invalid = await t.call(org.adminKey, 'POST', '/v1/suppliers', { name: 'Acme', country: 'nowhere' });
    assert.equal(invalid.statusCode, 400, invalid.body);
    assertAllHeaders(invalid);
    const forbidden = await t.call(productsOnly, 'GET', '/v1/suppliers');
    assert.equal(forbidden.statusCode, 403, forbidden.body);
    assertAllHeaders(forbidden);
    const missing = await t.call(org.adminKey, 'GET', MISSING);
    assert.equal(missing.statusCode, 404);
    assertAllHeaders(missing);
    // The 400 and the 403 counted like any request: one org budget across all its keys.
    assert.equal(remaining(missing), 60 - 4);

    const anonymous = await t.inject({ method: 'GET', url: '/v1/suppliers' });
    assert.equal(anonymous.statusCode, 401);
    assertNoRateLimitHeaders(anonymous);
    const unknownKey = await t.call(generateApiKey('live'), 'GET', '/v1/suppliers');
    assert.equal(unknownKey.statusCode, 401);
    assertNoRateLimitHeaders(unknownKey);
    const malformed = await t.inject({
      method: 'GET',
      url: '/v1/suppliers',
      headers: { authorization: 'Basic x' },
    });
    assert.equal(malformed.statusCode, 401);
    assertNoRateLimitHeaders(malformed);
  });

  test('test mode has its own budget, equal to live’s', async () => {
    clock.set(Date.parse('2026-11-22T12:00:30Z'));
    const org = await createOrg(t.app, 'free');
    const testKey = await createKey(t.app, org, ['read:suppliers'], 'test');
    for (let i = 0; i < 60; i++) await t.call(org.adminKey, 'GET', MISSING);
    assert.equal((await t.call(org.adminKey, 'GET', MISSING)).statusCode, 429);

    const sandbox = await t.call(testKey, 'GET', MISSING);
    assert.equal(sandbox.statusCode, 404);
    assert.equal(header(sandbox, 'x-ratelimit-limit'), '60');
    assert.equal(remaining(sandbox), 59);
    assert.equal(ietfRemaining(sandbox, 'day'), 999);
    // Still refused in live: test traffic neither drew on nor refilled the live budget.
    assert.equal((await t.call(org.adminKey, 'GET', MISSING)).statusCode, 429);
  });

  test('a key with rate_limit_per_minute: 5 is refused after 5; the org’s other keys carry on', async () => {
    const start = Date.parse('2026-11-22T13:00:10Z');
    clock.set(start);
    const org = await createOrg(t.app, 'free');
    const created = await t.call(org.adminKey, 'POST', '/v1/api-keys', {
      name: 'throttled integration',
      scopes: ['read:suppliers'],
      rate_limit_per_minute: 5,
    });
    assert.equal(created.statusCode, 201, created.body);
    const limited = created.json<{ key: string; rate_limit_per_minute: number }>();
    assert.equal(limited.rate_limit_per_minute, 5);

    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.call(limited.key, 'GET', MISSING);
      assert.equal(res.statusCode, 404);
      assert.equal(header(res, 'x-ratelimit-limit'), '5');
      seen.push(remaining(res));
    }
    assert.deepEqual(seen, [4, 3, 2, 1, 0]);

    const refused = await t.call(limited.key, 'GET', MISSING);
    assertRateLimited(refused, 50);
    assert.equal(header(refused, 'x-ratelimit-limit'), '5');
    assert.equal(header(refused, 'x-ratelimit-reset'), String(epochSeconds(nextMinuteMs(start))));
    assert.equal(
      header(refused, 'ratelimit-policy'),
      '"minute";q=60;w=60, "day";q=1000;w=86400, "key-minute";q=5;w=60',
    );
    assert.equal(ietfRemaining(refused, 'key-minute'), 0);

    // The org's budget counted the create and the 5 allowed requests, not the refused one.
    const other = await t.call(org.adminKey, 'GET', MISSING);
    assert.equal(other.statusCode, 404);
    assert.equal(header(other, 'x-ratelimit-limit'), '60');
    assert.equal(remaining(other), 60 - 1 - 5 - 1);
    assert.doesNotMatch(header(other, 'ratelimit-policy'), /key-minute/);

    clock.set(nextMinuteMs(start));
    const nextMinute = await t.call(limited.key, 'GET', MISSING);
    assert.equal(nextMinute.statusCode, 404);
    assert.equal(remaining(nextMinute), 4);
  });

  test('enterprise custom limits apply, show at GET /v1/organization, and reach a running app within 5 s', async () => {
    const start = Date.parse('2026-11-22T14:00:00Z');
    clock.set(start);
    const org = await createOrg(t.app, 'enterprise');
    const before = await t.call(org.adminKey, 'GET', '/v1/organization');
    assert.equal(before.statusCode, 200);
    const defaults = before.json<{ rate_limits: { per_minute: number; per_day: number } }>().rate_limits;
    assert.equal(
      header(before, 'ratelimit-policy'),
      `"minute";q=${defaults.per_minute};w=60, "day";q=${defaults.per_day};w=86400`,
    );

    // What `cohera admin set-tier --tier enterprise --per-minute 7 --per-day 500` does: a database write,
    // with no message to the running app.
    const changed = await setTier(
      t.app.deps.db,
      org.orgId,
      { tier: 'enterprise', perMinute: 7, perDay: 500 },
      start,
    );
    assert.equal(changed?.rate_limit_per_minute, 7);

    const policyNow = async () => header(await t.call(org.adminKey, 'GET', MISSING), 'ratelimit-policy');
    clock.advance(4_000);
    await policyNow(); // the request that notices the entry is old and refreshes it behind itself
    let policy = '';
    for (let i = 0; i < 100; i++) {
      await sleep(5);
      policy = await policyNow();
      if (policy.includes('q=7;')) break;
    }
    assert.equal(policy, '"minute";q=7;w=60, "day";q=500;w=86400');
    assert.ok(clock.now() - start < 5_000);

    const shown = await t.call(org.adminKey, 'GET', '/v1/organization');
    assert.equal(shown.statusCode, 200);
    assert.deepEqual(shown.json<{ rate_limits: unknown }>().rate_limits, { per_minute: 7, per_day: 500 });

    clock.set(nextMinuteMs(clock.now()) + 1_000);
    for (let i = 0; i < 7; i++) assert.equal((await t.call(org.adminKey, 'GET', MISSING)).statusCode, 404);
    const refused = await t.call(org.adminKey, 'GET', MISSING);
    assertRateLimited(refused, 59);
    assert.equal(header(refused, 'x-ratelimit-limit'), '7');
  });

  test('a tier change made while an org was idle applies to its very next request', async () => {
    const start = Date.parse('2026-11-22T15:00:00Z');
    clock.set(start);
    const org = await createOrg(t.app, 'pro');
    const first = await t.call(org.adminKey, 'GET', MISSING);
    assert.equal(header(first, 'ratelimit-policy'), '"minute";q=600;w=60, "day";q=50000;w=86400');

    await setTier(t.app.deps.db, org.orgId, { tier: 'free', perMinute: null, perDay: null }, start + 1_000);
    // An hour without a request, then one: it must not be judged by the limits of an hour ago.
    clock.set(start + 3_600_000);
    const next = await t.call(org.adminKey, 'GET', MISSING);
    assert.equal(header(next, 'ratelimit-policy'), '"minute";q=60;w=60, "day";q=1000;w=86400');
  });
});
