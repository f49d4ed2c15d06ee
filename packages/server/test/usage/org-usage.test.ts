/**
 * Organization usage on every engine (`GET /v1/usage`): every authenticated request of an org counts in its
 * mode's daily totals whatever the credential (API key, service-account token, dashboard session), counted
 * in memory and written with the usage batches; errors and 429s apart; nothing of another org or the other
 * mode; `current` is exactly what the same response's rate-limit headers say.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Mode } from '@cohera/shared';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { ManualClock } from '../../src/clock.ts';
import { UsageRecorder } from '../../src/usage/recorder.ts';
import { createAccount, generateKey, mint, signerOf } from '../service-accounts/fixtures.ts';
import { createKey, createMember, createOrg, startTestApp, type TestApp } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';

interface UsageDay {
  date: string;
  requests: number;
  errors: number;
  rate_limited: number;
}
interface Standing {
  limit: number;
  remaining: number;
  reset: string;
}
interface OrgUsage {
  object: 'usage';
  mode: Mode;
  data: UsageDay[];
  rate_limits: { per_minute: number; per_day: number };
  current: { minute: Standing; day: Standing };
}

const MISSING_SUPPLIER = `/v1/suppliers/sup_${'0'.repeat(22)}`;
const today = (requests: number, errors = 0, rate_limited = 0) => ({ requests, errors, rate_limited });

/** A signed-in dashboard user: requests with the session cookie (and CSRF token), optionally in a mode. */
type Session = (
  method: InjectOptions['method'],
  url: string,
  options?: { mode?: Mode; csrf?: boolean; body?: unknown },
) => Promise<LightMyRequestResponse>;

forEachEngine('organization usage', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  before(async () => {
    clock = new ManualClock(Date.parse('2026-11-22T10:00:00Z'));
    // No background flush during the suite: each test flushes when it means to.
    t = await startTestApp(handle(), { clock, usageFlushMs: 3_600_000 });
  });
  after(() => t.close());

  async function signIn(email: string, password: string): Promise<Session> {
    const res = await t.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
    assert.equal(res.statusCode, 200, res.body);
    const cookie = res.cookies.find((c) => c.name === 'cohera_session');
    assert.ok(cookie);
    const csrfToken = res.json<{ csrf_token: string }>().csrf_token;
    return (method, url, { mode, csrf = true, body } = {}) =>
      t.inject({
        method,
        url,
        cookies: { cohera_session: cookie.value },
        headers: { ...(csrf ? { 'x-csrf-token': csrfToken } : {}), ...(mode ? { 'cohera-mode': mode } : {}) },
        ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }),
      });
  }

  async function usage(key: string, days = 1): Promise<OrgUsage> {
    const res = await t.call(key, 'GET', `/v1/usage?days=${days}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<OrgUsage>();
  }
  /** Today's entry (the last one) without its date. */
  const todayOf = ({ data }: OrgUsage) => {
    const { date: _date, ...counts } = data.at(-1) as UsageDay;
    return counts;
  };
  /** What is stored for an org (after a flush), per mode and day. */
  const stored = async (orgId: string) =>
    (
      await t.app.deps.db
        .selectFrom('org_usage')
        .select(['mode', 'date', 'requests', 'errors', 'rate_limited'])
        .where('org_id', '=', orgId)
        .orderBy('mode')
        .orderBy('date')
        .execute()
    ).map((r) => ({
      ...r,
      requests: Number(r.requests),
      errors: Number(r.errors),
      rate_limited: Number(r.rate_limited),
    }));
  const flush = () => t.app.deps.usage.flush();
  const dateNow = () => new Date(clock.now()).toISOString().slice(0, 10);
  const row = (mode: Mode, requests: number, errors = 0, rate_limited = 0) => ({
    mode,
    date: dateNow(),
    requests,
    errors,
    rate_limited,
  });
  const expectStatus = async (res: Promise<LightMyRequestResponse>, status: number) => {
    const done = await res;
    assert.equal(done.statusCode, status, done.body);
  };

  test('API keys, service-account tokens and sessions all count, once flushed; bad credentials do not', async () => {
    const org = await createOrg(t.app);
    await flush();
    assert.deepEqual(await stored(org.orgId), []);

    const key = await createKey(t.app, org, ['read:suppliers']); // made in storage: no request
    await expectStatus(t.call(key, 'GET', '/v1/suppliers'), 200);
    await expectStatus(t.call(key, 'GET', '/v1/suppliers'), 200);
    await expectStatus(t.call(key, 'GET', MISSING_SUPPLIER), 404);
    assert.deepEqual(await stored(org.orgId), [], 'nothing is written per request');
    await flush();
    assert.deepEqual(await stored(org.orgId), [row('live', 3, 1)]);

    // Two admin-key requests to set the account up, then two with its token.
    const account = await createAccount(t, org.adminKey, ['read:*']);
    const file = await generateKey(t, org.adminKey, account.id);
    const token = await mint(
      await signerOf(file),
      { sub: account.id, org_id: file.org_id, iss: file.issuer, aud: file.audience, scopes: ['read:*'] },
      clock.now(),
    );
    await expectStatus(t.call(token, 'GET', '/v1/suppliers'), 200);
    await expectStatus(t.call(token, 'POST', '/v1/suppliers', { name: 'A', country: 'DE' }), 403);
    await flush();
    assert.deepEqual(await stored(org.orgId), [row('live', 7, 2)], 'summed into the same row');

    const member = await createMember(t, org, 'member');
    const session = await signIn(member.email, member.password); // public: not counted
    await expectStatus(session('GET', '/v1/suppliers'), 200);
    await expectStatus(session('GET', '/auth/session'), 200);
    // Refused before anyone is authenticated: no org to count them against.
    await expectStatus(
      session('POST', '/v1/suppliers', { csrf: false, body: { name: 'B', country: 'DE' } }),
      403,
    );
    // A typo in the checksum (always a different character, or a key ending in 'x' would stay valid).
    const typo = `${key.slice(0, -1)}${key.endsWith('x') ? 'y' : 'x'}`;
    await expectStatus(t.call(typo, 'GET', '/v1/suppliers'), 401);
    await expectStatus(t.call('ck_live_unknown', 'GET', '/v1/suppliers'), 401);
    await flush();
    assert.deepEqual(await stored(org.orgId), [row('live', 9, 2)]);

    // The route reads what is stored; the read itself counts once it is answered.
    assert.deepEqual(todayOf(await usage(org.adminKey)), today(9, 2));
    assert.deepEqual(todayOf(await usage(org.adminKey)), today(10, 2));
  });

  test('unflushed counts show at once and add to stored ones; closing the app flushes them', async () => {
    const org = await createOrg(t.app);
    const key = await createKey(t.app, org, ['read:suppliers']);
    await expectStatus(t.call(key, 'GET', '/v1/suppliers'), 200);
    assert.deepEqual(todayOf(await usage(org.adminKey)), today(1), 'pending only');
    await flush();
    await expectStatus(t.call(key, 'GET', MISSING_SUPPLIER), 404);
    assert.deepEqual(todayOf(await usage(org.adminKey)), today(3, 1), 'stored plus pending');
    await t.close();
    t = await startTestApp(handle(), { clock, usageFlushMs: 3_600_000 });
    assert.deepEqual(await stored(org.orgId), [row('live', 4, 1)]);
    assert.deepEqual(t.app.deps.usage.pendingOrg(org.orgId, 'live'), []);
  });

  test('a failed flush keeps its counts; nodes flushing the same day add up', async () => {
    const org = await createOrg(t.app);
    const db = t.app.deps.db;
    let down = true;
    const flaky = new Proxy(db, {
      get(target, property) {
        if (property === 'transaction' && down)
          return () => ({ execute: () => Promise.reject(new Error('database down')) });
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const log = pino({ level: 'silent' });
    const nodeA = new UsageRecorder(flaky, clock, log);
    const nodeB = new UsageRecorder(db, clock, log);
    nodeA.recordOrg(org.orgId, 'live', 200);
    nodeA.recordOrg(org.orgId, 'live', 500);
    await assert.rejects(nodeA.flush(), /database down/);
    nodeA.recordOrg(org.orgId, 'live', 429);
    assert.deepEqual(nodeA.pendingOrg(org.orgId, 'live'), [{ date: dateNow(), ...today(3, 1, 1) }]);
    assert.deepEqual(await stored(org.orgId), []);

    nodeB.recordOrg(org.orgId, 'live', 404);
    nodeB.recordOrg(org.orgId, 'test', 200);
    await nodeB.flush();
    down = false;
    await nodeA.flush();
    assert.deepEqual(nodeA.pendingOrg(org.orgId, 'live'), []);
    assert.deepEqual(await stored(org.orgId), [row('live', 4, 2, 1), row('test', 1)]);
  });

  test('429s count as rate_limited, other responses ≥ 400 as errors', async () => {
    clock.set(Date.parse('2026-11-23T08:00:00Z')); // the start of a minute window
    const org = await createOrg(t.app);
    const key = await createKey(t.app, org, ['read:suppliers'], 'live', { rateLimitPerMinute: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await t.call(key, 'GET', '/v1/suppliers')).statusCode);
    assert.deepEqual(statuses, [200, 200, 429, 429, 429]);
    clock.advance(60_000);
    await expectStatus(t.call(key, 'GET', MISSING_SUPPLIER), 404);
    await expectStatus(t.call(key, 'POST', '/v1/suppliers', { name: 'A', country: 'DE' }), 403);
    assert.deepEqual(todayOf(await usage(org.adminKey)), today(7, 2, 3), 'before a flush');
    await flush();
    assert.deepEqual(await stored(org.orgId), [row('live', 8, 2, 3)], 'the read above included');
  });

  test('only the caller’s org and mode: other orgs and the other mode never appear', async () => {
    const orgA = await createOrg(t.app);
    const orgB = await createOrg(t.app);
    const testAdminA = await createKey(t.app, orgA, ['admin'], 'test');
    const liveA = await createKey(t.app, orgA, ['read:suppliers']);
    const testA = await createKey(t.app, orgA, ['read:suppliers'], 'test');
    const liveB = await createKey(t.app, orgB, ['read:suppliers']);
    for (let i = 0; i < 2; i++) await expectStatus(t.call(liveA, 'GET', '/v1/suppliers'), 200);
    for (let i = 0; i < 3; i++) await expectStatus(t.call(testA, 'GET', MISSING_SUPPLIER), 404);
    for (let i = 0; i < 5; i++) await expectStatus(t.call(liveB, 'GET', '/v1/suppliers'), 200);
    // Org A's owner in the dashboard, switched to test mode: test traffic.
    const owner = await signIn(orgA.email, orgA.password);
    await expectStatus(owner('GET', '/v1/suppliers', { mode: 'test' }), 200);
    await flush();

    const live = await usage(orgA.adminKey);
    assert.equal(live.mode, 'live');
    assert.deepEqual(todayOf(live), today(2));
    const sandbox = await usage(testAdminA);
    assert.equal(sandbox.mode, 'test');
    assert.deepEqual(todayOf(sandbox), today(4, 3));
    const sessionView = await owner('GET', '/v1/usage?days=1', { mode: 'test' });
    assert.equal(sessionView.statusCode, 200, sessionView.body);
    assert.deepEqual(todayOf(sessionView.json<OrgUsage>()), today(5, 3), 'after the test key’s read');
    assert.deepEqual(todayOf(await usage(orgB.adminKey)), today(5));

    await flush();
    assert.deepEqual(await stored(orgA.orgId), [row('live', 3), row('test', 6, 3)]);
    assert.deepEqual(await stored(orgB.orgId), [row('live', 6)]);
  });

  test('days are UTC days, oldest first, today last, quiet days as zeros; 30 by default', async () => {
    clock.set(Date.parse('2026-11-25T23:59:00Z'));
    const org = await createOrg(t.app);
    const key = await createKey(t.app, org, ['read:suppliers']);
    await expectStatus(t.call(key, 'GET', '/v1/suppliers'), 200);
    await expectStatus(t.call(key, 'GET', '/v1/suppliers'), 200);
    clock.set(Date.parse('2026-11-27T00:00:30Z'));
    await expectStatus(t.call(key, 'GET', MISSING_SUPPLIER), 404);
    await flush();
    const expected = [
      { date: '2026-11-24', requests: 0, errors: 0, rate_limited: 0 },
      { date: '2026-11-25', requests: 2, errors: 0, rate_limited: 0 },
      { date: '2026-11-26', requests: 0, errors: 0, rate_limited: 0 },
      { date: '2026-11-27', requests: 1, errors: 1, rate_limited: 0 },
    ];
    assert.deepEqual((await usage(org.adminKey, 4)).data, expected);
    const month = (await usage(org.adminKey, 30)).data;
    assert.equal(month.length, 30);
    assert.equal(month[0]?.date, '2026-10-29');
    assert.equal(month[29]?.date, '2026-11-27');
    const byDefault = await t.call(org.adminKey, 'GET', '/v1/usage');
    assert.equal(byDefault.json<OrgUsage>().data.length, 30, 'the default is 30 days');
    assert.equal((await usage(org.adminKey, 90)).data.length, 90);
  });

  test('days outside 1..90, or an unknown parameter, is a 400 naming it', async () => {
    const org = await createOrg(t.app);
    for (const days of ['0', '91', 'x', '-1', '1.5', '']) {
      assertProblem(
        await t.call(org.adminKey, 'GET', `/v1/usage?days=${days}`),
        400,
        'validation_failed',
        'query/days',
      );
    }
    assertProblem(
      await t.call(org.adminKey, 'GET', '/v1/usage?mode=test'),
      400,
      'validation_failed',
      'query/mode',
    );
  });

  describe('who may read it', () => {
    test('owner and admin sessions may; a member session and a key without admin get 403', async () => {
      const org = await createOrg(t.app);
      const owner = await signIn(org.email, org.password);
      const ownerView = await owner('GET', '/v1/usage');
      assert.equal(ownerView.statusCode, 200, ownerView.body);
      assert.equal(ownerView.json<OrgUsage>().mode, 'live');
      const admin = await createMember(t, org, 'admin');
      assert.equal((await (await signIn(admin.email, admin.password))('GET', '/v1/usage')).statusCode, 200);

      const member = await createMember(t, org, 'member');
      const denied = await (await signIn(member.email, member.password))('GET', '/v1/usage');
      assert.equal(assertProblem(denied, 403, 'insufficient_scope').required_scope, 'admin');
      const reader = await createKey(t.app, org, ['read:*', 'write:*']);
      assertProblem(await t.call(reader, 'GET', '/v1/usage'), 403, 'insufficient_scope');
      assertProblem(await t.inject({ method: 'GET', url: '/v1/usage' }), 401, 'missing_credential');
    });
  });

  describe('rate limits', () => {
    /** `"minute";r=599;t=42, "day";r=49871;t=51230` → {minute: {r, t}, day: {r, t}}. */
    const fields = (header: unknown, names: string[]) => {
      const out: Record<string, Record<string, number>> = {};
      for (const item of String(header).split(', ')) {
        const [name, ...params] = item.split(';');
        out[JSON.parse(name as string) as string] = Object.fromEntries(
          params.map((p) => [p.split('=')[0], Number(p.split('=')[1])]),
        );
      }
      assert.deepEqual(Object.keys(out), names);
      return out;
    };

    test('`current` is this request’s standing, exactly as its headers give it, counted once', async () => {
      clock.set(Date.parse('2026-11-28T10:00:20Z'));
      const org = await createOrg(t.app, 'free');
      const first = await t.call(org.adminKey, 'GET', '/v1/usage?days=1');
      const second = await t.call(org.adminKey, 'GET', '/v1/usage?days=1');
      for (const [res, used] of [
        [first, 1],
        [second, 2],
      ] as const) {
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json<OrgUsage>();
        const now = clock.now() / 1000;
        assert.deepEqual(body.rate_limits, { per_minute: 60, per_day: 1000 });
        assert.deepEqual(body.current, {
          minute: { limit: 60, remaining: 60 - used, reset: '2026-11-28T10:01:00Z' },
          day: { limit: 1000, remaining: 1000 - used, reset: '2026-11-29T00:00:00Z' },
        });
        const policy = fields(res.headers['ratelimit-policy'], ['minute', 'day']);
        const state = fields(res.headers.ratelimit, ['minute', 'day']);
        for (const name of ['minute', 'day'] as const) {
          const window = body.current[name];
          assert.equal(window.limit, policy[name]?.q);
          assert.equal(window.remaining, state[name]?.r);
          assert.equal(Date.parse(window.reset) / 1000, now + (state[name]?.t ?? Number.NaN));
        }
        // The minute has fewer requests left: it is the window the X-RateLimit-* headers describe.
        assert.equal(res.headers['x-ratelimit-limit'], String(body.current.minute.limit));
        assert.equal(res.headers['x-ratelimit-remaining'], String(body.current.minute.remaining));
        assert.equal(Number(res.headers['x-ratelimit-reset']) * 1000, Date.parse(body.current.minute.reset));
      }
      const organization = await t.call(org.adminKey, 'GET', '/v1/organization');
      assert.deepEqual(organization.json<{ rate_limits: unknown }>().rate_limits, {
        per_minute: 60,
        per_day: 1000,
      });
    });

    test('a test-mode credential sees the test budget; a key’s own limit does not change the org’s windows', async () => {
      clock.set(Date.parse('2026-11-28T11:00:00Z'));
      const org = await createOrg(t.app);
      const testAdmin = await createKey(t.app, org, ['admin'], 'test');
      const limited = await createKey(t.app, org, ['admin'], 'live', { rateLimitPerMinute: 5 });
      await expectStatus(t.call(org.adminKey, 'GET', '/v1/suppliers'), 200);
      const sandbox = await usage(testAdmin);
      assert.equal(sandbox.current.minute.remaining, 599, 'test mode has its own budget');
      const res = await t.call(limited, 'GET', '/v1/usage?days=1');
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<OrgUsage>();
      assert.deepEqual(body.current.minute, { limit: 600, remaining: 598, reset: '2026-11-28T11:01:00Z' });
      assert.deepEqual(body.rate_limits, { per_minute: 600, per_day: 50_000 });
      // The headers describe the key's own window, the tightest; `current` is the organization's.
      assert.equal(res.headers['x-ratelimit-limit'], '5');
      assert.equal(fields(res.headers.ratelimit, ['minute', 'day', 'key-minute']).minute?.r, 598);
    });
  });
});
