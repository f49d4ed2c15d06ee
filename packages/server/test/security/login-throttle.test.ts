/**
 * Sign-in throttling under concurrency, and the bound on password hashing (issue 14).
 *
 * The attack: throttling used to PEEK the per-IP and per-account windows, hash, and count the failure only
 * afterwards, so every attempt that arrived while the hashes ran passed the check — 100 concurrent guesses
 * at one account were all verified (the right one succeeded), 500 unknown emails from one address ran 488
 * argon2 hashes. Now each attempt is reserved atomically before anything is hashed (in memory, and with one
 * Lua script on Redis across nodes), so at most the limit reaches argon2; and each node runs at most
 * COHERA_PASSWORD_HASH_CONCURRENCY hashes, with a bounded queue, so a flood cannot starve the API.
 *
 * argon2 runs are counted on the node's PasswordHasher (`started`); the production limits are used
 * (20 failed sign-ins per IP per minute, 10 per account per 15 minutes). Clocks are manual.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { ManualClock } from '../../src/clock.ts';
import { DEFAULT_ABUSE_LIMITS } from '../../src/ratelimit/abuse.ts';
import { RedisRateLimiter } from '../../src/ratelimit/redis-limiter.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { deleteKeysUnder, forEachEngine, REDIS_TEST_URL } from '../support/engines.ts';

const LIMITS = DEFAULT_ABUSE_LIMITS;
const ACCOUNT_LIMIT = LIMITS.loginFailuresPerAccountPer15Minutes;
const IP_LIMIT = LIMITS.loginFailuresPerIpPerMinute;
const REDIS_URL = REDIS_TEST_URL;
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

let ipCounter = 0;
/** A client address no other test in this file uses, so per-IP windows never mix between tests. */
const freshIp = () => {
  ipCounter++;
  return `198.51.${100 + Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
};

function login(t: TestApp, email: string, password: string, ip: string): Promise<LightMyRequestResponse> {
  return t.inject({ method: 'POST', url: '/auth/login', remoteAddress: ip, payload: { email, password } });
}

function statusCounts(responses: readonly LightMyRequestResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1;
  return counts;
}

/** argon2 operations the nodes started, summed. */
const hashesOf = (...nodes: TestApp[]) => nodes.reduce((n, t) => n + t.app.deps.passwords.started, 0);

/** Start of the next aligned window of `windowSeconds` after `ms`. */
const nextWindow = (ms: number, windowSeconds: number) =>
  (Math.floor(ms / (windowSeconds * 1000)) + 1) * windowSeconds * 1000;

async function until(what: string, predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 5_000 && !predicate(); i++) await sleep(2);
  assert.ok(predicate(), `never happened: ${what}`);
}

/**
 * The flood of the finding: 100 wrong passwords for one account from one IP at once, the right password
 * last, spread over `nodes`. At most the account limit is checked; the right password, past the limit, is
 * refused like the rest. Then, in the next 15-minute window, the right password works.
 */
async function accountFlood(nodes: TestApp[], clock: ManualClock): Promise<void> {
  const org = await createOrg(nodes[0]!.app);
  const ip = freshIp();
  const hashesBefore = hashesOf(...nodes);
  const passwords = Array.from({ length: 100 }, (_, i) => (i === 99 ? org.password : `wrong guess ${i}`));
  const responses = await Promise.all(
    passwords.map((password, i) => login(nodes[i % nodes.length]!, org.email, password, ip)),
  );
  assert.deepEqual(statusCounts(responses), { 401: ACCOUNT_LIMIT, 429: 100 - ACCOUNT_LIMIT });
  assert.equal(hashesOf(...nodes) - hashesBefore, ACCOUNT_LIMIT, 'argon2 ran past the account limit');
  const right = responses[99]!;
  assert.equal(right.statusCode, 429, `the right password inside the flood was accepted: ${right.body}`);
  assert.equal(right.headers['set-cookie'], undefined);
  for (const r of responses.filter((r) => r.statusCode === 429)) {
    assert.equal(r.json<{ code: string }>().code, 'rate_limited');
    assert.ok(Number(r.headers['retry-after']) >= 1, 'a 429 says when to come back');
  }

  clock.set(nextWindow(clock.now(), 900));
  const later = await login(nodes[nodes.length - 1]!, org.email, org.password, ip);
  assert.equal(later.statusCode, 200, later.body);
}

/** 500 unknown emails from one IP at once: at most the IP limit reaches argon2 (the dummy hash). */
async function unknownEmailFlood(nodes: TestApp[]): Promise<void> {
  const ip = freshIp();
  const tag = randomBytes(4).toString('hex');
  const hashesBefore = hashesOf(...nodes);
  const responses = await Promise.all(
    Array.from({ length: 500 }, (_, i) =>
      login(nodes[i % nodes.length]!, `nobody${i}.${tag}@example.com`, 'guess', ip),
    ),
  );
  assert.deepEqual(statusCounts(responses), { 401: IP_LIMIT, 429: 500 - IP_LIMIT });
  assert.equal(hashesOf(...nodes) - hashesBefore, IP_LIMIT, 'argon2 ran past the IP limit');
}

/**
 * What a success does: it gives back its own attempt (only failures use up the windows) and nothing more —
 * earlier failures stay counted, for the account and for the IP, so knowing one password (your own) does
 * not buy more guesses at other accounts.
 */
async function successGivesBackOnlyItself(nodes: TestApp[], clock: ManualClock): Promise<void> {
  const node = (i: number) => nodes[i % nodes.length]!;
  const victim = await createOrg(node(0).app);
  const ip = freshIp();
  for (let i = 0; i < ACCOUNT_LIMIT - 1; i++) {
    assert.equal((await login(node(i), victim.email, `wrong ${i}`, ip)).statusCode, 401);
  }
  // The owner signs in, many times: none of it uses the last failure left, none of it clears the others.
  for (let i = 0; i < 5; i++) {
    const ok = await login(node(i), victim.email, victim.password, ip);
    assert.equal(ok.statusCode, 200, ok.body);
  }
  assert.equal((await login(node(1), victim.email, 'wrong again', ip)).statusCode, 401);
  assert.equal((await login(node(0), victim.email, victim.password, ip)).statusCode, 429);

  // The IP's budget: an attacker with an account of their own spends the IP's failures on other accounts,
  // signing in to their own account in between. The successes give nothing back beyond themselves.
  const attacker: TestOrg = await createOrg(node(0).app);
  const guesser = freshIp();
  const tag = randomBytes(4).toString('hex');
  for (let i = 0; i < IP_LIMIT - 1; i++) {
    assert.equal((await login(node(i), `other${i}.${tag}@example.com`, 'guess', guesser)).statusCode, 401);
    if (i % 5 === 0) {
      assert.equal((await login(node(i + 1), attacker.email, attacker.password, guesser)).statusCode, 200);
    }
  }
  assert.equal((await login(node(0), `last.${tag}@example.com`, 'guess', guesser)).statusCode, 401);
  assert.equal((await login(node(1), `more.${tag}@example.com`, 'guess', guesser)).statusCode, 429);
  // Blocked for this minute, their own account included; in the next minute they are welcome again.
  assert.equal((await login(node(0), attacker.email, attacker.password, guesser)).statusCode, 429);
  clock.set(nextWindow(clock.now(), 60));
  assert.equal((await login(node(1), attacker.email, attacker.password, guesser)).statusCode, 200);
}

forEachEngine('sign-in throttling, in-memory limiter', (_engine, handle) => {
  const clock = new ManualClock(Date.parse('2026-11-22T11:05:10Z'));
  let t: TestApp;
  before(async () => {
    t = await startTestApp(handle(), { clock, abuseLimits: LIMITS });
  });
  after(() => t.close());

  test('100 concurrent wrong passwords for one account: only the account limit is checked', async () => {
    await accountFlood([t], clock);
  });

  test('500 concurrent unknown emails from one IP: only the IP limit reaches argon2', async () => {
    await unknownEmailFlood([t]);
  });

  test('a success gives back its own attempt, and never an earlier failure', async () => {
    await successGivesBackOnlyItself([t], clock);
  });
});

forEachEngine('sign-in throttling, Redis limiter on two nodes', (_engine, handle) => {
  const prefix = `cohera-test:${randomBytes(6).toString('hex')}:`;
  const env = { COHERA_REDIS_URL: REDIS_URL, COHERA_REDIS_PREFIX: prefix };
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  // Redis expires counters at absolute times computed from this clock, so it reads real time; set in
  // `before`, early in a real minute, so no counter can expire while a test runs.
  const clock = new ManualClock();
  let a: TestApp;
  let b: TestApp;
  const limiters = () => [a, b].map((node) => node.app.deps.limiter as RedisRateLimiter);

  before(async () => {
    if (Date.now() % 60_000 > 40_000) await sleep(60_000 - (Date.now() % 60_000) + 1_000);
    clock.set(Date.now());
    a = await startTestApp(handle(), { clock, env, abuseLimits: LIMITS });
    b = await startTestApp(handle(), { clock, env, abuseLimits: LIMITS });
    for (const limiter of limiters()) {
      assert.ok(limiter instanceof RedisRateLimiter);
      await until('the limiter is connected to Redis', () => !limiter.degraded);
    }
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await deleteKeysUnder(admin, prefix);
    admin.disconnect();
  });

  test('100 concurrent wrong passwords across two nodes: only the account limit is checked', async () => {
    await accountFlood([a, b], clock);
    for (const limiter of limiters()) assert.equal(limiter.fallbackDecisions, 0);
  });

  test('500 concurrent unknown emails across two nodes: only the IP limit reaches argon2', async () => {
    await unknownEmailFlood([a, b]);
    for (const limiter of limiters()) assert.equal(limiter.fallbackDecisions, 0);
  });

  test('a success gives back its own attempt on the shared count, and never an earlier failure', async () => {
    await successGivesBackOnlyItself([a, b], clock);
    for (const limiter of limiters()) assert.equal(limiter.fallbackDecisions, 0);
  });
});

forEachEngine('password hashing is bounded per node', (_engine, handle) => {
  let t: TestApp;
  let small: TestApp;
  let org: TestOrg;
  before(async () => {
    // Relaxed throttling (the test default): the flood comes from many addresses, each within its budget.
    t = await startTestApp(handle(), {
      env: {
        COHERA_PASSWORD_HASH_CONCURRENCY: '1',
        COHERA_PASSWORD_HASH_QUEUE: '200',
        COHERA_METRICS_TOKEN: METRICS_TOKEN,
      },
    });
    small = await startTestApp(handle(), {
      abuseLimits: LIMITS,
      env: { COHERA_PASSWORD_HASH_CONCURRENCY: '1', COHERA_PASSWORD_HASH_QUEUE: '2' },
    });
    org = await createOrg(t.app);
  });
  after(async () => {
    await t.close();
    await small.close();
  });

  test('a sign-in flood keeps one hash in flight, and API requests are answered meanwhile', async () => {
    const hasher = t.app.deps.passwords;
    const hashesBefore = hasher.started;
    const tag = randomBytes(4).toString('hex');
    const flood = Promise.all(
      Array.from({ length: 60 }, (_, i) => login(t, `flood${i}.${tag}@example.com`, 'guess', freshIp())),
    );
    await until('the flood queues behind the one slot', () => hasher.queued >= 40);

    const api = await t.call(org.adminKey, 'GET', '/v1/suppliers');
    assert.equal(api.statusCode, 200, api.body);
    // Answered while sign-ins were still waiting for the slot: the API did not queue behind them.
    assert.ok(hasher.queued > 0, 'the API request was answered only after the flood drained');

    const scrape = await t.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    assert.equal(scrape.statusCode, 200);
    assert.match(scrape.body, /^cohera_password_hashes_in_flight 1$/m);
    const depth = Number(/^cohera_password_hash_queue_depth (\d+)$/m.exec(scrape.body)?.[1]);
    assert.ok(depth > 0, scrape.body);

    const responses = await flood;
    assert.deepEqual(statusCounts(responses), { 401: 60 });
    assert.equal(hasher.started - hashesBefore, 60);
    assert.equal(hasher.peakInFlight, 1, 'more than one hash ran at once');
    assert.equal(hasher.inFlight, 0);
    assert.equal(hasher.queued, 0);
  });

  test('past the queue a sign-in is refused at once with 503 and Retry-After, and not counted', async () => {
    const victim = await createOrg(small.app);
    const ip = freshIp();
    const hashesBefore = small.app.deps.passwords.started;
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => login(small, victim.email, `wrong ${i}`, ip)),
    );
    const counts = statusCounts(responses);
    assert.equal((counts[401] ?? 0) + (counts[503] ?? 0), 8, JSON.stringify(counts));
    assert.ok((counts[503] ?? 0) >= 1, `one slot and a queue of 2 took all 8: ${JSON.stringify(counts)}`);
    assert.equal(small.app.deps.passwords.started - hashesBefore, counts[401]);
    for (const r of responses.filter((r) => r.statusCode === 503)) {
      assert.equal(r.json<{ code: string }>().code, 'service_unavailable');
      assert.equal(r.headers['retry-after'], '1');
    }
    assert.ok(small.app.deps.passwords.rejected >= (counts[503] ?? 0));

    // The refused attempts checked no password and were given back: the account still has exactly the
    // failures the flood did not use.
    let more = 0;
    while ((await login(small, victim.email, 'one more', ip)).statusCode === 401) more++;
    assert.equal((counts[401] ?? 0) + more, ACCOUNT_LIMIT);
  });
});
