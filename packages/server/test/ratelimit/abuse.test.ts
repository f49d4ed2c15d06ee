/**
 * Abuse protection (DESIGN §5.2): failed authentication is limited per client IP, and sign-in per IP and
 * per account, so keys and passwords cannot be guessed at speed. The client IP is the socket peer unless
 * `COHERA_TRUST_PROXY` says to believe `X-Forwarded-For`. The limits here are small on purpose (tests
 * relax them by default, see RELAXED_ABUSE_LIMITS); the clock is manual.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generateApiKey } from '@cohera/shared';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import type { AbuseLimits } from '../../src/ratelimit/abuse.ts';
import { createOrg, startTestApp, type TestApp } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

const LIMITS: AbuseLimits = {
  authFailuresPerMinute: 5,
  loginFailuresPerIpPerMinute: 4,
  loginFailuresPerAccountPer15Minutes: 3,
};

function assertRateLimited(res: LightMyRequestResponse, retryAfter: number): void {
  assert.equal(res.statusCode, 429, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  assert.equal(res.json<{ code: string }>().code, 'rate_limited');
  assert.equal(res.headers['retry-after'], String(retryAfter));
}

/** Seconds from `now` to the end of its aligned window of `windowSeconds`, rounded up. */
const toWindowEnd = (now: number, windowSeconds: number) => {
  const ms = windowSeconds * 1000;
  return Math.ceil(((Math.floor(now / ms) + 1) * ms - now) / 1000);
};

forEachEngine('abuse protection', (_engine, handle) => {
  let t: TestApp;
  let proxied: TestApp;
  const clock = new ManualClock();
  before(async () => {
    t = await startTestApp(handle(), { clock, abuseLimits: LIMITS });
    proxied = await startTestApp(handle(), {
      clock,
      abuseLimits: LIMITS,
      env: { COHERA_TRUST_PROXY: 'true' },
    });
  });
  after(async () => {
    await t.close();
    await proxied.close();
  });

  const get = (app: TestApp, key: string | null, ip: string, forwardedFor?: string) =>
    app.inject({
      method: 'GET',
      url: '/v1/suppliers',
      remoteAddress: ip,
      headers: {
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
        ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
      },
    });

  const login = (email: string, password: string, ip: string) =>
    t.inject({ method: 'POST', url: '/auth/login', remoteAddress: ip, payload: { email, password } });

  test('5 failed authentications from an IP → the 6th request is 429, even with a valid key; then back', async () => {
    const start = Date.parse('2026-11-22T10:00:17.250Z');
    clock.set(start);
    const org = await createOrg(t.app);
    const ip = '198.51.100.7';

    // A request without a credential is not a failed guess: it never counts.
    for (let i = 0; i < 10; i++) assert.equal((await get(t, null, ip)).statusCode, 401);
    assert.equal((await get(t, org.adminKey, ip)).statusCode, 200);

    for (let i = 0; i < 5; i++) {
      const res = await get(t, generateApiKey('live'), ip);
      assert.equal(res.statusCode, 401, `failure ${i + 1}: ${res.body}`);
      assert.equal(res.json<{ code: string }>().code, 'invalid_credential');
    }
    assertRateLimited(await get(t, org.adminKey, ip), toWindowEnd(start, 60));
    assertRateLimited(await get(t, generateApiKey('live'), ip), toWindowEnd(start, 60));
    // Only that IP is blocked.
    assert.equal((await get(t, org.adminKey, '198.51.100.8')).statusCode, 200);

    clock.set(start + 30_000);
    assertRateLimited(await get(t, org.adminKey, ip), toWindowEnd(start + 30_000, 60));

    // The window is over: the IP is welcome again, and its count starts from zero.
    clock.set((Math.floor(start / 60_000) + 1) * 60_000);
    assert.equal((await get(t, org.adminKey, ip)).statusCode, 200);
    for (let i = 0; i < 4; i++) assert.equal((await get(t, generateApiKey('live'), ip)).statusCode, 401);
    assert.equal((await get(t, org.adminKey, ip)).statusCode, 200);
  });

  test('sign-in: wrong passwords for one account past its limit → 429 even with the right password', async () => {
    const start = Date.parse('2026-11-22T11:05:00Z');
    clock.set(start);
    const org = await createOrg(t.app);
    const ip = '198.51.100.20';
    for (let i = 0; i < 3; i++) {
      const res = await login(org.email, `wrong password ${i}`, ip);
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.json<{ code: string }>().code, 'invalid_login');
    }
    // 15-minute window: 11:05 → 11:15.
    assertRateLimited(await login(org.email, org.password, ip), 600);
    // Per account: a different IP (and the same address in capitals) is refused too.
    assertRateLimited(await login(org.email.toUpperCase(), org.password, '198.51.100.21'), 600);

    clock.set(Date.parse('2026-11-22T11:15:00Z'));
    const res = await login(org.email, org.password, ip);
    assert.equal(res.statusCode, 200, res.body);
  });

  test('sign-in: failures from one IP across accounts past its limit → 429 for that IP only', async () => {
    const start = Date.parse('2026-11-22T12:00:45Z');
    clock.set(start);
    const org = await createOrg(t.app);
    const ip = '198.51.100.30';
    for (let i = 0; i < 4; i++) {
      const res = await login(`nobody${i}@example.com`, 'guess', ip);
      assert.equal(res.statusCode, 401, res.body);
    }
    assertRateLimited(await login(org.email, org.password, ip), toWindowEnd(start, 60));
    // The account itself is fine: from another IP it signs in.
    assert.equal((await login(org.email, org.password, '198.51.100.31')).statusCode, 200);

    clock.set(Date.parse('2026-11-22T12:01:00Z'));
    assert.equal((await login(org.email, org.password, ip)).statusCode, 200);
  });

  test('COHERA_TRUST_PROXY=true: X-Forwarded-For decides the client IP; by default it is ignored', async () => {
    clock.set(Date.parse('2026-11-22T13:00:10Z'));
    const socket = '192.0.2.50';

    const trusted = await createOrg(proxied.app);
    for (let i = 0; i < 5; i++) {
      assert.equal((await get(proxied, generateApiKey('live'), socket, '203.0.113.1')).statusCode, 401);
    }
    assert.equal((await get(proxied, trusted.adminKey, socket, '203.0.113.1')).statusCode, 429);
    // Same socket, another forwarded client: counted separately, not blocked.
    assert.equal((await get(proxied, trusted.adminKey, socket, '203.0.113.2')).statusCode, 200);
    assert.equal((await get(proxied, generateApiKey('live'), socket, '203.0.113.2')).statusCode, 401);

    // Default: the header is the client's say-so, and rotating it does not escape the count.
    const org = await createOrg(t.app);
    const forged = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4', '203.0.113.5'];
    for (const forwarded of forged) {
      assert.equal((await get(t, generateApiKey('live'), socket, forwarded)).statusCode, 401);
    }
    assert.equal((await get(t, org.adminKey, socket, '203.0.113.6')).statusCode, 429);
    assert.equal((await get(t, org.adminKey, '192.0.2.51', '203.0.113.1')).statusCode, 200);
  });
});
