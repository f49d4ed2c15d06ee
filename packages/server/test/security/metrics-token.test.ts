/**
 * Guessing the `/metrics` bearer token (COHERA_METRICS_TOKEN) is throttled like guessing any credential
 * (issue 14): a wrong token is a failed authentication of the client IP, and past the limit the IP gets
 * 429 with Retry-After — the right token included — while other addresses are untouched. The token is
 * compared in constant time. The clock is manual; the limit is small on purpose.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import { metricsTokenMatches } from '../../src/metrics/registry.ts';
import type { AbuseLimits } from '../../src/ratelimit/abuse.ts';
import { RELAXED_ABUSE_LIMITS, startTestApp, type TestApp } from '../support/app.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
const LIMITS: AbuseLimits = { ...RELAXED_ABUSE_LIMITS, authFailuresPerMinute: 5 };

let handle: EngineHandle;
let t: TestApp;
const clock = new ManualClock(Date.parse('2026-11-22T10:00:17Z'));
before(async () => {
  handle = await prepareEngine('sqlite');
  t = await startTestApp(handle, { clock, abuseLimits: LIMITS, env: { COHERA_METRICS_TOKEN: TOKEN } });
});
after(async () => {
  await t.close();
  await handle.cleanup();
});

function scrape(ip: string, authorization?: string): Promise<LightMyRequestResponse> {
  return t.inject({
    method: 'GET',
    url: '/metrics',
    remoteAddress: ip,
    headers: authorization === undefined ? {} : { authorization },
  });
}

test('wrong /metrics tokens from one IP → 429 with Retry-After past the limit; other IPs unaffected', async () => {
  const ip = '203.0.113.10';
  for (let i = 0; i < LIMITS.authFailuresPerMinute; i++) {
    const res = await scrape(ip, `Bearer guess-${i}-0123456789abcdef`);
    assert.equal(res.statusCode, 404, `guess ${i + 1}: ${res.body}`);
    assert.equal(res.json<{ code: string }>().code, 'route_not_found');
  }
  // Blocked for the rest of the clock minute (10:00:17 → 10:01:00), the right token included.
  for (const authorization of ['Bearer another-guess-0123456789', `Bearer ${TOKEN}`]) {
    const res = await scrape(ip, authorization);
    assert.equal(res.statusCode, 429, res.body);
    assert.equal(res.json<{ code: string }>().code, 'rate_limited');
    assert.equal(res.headers['retry-after'], '43');
    assert.doesNotMatch(res.body, /cohera_/, 'a blocked IP must not get the metrics');
  }
  // The right token from another address still works.
  const other = await scrape('203.0.113.11', `Bearer ${TOKEN}`);
  assert.equal(other.statusCode, 200, other.body);
  assert.match(other.body, /^cohera_rate_limited_requests_total\{kind="abuse"\} [1-9]/m);

  // Once the minute is over, the address is welcome again.
  clock.set(Date.parse('2026-11-22T10:01:00Z'));
  assert.equal((await scrape(ip, `Bearer ${TOKEN}`)).statusCode, 200);
});

test('a request with no Authorization header is not a guess: it never counts', async () => {
  clock.set(Date.parse('2026-11-22T10:05:00Z'));
  const ip = '203.0.113.20';
  for (let i = 0; i < 3 * LIMITS.authFailuresPerMinute; i++) {
    assert.equal((await scrape(ip)).statusCode, 404);
  }
  assert.equal((await scrape(ip, `Bearer ${TOKEN}`)).statusCode, 200);
});

test('the token comparison takes any length and shape without throwing (both sides hashed first)', () => {
  assert.equal(metricsTokenMatches(TOKEN, `Bearer ${TOKEN}`), true);
  for (const header of [undefined, '', 'Bearer', 'Bearer ', `Bearer ${TOKEN}x`, `bearer ${TOKEN}`, TOKEN]) {
    assert.equal(metricsTokenMatches(TOKEN, header), false, String(header));
  }
  assert.equal(metricsTokenMatches(TOKEN, `Bearer ${'x'.repeat(10_000)}`), false);
});
