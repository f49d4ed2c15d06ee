/**
 * `Idempotency-Key` on the API's POST routes (src/idempotency, docs/idempotency.md), on every engine:
 * replay without a second run, refusal of a key reused for another request, scoping to the credential and
 * the org, a concurrent duplicate, release on a server error, which answers are stored and which are not,
 * the header's shape, expiry and purge, and the sealed storage of responses that hold a secret.
 *
 * Two test-only routes stand in for handlers the product does not have: one that waits until the test lets
 * it finish (to hold a request in flight deterministically), one that fails with a 500 on demand.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateApiKey } from '@cohera/shared';
import type { LightMyRequestResponse } from 'fastify';
import { SESSION_COOKIE } from '../../src/auth/sessions/store.ts';
import { ManualClock } from '../../src/clock.ts';
import { idempotencyLeaseMs } from '../../src/idempotency/lease.ts';
import { IdempotencyStore, idempotencyBox } from '../../src/idempotency/repository.ts';
import { purgeIdempotencyKeys, startIdempotencyPurge } from '../../src/idempotency/retention.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';

const DAY_MS = 86_400_000;

/** The stored form of a key, derived here independently of the code under test. */
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

forEachEngine('idempotency keys', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;

  /** The held route: each run waits for `release` and counts itself. */
  let heldRuns = 0;
  let entered: PromiseWithResolvers<void> = Promise.withResolvers();
  let release: PromiseWithResolvers<void> = Promise.withResolvers();
  /** The failing route: throws while `failing` is set. */
  let failingRuns = 0;
  let failing = true;

  before(async () => {
    clock = new ManualClock();
    t = await startTestApp(handle(), {
      clock,
      beforeReady: (app) => {
        const access = { access: { scope: 'write:suppliers' as const } };
        app.post('/v1/test/held', { config: access }, async (_request, reply) => {
          const run = ++heldRuns;
          entered.resolve();
          await release.promise;
          return reply.code(201).send({ object: 'held', run });
        });
        app.post('/v1/test/failing', { config: access }, async () => {
          failingRuns++;
          if (failing) throw new Error('the handler failed');
          return { object: 'failing', run: failingRuns };
        });
      },
    });
    org = await createOrg(t.app);
  });
  after(() => t.close());

  function post(
    credential: string,
    url: string,
    body: unknown,
    idempotencyKey?: string,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return t.inject({
      method: 'POST',
      url,
      headers: {
        authorization: `Bearer ${credential}`,
        ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
        ...headers,
      },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
  }

  /** The stored rows of one key, whoever owns them. */
  const rowsOf = (idempotencyKey: string) =>
    t.app.deps.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('key_hash', '=', sha256(idempotencyKey))
      .execute();

  async function suppliersNamed(credential: string, name: string): Promise<string[]> {
    const response = await t.call(credential, 'GET', '/v1/suppliers?limit=100');
    assert.equal(response.statusCode, 200, response.body);
    return (response.json().data as { id: string; name: string }[])
      .filter((s) => s.name === name)
      .map((s) => s.id);
  }

  function assertReplayOf(replay: LightMyRequestResponse, first: LightMyRequestResponse): void {
    assert.equal(replay.statusCode, first.statusCode, replay.body);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.headers['content-type'], first.headers['content-type']);
    assert.equal(replay.body, first.body, 'the body is replayed byte for byte');
    // A replay is a request of its own: its own id, and the pipeline's rate-limit headers.
    assert.match(String(replay.headers['x-request-id']), /^req_/);
    assert.notEqual(replay.headers['x-request-id'], first.headers['x-request-id']);
    assert.ok(replay.headers['x-ratelimit-remaining'] !== undefined, 'rate-limit headers');
    assert.ok(replay.headers.ratelimit !== undefined, 'IETF rate-limit fields');
  }

  test('a retry gets the first answer replayed, and creates nothing more', async () => {
    const key = randomUUID();
    const body = { name: 'Replay GmbH', country: 'DE' };
    const first = await post(org.adminKey, '/v1/suppliers', body, key);
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    const replay = await post(org.adminKey, '/v1/suppliers', body, key);
    assertReplayOf(replay, first);
    assert.deepEqual(await suppliersNamed(org.adminKey, 'Replay GmbH'), [first.json().id]);
  });

  /** A replay of an answer that held a shown-once secret (security/idempotent-secrets.test.ts has the rest). */
  function assertSecretWithheld(replay: LightMyRequestResponse, first: LightMyRequestResponse): void {
    assert.equal(replay.statusCode, 409, replay.body);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.json().code, 'secret_already_shown');
    assert.equal(replay.json().result.id, first.json().id);
    assert.ok(!replay.body.includes(first.json().key), 'the key is shown once');
  }

  test('a replayed API key creation makes one key and audits one creation, and withholds the key', async () => {
    const key = randomUUID();
    const body = { name: 'replayed ci key', scopes: ['read:suppliers'] };
    const first = await post(org.adminKey, '/v1/api-keys', body, key);
    assert.equal(first.statusCode, 201, first.body);
    const replay = await post(org.adminKey, '/v1/api-keys', body, key);
    assertSecretWithheld(replay, first);

    const listed = await t.call(org.adminKey, 'GET', '/v1/api-keys?limit=100');
    const named = (listed.json().data as { id: string; name: string }[]).filter((k) => k.name === body.name);
    assert.deepEqual(
      named.map((k) => k.id),
      [first.json().id],
    );
    const events = await t.app.deps.db
      .selectFrom('audit_events')
      .select('id')
      .where('org_id', '=', org.orgId)
      .where('action', '=', 'api_key.created')
      .where('target_id', '=', first.json().id)
      .execute();
    assert.equal(events.length, 1, 'one api_key.created event');
  });

  test('a stored answer is sealed and holds no secret; the key is stored only as its hash', async () => {
    const key = `order-${randomUUID()}`;
    const created = await post(org.adminKey, '/v1/api-keys', { name: 'sealed', scopes: ['read:*'] }, key);
    assert.equal(created.statusCode, 201, created.body);
    const secret = created.json().key as string;
    const rows = await rowsOf(key);
    assert.equal(rows.length, 1);
    const row = rows[0];
    assert.ok(row);
    // Stored as the `secret_already_shown` problem that stands for an answer holding a secret.
    assert.equal(row.status_code, 409);
    assert.match(String(row.content_type), /^application\/problem\+json/);
    assert.match(String(row.response_body), /^v1\./, 'sealed by the SecretBox');
    for (const [column, value] of Object.entries(row)) {
      const text = String(value);
      assert.ok(!text.includes(secret), `the API key is in idempotency_keys.${column}`);
      assert.ok(!text.includes(secret.slice(8)), `the API key's body is in idempotency_keys.${column}`);
      assert.ok(!text.includes(key), `the idempotency key is in idempotency_keys.${column}`);
      assert.ok(!text.includes(created.json().id), `the response is readable in ${column}`);
    }
    // Sealed for its own row: moved into another credential's row, it does not open there.
    const other = await createKey(t.app, org, ['admin']);
    const otherRow = await post(other, '/v1/suppliers', { name: 'Swap target', country: 'NL' }, key);
    assert.equal(otherRow.statusCode, 201, otherRow.body);
    await t.app.deps.db
      .updateTable('idempotency_keys')
      .set({ response_body: row.response_body, status_code: 201 })
      .where('key_hash', '=', sha256(key))
      .where('actor_id', '!=', row.actor_id)
      .execute();
    const swapped = await post(other, '/v1/suppliers', { name: 'Swap target', country: 'NL' }, key);
    assertProblem(swapped, 500, 'internal_error');
    assert.ok(!swapped.body.includes(secret));
  });

  test('a POST without a body (roll) replays too, and rolls once', async () => {
    const created = await post(org.adminKey, '/v1/api-keys', { name: 'to roll', scopes: ['read:*'] });
    assert.equal(created.statusCode, 201, created.body);
    const key = randomUUID();
    const url = `/v1/api-keys/${created.json().id}/roll`;
    const rolled = await post(org.adminKey, url, undefined, key);
    assert.equal(rolled.statusCode, 201, rolled.body);
    const replay = await post(org.adminKey, url, undefined, key);
    assertSecretWithheld(replay, rolled);
    // An empty JSON object is other bytes than no body at all: another request.
    assertProblem(await post(org.adminKey, url, {}, key), 422, 'idempotency_key_reused');
    const rolls = await t.app.deps.db
      .selectFrom('api_keys')
      .select('id')
      .where('org_id', '=', org.orgId)
      .where('rolled_from_id', '=', created.json().id)
      .execute();
    assert.deepEqual(
      rolls.map((r) => r.id),
      [rolled.json().id],
    );
  });

  test('the same key for another body or URL is refused with 422 idempotency_key_reused', async () => {
    const key = randomUUID();
    const first = await post(org.adminKey, '/v1/suppliers', { name: 'Reuse AB', country: 'SE' }, key);
    assert.equal(first.statusCode, 201, first.body);
    const otherBody = await post(org.adminKey, '/v1/suppliers', { name: 'Reuse AB', country: 'NO' }, key);
    assertProblem(otherBody, 422, 'idempotency_key_reused');
    assert.equal(otherBody.headers['idempotent-replayed'], undefined);
    // The same JSON with other bytes is another request too: the fingerprint is over the raw body.
    const reordered = await t.inject({
      method: 'POST',
      url: '/v1/suppliers',
      headers: {
        authorization: `Bearer ${org.adminKey}`,
        'idempotency-key': key,
        'content-type': 'application/json',
      },
      payload: '{"country":"SE","name":"Reuse AB"}',
    });
    assertProblem(reordered, 422, 'idempotency_key_reused');
    assertProblem(
      await post(org.adminKey, '/v1/suppliers?x=1', { name: 'Reuse AB', country: 'SE' }, key),
      422,
      'idempotency_key_reused',
    );
    assertProblem(
      await post(org.adminKey, '/v1/products', { name: 'Reuse AB', country: 'SE' }, key),
      422,
      'idempotency_key_reused',
    );
    assert.deepEqual(await suppliersNamed(org.adminKey, 'Reuse AB'), [first.json().id]);
    // The original request still replays.
    assertReplayOf(
      await post(org.adminKey, '/v1/suppliers', { name: 'Reuse AB', country: 'SE' }, key),
      first,
    );
  });

  test('another API key of the same org, and another org, use the same key independently', async () => {
    const key = randomUUID();
    const body = { name: 'Shared Key Oy', country: 'FI' };
    const first = await post(org.adminKey, '/v1/suppliers', body, key);
    assert.equal(first.statusCode, 201, first.body);

    const colleague = await createKey(t.app, org, ['write:suppliers']);
    const second = await post(colleague, '/v1/suppliers', body, key);
    assert.equal(second.statusCode, 201, second.body);
    assert.equal(second.headers['idempotent-replayed'], undefined);
    assert.notEqual(second.json().id, first.json().id);

    const stranger = await createOrg(t.app);
    const third = await post(stranger.adminKey, '/v1/suppliers', body, key);
    assert.equal(third.statusCode, 201, third.body);
    assert.equal(third.headers['idempotent-replayed'], undefined);

    // A test-mode key of the same org: another mode, another key.
    const tester = await createKey(t.app, org, ['write:suppliers'], 'test');
    const fourth = await post(tester, '/v1/suppliers', body, key);
    assert.equal(fourth.statusCode, 201, fourth.body);
    assert.equal(fourth.headers['idempotent-replayed'], undefined);

    assert.equal((await suppliersNamed(org.adminKey, body.name)).length, 2);
    assert.equal((await suppliersNamed(stranger.adminKey, body.name)).length, 1);
    assert.equal((await rowsOf(key)).length, 4);
    // Each still replays its own answer.
    assertReplayOf(await post(colleague, '/v1/suppliers', body, key), second);
  });

  test("a dashboard session's keys are its own, apart from the user's API keys", async () => {
    const login = await t.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: org.email, password: org.password },
    });
    assert.equal(login.statusCode, 200, login.body);
    const cookie = login.cookies.find((c) => c.name === SESSION_COOKIE);
    assert.ok(cookie);
    const session = { cookie: `${SESSION_COOKIE}=${cookie.value}`, 'x-csrf-token': login.json().csrf_token };
    const key = randomUUID();
    const body = { name: 'Session Sp. z o.o.', country: 'PL' };
    const viaSession = (headers: Record<string, string>) =>
      t.inject({
        method: 'POST',
        url: '/v1/suppliers',
        headers: { ...headers, 'idempotency-key': key },
        payload: body,
      });

    const first = await viaSession(session);
    assert.equal(first.statusCode, 201, first.body);
    assertReplayOf(await viaSession(session), first);
    // A CSRF failure is the pipeline's 403: never stored, so it did not take the key from the session.
    assertProblem(await viaSession({ cookie: session.cookie, 'x-csrf-token': 'forged' }), 403, 'csrf_failed');
    // The org owner's API key is another credential.
    const viaKey = await post(org.adminKey, '/v1/suppliers', body, key);
    assert.equal(viaKey.statusCode, 201);
    assert.equal(viaKey.headers['idempotent-replayed'], undefined);
    assert.equal((await suppliersNamed(org.adminKey, body.name)).length, 2);
  });

  test('a request in flight makes a duplicate wait: 409 idempotency_key_in_use with Retry-After: 1', async () => {
    const key = randomUUID();
    entered = Promise.withResolvers();
    release = Promise.withResolvers();
    const runsBefore = heldRuns;
    const first = post(org.adminKey, '/v1/test/held', { n: 1 }, key);
    await entered.promise; // the first request holds the key and is inside its handler

    const duplicate = await post(org.adminKey, '/v1/test/held', { n: 1 }, key);
    assertProblem(duplicate, 409, 'idempotency_key_in_use');
    assert.equal(duplicate.headers['retry-after'], '1');
    // Another request with the key is refused as such even while the first runs.
    assertProblem(await post(org.adminKey, '/v1/test/held', { n: 2 }, key), 422, 'idempotency_key_reused');

    release.resolve();
    const done = await first;
    assert.equal(done.statusCode, 201, done.body);
    assertReplayOf(await post(org.adminKey, '/v1/test/held', { n: 1 }, key), done);
    assert.equal(heldRuns, runsBefore + 1, 'the handler ran once');
  });

  test('a claim never settled is taken over after its lease by exactly one retry, whose answer stands', async () => {
    const key = randomUUID();
    const leaseMs = idempotencyLeaseMs(t.config.clientLimits.requestTimeoutMs);
    entered = Promise.withResolvers();
    release = Promise.withResolvers();
    const runsBefore = heldRuns;
    // The first request holds the key and does not settle it (as if its database went away mid-request).
    const first = post(org.adminKey, '/v1/test/held', { n: 1 }, key);
    await entered.promise;
    clock.advance(leaseMs - 1);
    assertProblem(await post(org.adminKey, '/v1/test/held', { n: 1 }, key), 409, 'idempotency_key_in_use');

    clock.advance(1);
    entered = Promise.withResolvers();
    // Two retries at once: one takes the claim over and runs; the other finds the new claim in progress.
    const retries = [
      post(org.adminKey, '/v1/test/held', { n: 1 }, key),
      post(org.adminKey, '/v1/test/held', { n: 1 }, key),
    ];
    await entered.promise;
    assertProblem(await Promise.race(retries), 409, 'idempotency_key_in_use');
    // Another request with the key is still refused as such.
    assertProblem(await post(org.adminKey, '/v1/test/held', { n: 2 }, key), 422, 'idempotency_key_reused');

    release.resolve();
    const [outlived, ...settled] = await Promise.all([first, ...retries]);
    assert.equal(outlived?.statusCode, 201, outlived?.body);
    const winner = settled.find((r) => r.statusCode === 201);
    assert.ok(winner, settled.map((r) => `${r.statusCode} ${r.body}`).join('\n'));
    assert.equal(winner.json().run, runsBefore + 2);
    // The first request finished after losing its claim: its answer was not stored over the winner's.
    assertReplayOf(await post(org.adminKey, '/v1/test/held', { n: 1 }, key), winner);
    assert.equal(heldRuns, runsBefore + 2, 'the first run and one retry');
    const [row] = await rowsOf(key);
    assert.equal(row?.status_code, 201);
  });

  test('store: a pre-0015 claim (no token) is taken over once; a lost claim can neither complete nor release', async () => {
    const leaseMs = 60_000;
    const store = new IdempotencyStore(t.app.deps.db, idempotencyBox(t.config.masterKey), leaseMs);
    const record = {
      orgId: org.orgId,
      mode: 'live' as const,
      actorKind: 'test',
      actorId: randomUUID(),
      keyHash: sha256(randomUUID()),
    };
    const now = clock.now();
    // A row as a node before migration 0015 left it: in progress, no token.
    await t.app.deps.db
      .insertInto('idempotency_keys')
      .values({
        org_id: record.orgId,
        mode: record.mode,
        actor_kind: record.actorKind,
        actor_id: record.actorId,
        key_hash: record.keyHash,
        fingerprint: 'f',
        claim_token: null,
        claimed_at: null,
        created_at: new Date(now - leaseMs).toISOString(),
        expires_at: new Date(now + DAY_MS).toISOString(),
        status_code: null,
        content_type: null,
        response_body: null,
      })
      .execute();
    assert.deepEqual(await store.claim(record, 'other', now), { outcome: 'mismatch' });
    const claims = await Promise.all([store.claim(record, 'f', now), store.claim(record, 'f', now)]);
    const won = claims.filter((c) => c.outcome === 'claimed');
    assert.equal(won.length, 1, JSON.stringify(claims));
    assert.ok(claims.some((c) => c.outcome === 'in_progress'));
    const first = won[0];
    assert.ok(first?.outcome === 'claimed' && first.takenOver);

    // Its lease runs out too; a retry takes over, and the first holder's settle changes nothing.
    const later = now + leaseMs;
    const second = await store.claim(record, 'f', later);
    assert.ok(second.outcome === 'claimed' && second.takenOver);
    await store.release({ ...record, claimToken: first.claimToken });
    const answer = { statusCode: 201, contentType: 'application/json', body: '{"run":1}' };
    assert.equal(await store.complete({ ...record, claimToken: first.claimToken }, answer), false);
    assert.equal(
      await store.complete({ ...record, claimToken: second.claimToken }, { ...answer, body: '{"run":2}' }),
      true,
    );
    assert.deepEqual(await store.claim(record, 'f', later + leaseMs), {
      outcome: 'completed',
      response: { ...answer, body: '{"run":2}' },
    });
  });

  test('two identical requests at once create exactly one object', async () => {
    const key = randomUUID();
    const body = { name: 'Concurrent S.A.', country: 'ES' };
    const responses = await Promise.all([
      post(org.adminKey, '/v1/suppliers', body, key),
      post(org.adminKey, '/v1/suppliers', body, key),
    ]);
    const created = responses.filter((r) => r.statusCode === 201 && !r.headers['idempotent-replayed']);
    assert.equal(created.length, 1, responses.map((r) => `${r.statusCode} ${r.body}`).join('\n'));
    const [winner] = created;
    const other = responses.find((r) => r !== winner);
    assert.ok(winner && other);
    if (other.statusCode === 409) assertProblem(other, 409, 'idempotency_key_in_use');
    else assertReplayOf(other, winner);
    assert.deepEqual(await suppliersNamed(org.adminKey, body.name), [winner.json().id]);
  });

  test('a server error releases the key, so a retry runs again', async () => {
    const key = randomUUID();
    failing = true;
    const runsBefore = failingRuns;
    const failed = await post(org.adminKey, '/v1/test/failing', { n: 1 }, key);
    assertProblem(failed, 500, 'internal_error');
    assert.deepEqual(await rowsOf(key), [], 'no row is left behind');

    failing = false;
    const retried = await post(org.adminKey, '/v1/test/failing', { n: 1 }, key);
    assert.equal(retried.statusCode, 200, retried.body);
    assert.equal(retried.headers['idempotent-replayed'], undefined);
    assertReplayOf(await post(org.adminKey, '/v1/test/failing', { n: 1 }, key), retried);
    assert.equal(failingRuns, runsBefore + 2, 'the failed run and the retry; not the replay');
  });

  test('a 400 of a claimed request is stored and replayed; a corrected body needs a new key', async () => {
    const key = randomUUID();
    // Schema validation (after the claim) …
    const bad = { name: 'Invalid Ltd', country: 'Germany' };
    const first = await post(org.adminKey, '/v1/suppliers', bad, key);
    assertProblem(first, 400, 'validation_failed', 'body/country');
    const replay = await post(org.adminKey, '/v1/suppliers', bad, key);
    assertReplayOf(replay, first);
    assert.equal(replay.json().request_id, first.headers['x-request-id'], 'the original problem, as it was');
    assertProblem(
      await post(org.adminKey, '/v1/suppliers', { name: 'Invalid Ltd', country: 'GB' }, key),
      422,
      'idempotency_key_reused',
    );
    // … and the handler's own checks.
    const other = randomUUID();
    const unassigned = await post(
      org.adminKey,
      '/v1/suppliers',
      { name: 'Invalid Ltd', country: 'ZZ' },
      other,
    );
    assertProblem(unassigned, 400, 'validation_failed', 'body/country');
    assertReplayOf(
      await post(org.adminKey, '/v1/suppliers', { name: 'Invalid Ltd', country: 'ZZ' }, other),
      unassigned,
    );
    assert.deepEqual(await suppliersNamed(org.adminKey, 'Invalid Ltd'), []);
  });

  describe('answers that are never stored', () => {
    test('401: no principal to store it for', async () => {
      const key = randomUUID();
      const unknown = generateApiKey('live');
      assertProblem(
        await post(unknown, '/v1/suppliers', { name: 'A', country: 'DE' }, key),
        401,
        'invalid_credential',
      );
      assertProblem(
        await t.inject({
          method: 'POST',
          url: '/v1/suppliers',
          headers: { 'idempotency-key': key },
          payload: {},
        }),
        401,
        'missing_credential',
      );
      assert.deepEqual(await rowsOf(key), []);
    });

    test('403: the pipeline’s scope check, and a handler’s refusal', async () => {
      const key = randomUUID();
      const reader = await createKey(t.app, org, ['read:suppliers']);
      assertProblem(
        await post(reader, '/v1/suppliers', { name: 'A', country: 'DE' }, key),
        403,
        'insufficient_scope',
      );
      assert.deepEqual(await rowsOf(key), []);
      // A test-mode admin key may not make live keys: refused by the handler, after the claim; released.
      const tester = await createKey(t.app, org, ['admin'], 'test');
      const live = { name: 'live from test', scopes: ['read:*'], mode: 'live' };
      assertProblem(await post(tester, '/v1/api-keys', live, key), 403, 'forbidden');
      assert.deepEqual(await rowsOf(key), []);
    });

    test('429: replays are rate limited too; a refused request keeps its key free', async () => {
      const limited = await createKey(t.app, org, ['write:suppliers'], 'live', { rateLimitPerMinute: 1 });
      const stored = randomUUID();
      const body = { name: 'Limited NV', country: 'BE' };
      clock.advance(61_000); // a fresh minute: the key may make one request in it
      const first = await post(limited, '/v1/suppliers', body, stored);
      assert.equal(first.statusCode, 201, first.body);
      assertProblem(await post(limited, '/v1/suppliers', body, stored), 429, 'rate_limited');

      const refusedKey = randomUUID();
      const other = { name: 'Limited Two NV', country: 'BE' };
      assertProblem(await post(limited, '/v1/suppliers', other, refusedKey), 429, 'rate_limited');
      assert.deepEqual(await rowsOf(refusedKey), []);

      clock.advance(61_000);
      const retried = await post(limited, '/v1/suppliers', other, refusedKey);
      assert.equal(retried.statusCode, 201, retried.body);
      assert.equal(retried.headers['idempotent-replayed'], undefined);
      clock.advance(61_000);
      assertReplayOf(await post(limited, '/v1/suppliers', body, stored), first);
    });
  });

  test('the header must be 1–255 visible ASCII characters', async () => {
    const body = { name: 'Header BV', country: 'NL' };
    for (const value of ['', ' ', 'two words', 'x'.repeat(256), 'a,b, c', 'tab\there']) {
      const response = await post(org.adminKey, '/v1/suppliers', body, value);
      assertProblem(response, 400, 'validation_failed', 'header/idempotency-key');
    }
    assert.deepEqual(await suppliersNamed(org.adminKey, body.name), []);
    // Checked after authentication: a bad credential is told first.
    assertProblem(await post(generateApiKey('live'), '/v1/suppliers', body, ''), 401, 'invalid_credential');
    const longest = `~${'!'.repeat(253)}~`;
    assert.equal((await post(org.adminKey, '/v1/suppliers', body, longest)).statusCode, 201);
    assert.equal((await rowsOf(longest)).length, 1);
  });

  test('a POST without the header behaves as before: every request runs, nothing is stored', async () => {
    const body = { name: 'No Key SARL', country: 'FR' };
    const first = await post(org.adminKey, '/v1/suppliers', body);
    const second = await post(org.adminKey, '/v1/suppliers', body);
    for (const response of [first, second]) {
      assert.equal(response.statusCode, 201, response.body);
      assert.equal(response.headers['idempotent-replayed'], undefined);
    }
    assert.equal((await suppliersNamed(org.adminKey, body.name)).length, 2);
  });

  test('a key is forgotten 24 h after its first use, and purged', async () => {
    const key = randomUUID();
    const first = await post(org.adminKey, '/v1/suppliers', { name: 'Expiry ApS', country: 'DK' }, key);
    assert.equal(first.statusCode, 201, first.body);
    clock.advance(DAY_MS - 1000);
    assertReplayOf(
      await post(org.adminKey, '/v1/suppliers', { name: 'Expiry ApS', country: 'DK' }, key),
      first,
    );

    clock.advance(1000);
    // Expired: runs as new, with another body even.
    const again = await post(org.adminKey, '/v1/suppliers', { name: 'Expiry ApS', country: 'IS' }, key);
    assert.equal(again.statusCode, 201, again.body);
    assert.equal(again.headers['idempotent-replayed'], undefined);
    assert.notEqual(again.json().id, first.json().id);
    assert.equal((await rowsOf(key)).length, 1, 'the expired row was replaced');

    const fresh = randomUUID();
    assert.equal(
      (await post(org.adminKey, '/v1/suppliers', { name: 'Fresh', country: 'DK' }, fresh)).statusCode,
      201,
    );
    clock.advance(DAY_MS);
    const expired = await t.app.deps.db
      .selectFrom('idempotency_keys')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('expires_at', '<=', new Date(clock.now()).toISOString())
      .executeTakeFirstOrThrow();
    assert.ok(Number(expired.n) >= 2);
    assert.equal(await purgeIdempotencyKeys(t.app.deps.db, clock.now()), Number(expired.n));
    assert.deepEqual(await rowsOf(key), []);
    assert.deepEqual(await rowsOf(fresh), []);
    const left = await t.app.deps.db.selectFrom('idempotency_keys').select('expires_at').execute();
    assert.ok(
      left.every((row) => row.expires_at > new Date(clock.now()).toISOString()),
      'only expired rows go',
    );
  });

  test('the purge runs on its interval, and stopping it waits for a run in progress', async (ctx) => {
    ctx.mock.timers.enable({ apis: ['setInterval'] });
    const key = randomUUID();
    assert.equal(
      (await post(org.adminKey, '/v1/suppliers', { name: 'Purged', country: 'DK' }, key)).statusCode,
      201,
    );
    clock.advance(DAY_MS);
    const errors: unknown[] = [];
    const job = startIdempotencyPurge(
      t.app.deps.db,
      clock,
      { debug: () => {}, error: (e: unknown) => errors.push(e) },
      60_000,
    );
    assert.equal((await rowsOf(key)).length, 1, 'not before its first tick');
    ctx.mock.timers.tick(60_000);
    await job.stop();
    assert.deepEqual(await rowsOf(key), []);
    assert.deepEqual(errors, []);
  });

  test('/openapi.json documents the header on the POST routes that honour it', async () => {
    const document = (await t.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>;
    };
    const hasHeader = (path: string, method: string) =>
      (document.paths[path]?.[method]?.parameters ?? []).some(
        (p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key',
      );
    for (const path of ['/v1/suppliers', '/v1/api-keys', '/v1/api-keys/{id}/roll', '/v1/oauth/clients']) {
      assert.ok(hasHeader(path, 'post'), `POST ${path}`);
    }
    assert.ok(!hasHeader('/v1/suppliers', 'get'));
    assert.ok(!hasHeader('/v1/suppliers/{id}', 'patch'));
    assert.ok(!hasHeader('/auth/login', 'post'));
  });
});
