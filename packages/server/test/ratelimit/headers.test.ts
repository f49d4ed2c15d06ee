/**
 * The pure parts of rate limiting: window arithmetic (minutes aligned to the clock minute, days to
 * 00:00 UTC), the decision, which window the `X-RateLimit-*` headers describe, `Retry-After`, and the
 * IETF `RateLimit-Policy` / `RateLimit` fields (DESIGN §4).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  pushRateLimitHeaders,
  rateLimitHeaders,
  rateLimitPolicy,
  retryAfterSeconds,
  tightestWindow,
} from '../../src/ratelimit/headers.ts';
import {
  type Decision,
  decide,
  type WindowSpec,
  type WindowState,
  windowIndex,
  windowResetAt,
} from '../../src/ratelimit/limiter.ts';

const at = (iso: string) => Date.parse(iso);
const seconds = (iso: string) => Date.parse(iso) / 1000;

const MINUTE: WindowSpec = { key: 'o:m', name: 'minute', limit: 600, windowSeconds: 60 };
const DAY: WindowSpec = { key: 'o:d', name: 'day', limit: 50_000, windowSeconds: 86_400 };
const KEY_MINUTE: WindowSpec = { key: 'o:k:m', name: 'key-minute', limit: 5, windowSeconds: 60 };

function state(spec: WindowSpec, remaining: number, resetAt: number): WindowState {
  return { spec, used: spec.limit - remaining, remaining, resetAt };
}

describe('window arithmetic', () => {
  test('a minute window starts on the clock minute and resets at the next one', () => {
    for (const now of ['2026-11-22T09:45:00.000Z', '2026-11-22T09:45:18.400Z', '2026-11-22T09:45:59.999Z']) {
      assert.equal(windowResetAt(at(now), 60), seconds('2026-11-22T09:46:00Z'), now);
      assert.equal(windowIndex(at(now), 60), windowIndex(at('2026-11-22T09:45:00Z'), 60), now);
    }
    assert.equal(
      windowIndex(at('2026-11-22T09:46:00Z'), 60),
      windowIndex(at('2026-11-22T09:45:59.999Z'), 60) + 1,
    );
  });

  test('a day window starts at 00:00 UTC and resets at the next midnight UTC', () => {
    for (const now of ['2026-11-22T00:00:00.000Z', '2026-11-22T13:07:41.250Z', '2026-11-22T23:59:59.999Z']) {
      assert.equal(windowResetAt(at(now), 86_400), seconds('2026-11-23T00:00:00Z'), now);
    }
    assert.equal(
      windowIndex(at('2026-11-23T00:00:00Z'), 86_400),
      windowIndex(at('2026-11-22T23:59:59.999Z'), 86_400) + 1,
    );
    // 15-minute windows (sign-in throttling) align to :00, :15, :30 and :45.
    assert.equal(windowResetAt(at('2026-11-22T10:16:00Z'), 900), seconds('2026-11-22T10:30:00Z'));
  });

  test('decide: allowed only when every window has room; a rejection counts nothing anywhere', () => {
    const now = at('2026-11-22T09:45:18Z');
    const ok = decide([MINUTE, DAY], [599, 100], now, true);
    assert.equal(ok.allowed, true);
    assert.deepEqual(
      ok.windows.map((w) => [w.used, w.remaining]),
      [
        [600, 0],
        [101, 49_899],
      ],
    );

    const dayFull = decide([MINUTE, DAY], [3, 50_000], now, true);
    assert.equal(dayFull.allowed, false);
    // The minute window shows the count before the request: the rejected request took nothing from it.
    assert.deepEqual(
      dayFull.windows.map((w) => [w.used, w.remaining]),
      [
        [3, 597],
        [50_000, 0],
      ],
    );

    const peeked = decide([MINUTE, DAY], [3, 7], now, false);
    assert.equal(peeked.allowed, true);
    assert.deepEqual(
      peeked.windows.map((w) => w.used),
      [3, 7],
    );
    assert.deepEqual(
      ok.windows.map((w) => w.resetAt),
      [seconds('2026-11-22T09:46:00Z'), seconds('2026-11-23T00:00:00Z')],
    );
  });
});

describe('tightestWindow', () => {
  const minuteReset = seconds('2026-11-22T09:46:00Z');
  const dayReset = seconds('2026-11-23T00:00:00Z');

  test('picks the window with the fewest remaining, whatever the order', () => {
    const minute = state(MINUTE, 10, minuteReset);
    const day = state(DAY, 3, dayReset);
    assert.equal(tightestWindow([minute, day]), day);
    assert.equal(tightestWindow([day, minute]), day);
  });

  test('on a tie, picks the window that resets first, whatever the order', () => {
    const minute = state(MINUTE, 5, minuteReset);
    const day = state(DAY, 5, dayReset);
    assert.equal(tightestWindow([minute, day]), minute);
    assert.equal(tightestWindow([day, minute]), minute);
  });

  test('no windows, no choice', () => {
    assert.equal(tightestWindow([]), undefined);
  });
});

describe('retryAfterSeconds', () => {
  test('waits for the exhausted window only, rounded up to whole seconds', () => {
    const now = at('2026-11-22T09:45:18.400Z');
    const decision = decide([MINUTE, DAY], [600, 100], now, true);
    assert.equal(decision.allowed, false);
    assert.equal(retryAfterSeconds(decision, now), 42); // 41.6 s to 09:46:00
  });

  test('waits until every exhausted window has reset', () => {
    const now = at('2026-11-22T09:45:18.400Z');
    const decision = decide([MINUTE, DAY], [600, 50_000], now, true);
    // 14 h 14 min 41.6 s to midnight UTC, rounded up.
    assert.equal(retryAfterSeconds(decision, now), 14 * 3600 + 14 * 60 + 42);
    const keyOnly = decide([MINUTE, DAY, KEY_MINUTE], [4, 4, 5], now, true);
    assert.equal(keyOnly.allowed, false);
    assert.equal(retryAfterSeconds(keyOnly, now), 42);
  });

  test('is at least one second, even a millisecond before the reset', () => {
    const now = at('2026-11-22T09:45:59.999Z');
    const decision = decide([MINUTE], [600], now, true);
    assert.equal(retryAfterSeconds(decision, now), 1);
    const allowed: Decision = decide([MINUTE], [0], now, true);
    assert.equal(retryAfterSeconds(allowed, now), 1);
  });
});

describe('rateLimitHeaders', () => {
  test('the legacy headers describe the tightest window; the IETF fields describe every window', () => {
    const now = at('2026-11-22T09:45:18.400Z');
    const decision = decide([MINUTE, DAY], [0, 128], now, true);
    assert.deepEqual(rateLimitHeaders(decision, now), {
      'x-ratelimit-limit': '600',
      'x-ratelimit-remaining': '599',
      'x-ratelimit-reset': String(seconds('2026-11-22T09:46:00Z')),
      'ratelimit-policy': '"minute";q=600;w=60, "day";q=50000;w=86400',
      // t: 41.6 s and 14:14:41.6 to the resets, rounded up.
      ratelimit: `"minute";r=599;t=42, "day";r=49871;t=${14 * 3600 + 14 * 60 + 42}`,
    });
  });

  test('when the day is nearly spent, the legacy headers switch to the day window', () => {
    const now = at('2026-11-22T23:59:30Z');
    const decision = decide([MINUTE, DAY], [2, 49_990], now, true);
    const headers = rateLimitHeaders(decision, now);
    assert.equal(headers['x-ratelimit-limit'], '50000');
    assert.equal(headers['x-ratelimit-remaining'], '9');
    assert.equal(headers['x-ratelimit-reset'], String(seconds('2026-11-23T00:00:00Z')));
    assert.equal(headers.ratelimit, '"minute";r=597;t=30, "day";r=9;t=30');
  });

  test("a key's own limit appears as a third window and, once spent, drives the legacy headers", () => {
    const now = at('2026-11-22T09:45:18Z');
    const decision = decide([MINUTE, DAY, KEY_MINUTE], [4, 4, 5], now, true);
    const headers = rateLimitHeaders(decision, now);
    assert.equal(headers['x-ratelimit-limit'], '5');
    assert.equal(headers['x-ratelimit-remaining'], '0');
    assert.equal(
      headers['ratelimit-policy'],
      '"minute";q=600;w=60, "day";q=50000;w=86400, "key-minute";q=5;w=60',
    );
    assert.match(headers.ratelimit ?? '', /, "key-minute";r=0;t=42$/);
  });

  test('no windows, no headers', () => {
    assert.deepEqual(rateLimitHeaders({ allowed: true, windows: [] }, 0), {});
  });
});

describe('pushRateLimitHeaders (the request path)', () => {
  /** The name, value list as an object; a name appended twice would be lost, so that is checked too. */
  function asObject(pairs: string[]): Record<string, string> {
    assert.equal(pairs.length % 2, 0, 'names and values come in pairs');
    const out: Record<string, string> = {};
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i] as string;
      assert.ok(!(name in out), `${name} appended once`);
      out[name] = pairs[i + 1] as string;
    }
    return out;
  }

  test('appends each field once, after what the list held, with the policy it is given', () => {
    const cases: Array<[WindowSpec[], number[], string]> = [
      [[MINUTE, DAY], [0, 128], '2026-11-22T09:45:18.400Z'],
      [[MINUTE, DAY], [2, 49_990], '2026-11-22T23:59:30Z'],
      [[MINUTE, DAY, KEY_MINUTE], [4, 4, 5], '2026-11-22T09:45:18Z'],
      [[MINUTE, DAY], [600, 600], '2026-11-22T09:45:59.999Z'],
      [[MINUTE], [0], '2026-11-22T09:45:00Z'],
    ];
    for (const [windows, counts, iso] of cases) {
      const now = at(iso);
      const decision = decide(windows, counts, now, true);
      const pairs = ['x-request-id', 'req_1'];
      pushRateLimitHeaders(pairs, decision, now, rateLimitPolicy(windows));
      assert.deepEqual(asObject(pairs), { 'x-request-id': 'req_1', ...rateLimitHeaders(decision, now) }, iso);
      // The caller's policy text is written as given (the step keeps one per list of windows).
      const given: string[] = [];
      pushRateLimitHeaders(given, decision, now, '"kept";q=1;w=1');
      assert.equal(asObject(given)['ratelimit-policy'], '"kept";q=1;w=1');
    }
  });

  test('no windows, no headers', () => {
    const pairs: string[] = [];
    pushRateLimitHeaders(pairs, { allowed: true, windows: [] }, 0, '');
    assert.deepEqual(pairs, []);
  });
});
