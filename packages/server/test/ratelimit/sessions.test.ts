/**
 * Dashboard sessions have their own rate-limit budget (ratelimit/hook.ts, docs/rate-limits.md): a person
 * clicking through the dashboard uses none of the organization's API budget, each session is limited on its
 * own (600 a minute, both modes together) with headers describing that budget and a 429 past it, and API
 * keys keep the org's windows exactly as before. Through the real HTTP app, on every engine, with a manual
 * clock.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newId } from '@cohera/shared';
import type { LightMyRequestResponse } from 'fastify';
import { SESSION_COOKIE } from '../../src/auth/sessions/store.ts';
import { ManualClock } from '../../src/clock.ts';
import { SESSION_RATE_LIMIT_PER_MINUTE } from '../../src/ratelimit/hook.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

const MISSING = `/v1/suppliers/${newId('supplier')}`;

function header(res: LightMyRequestResponse, name: string): string {
  const value = res.headers[name];
  assert.equal(typeof value, 'string', `${name} missing (status ${res.statusCode}): ${res.body}`);
  return value as string;
}

const remaining = (res: LightMyRequestResponse) => Number(header(res, 'x-ratelimit-remaining'));

forEachEngine('dashboard sessions’ own rate-limit budget', (_engine, handle) => {
  let t: TestApp;
  const clock = new ManualClock();
  before(async () => {
    t = await startTestApp(handle(), { clock });
  });
  after(() => t.close());

  type AsUser = (
    method: 'GET' | 'POST',
    url: string,
    mode?: 'live' | 'test',
  ) => Promise<LightMyRequestResponse>;

  async function signIn(org: TestOrg): Promise<AsUser> {
    const res = await t.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: org.email, password: org.password },
    });
    assert.equal(res.statusCode, 200, res.body);
    const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE);
    assert.ok(cookie);
    return (method, url, mode) =>
      t.inject({
        method,
        url,
        headers: { cookie: `${SESSION_COOKIE}=${cookie.value}`, ...(mode ? { 'cohera-mode': mode } : {}) },
      });
  }

  test('a session’s calls use none of the org’s API budget; its headers describe its own', async () => {
    clock.set(Date.parse('2026-11-22T12:30:00Z'));
    const org = await createOrg(t.app, 'free');
    const asUser = await signIn(org);
    // A walk through the dashboard: more than half the free tier's minute, were it counted there.
    for (let i = 0; i < 40; i++) {
      const res = await asUser('GET', '/v1/organization', i % 2 === 0 ? 'live' : 'test');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(header(res, 'x-ratelimit-limit'), String(SESSION_RATE_LIMIT_PER_MINUTE));
      assert.equal(remaining(res), SESSION_RATE_LIMIT_PER_MINUTE - 1 - i, 'one budget across both modes');
      assert.equal(
        header(res, 'ratelimit-policy'),
        `"session-minute";q=${SESSION_RATE_LIMIT_PER_MINUTE};w=60`,
      );
      assert.equal(header(res, 'x-ratelimit-reset'), String(Date.parse('2026-11-22T12:31:00Z') / 1000));
    }
    const api = await t.call(org.adminKey, 'GET', MISSING);
    assert.equal(api.statusCode, 404);
    assert.equal(header(api, 'ratelimit-policy'), '"minute";q=60;w=60, "day";q=1000;w=86400');
    assert.equal(header(api, 'ratelimit'), '"minute";r=59;t=60, "day";r=999;t=41400');

    // The usage page, read by the session, shows the org's windows as they stand, not counting itself.
    const usage = await asUser('GET', '/v1/usage?days=1');
    assert.equal(usage.statusCode, 200, usage.body);
    const current = usage.json<{ current: { minute: { limit: number; remaining: number } } }>().current;
    assert.deepEqual(current.minute, { limit: 60, remaining: 59, reset: '2026-11-22T12:31:00Z' });
  });

  test('a session is refused past its own limit, with Retry-After; keys and other sessions carry on', async () => {
    const start = Date.parse('2026-11-22T13:00:15Z');
    clock.set(start);
    const org = await createOrg(t.app, 'free');
    const asUser = await signIn(org);
    const other = await signIn(org);
    for (let i = 0; i < SESSION_RATE_LIMIT_PER_MINUTE; i++) {
      const res = await asUser('GET', MISSING);
      assert.equal(res.statusCode, 404, `request ${i + 1}: ${res.body}`);
    }
    const refused = await asUser('GET', MISSING);
    assert.equal(refused.statusCode, 429, refused.body);
    assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
    const problem = refused.json<{ code: string; detail: string }>();
    assert.equal(problem.code, 'rate_limited');
    assert.match(problem.detail, /dashboard session/);
    assert.equal(header(refused, 'retry-after'), '45');
    assert.equal(remaining(refused), 0);
    assert.equal(header(refused, 'x-ratelimit-limit'), String(SESSION_RATE_LIMIT_PER_MINUTE));
    // Test mode shares the session's budget: switching modes is not a way around it.
    assert.equal((await asUser('GET', MISSING, 'test')).statusCode, 429);

    // The org's API budget is untouched, and another session of the same person has its own.
    const api = await t.call(org.adminKey, 'GET', MISSING);
    assert.equal(api.statusCode, 404);
    assert.equal(header(api, 'x-ratelimit-limit'), '60');
    assert.equal(remaining(api), 59);
    const second = await other('GET', MISSING);
    assert.equal(second.statusCode, 404);
    assert.equal(remaining(second), SESSION_RATE_LIMIT_PER_MINUTE - 1);

    // The next clock minute gives the session its budget back.
    clock.set(start + 45_000);
    const fresh = await asUser('GET', MISSING);
    assert.equal(fresh.statusCode, 404);
    assert.equal(remaining(fresh), SESSION_RATE_LIMIT_PER_MINUTE - 1);
  });

  test('API keys keep the org’s budget: sixty a minute on the free tier whatever the sessions do', async () => {
    clock.set(Date.parse('2026-11-22T14:00:00Z'));
    const org = await createOrg(t.app, 'free');
    const asUser = await signIn(org);
    for (let i = 0; i < 60; i++) {
      assert.equal((await t.call(org.adminKey, 'GET', MISSING)).statusCode, 404);
      assert.equal((await asUser('GET', MISSING)).statusCode, 404);
    }
    const refused = await t.call(org.adminKey, 'GET', MISSING);
    assert.equal(refused.statusCode, 429);
    assert.equal(header(refused, 'x-ratelimit-limit'), '60');
    // The session is still well within its own budget.
    const res = await asUser('GET', MISSING);
    assert.equal(res.statusCode, 404);
    assert.equal(remaining(res), SESSION_RATE_LIMIT_PER_MINUTE - 61);
  });
});
