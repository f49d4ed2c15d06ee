/**
 * A key's life on every engine: revocation takes effect at once even for a cached key, rolling keeps both
 * keys working for the grace period and then only the new one, expiry is checked on every request (cache
 * hits included), and `/health` answers who a credential is.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateApiKey } from '@cohera/shared';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { apiTimeOf, assertProblem } from '../support/problem.ts';

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  last4: string;
  scopes: string[];
  mode: 'live' | 'test';
  status: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  rolled_from: string | null;
  rate_limit_per_minute: number | null;
  key?: string;
}

const DAY = 86_400_000;
const INVALID_TOKEN = 'Bearer realm="cohera", error="invalid_token"';

/** A 401 for a bad credential: the code, and RFC 6750's challenge. */
function assertRejected(res: LightMyRequestResponse, code: string): void {
  assertProblem(res, 401, code);
  assert.equal(res.headers['www-authenticate'], INVALID_TOKEN);
}

forEachEngine('api keys: revoke, roll, expiry, /health', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  before(async () => {
    clock = new ManualClock();
    // A long positive TTL: a key once looked up stays cached for the whole suite unless something
    // invalidates it, so every "takes effect at once" below is a real test of invalidation or of the
    // per-request expiry check, not of the cache going stale.
    t = await startTestApp(handle(), { clock, apiKeyCache: { positiveTtlMs: 365 * DAY } });
    org = await createOrg(t.app);
  });
  after(() => t.close());

  const create = async (body: Record<string, unknown>, key = org.adminKey) => {
    const res = await t.call(key, 'POST', '/v1/api-keys', body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json<ApiKey>();
  };
  const get = async (id: string) => {
    const res = await t.call(org.adminKey, 'GET', `/v1/api-keys/${id}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<ApiKey>();
  };
  const roll = async (id: string, body?: Record<string, unknown>) => {
    const res = await t.call(org.adminKey, 'POST', `/v1/api-keys/${id}/roll`, body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json<ApiKey>();
  };
  /** Calls a route the key's scope allows; returns the response. */
  const use = (key: string) => t.call(key, 'GET', '/v1/suppliers');
  /** Uses a key twice and checks the second call was a cache hit. */
  async function useCached(key: string) {
    assert.equal((await use(key)).statusCode, 200);
    const hits = t.app.deps.apiKeys.hits;
    assert.equal((await use(key)).statusCode, 200);
    assert.equal(t.app.deps.apiKeys.hits, hits + 1, 'the second use is served from the cache');
  }

  describe('revoke', () => {
    test('a cached key is rejected on the very next request', async () => {
      const created = await create({ name: 'to revoke', scopes: ['read:suppliers'] });
      const key = created.key as string;
      await useCached(key);

      clock.advance(1000);
      const res = await t.call(org.adminKey, 'POST', `/v1/api-keys/${created.id}/revoke`);
      assert.equal(res.statusCode, 200, res.body);
      const revoked = res.json<ApiKey>();
      assert.equal(revoked.id, created.id);
      assert.equal(revoked.status, 'revoked');
      assert.equal(revoked.revoked_at, apiTimeOf(clock.now()));
      assert.equal('key' in revoked, false);

      assertRejected(await use(key), 'revoked_credential');
      assertRejected(await t.call(key, 'GET', '/health'), 'revoked_credential');
      assertRejected(await use(key), 'revoked_credential');
      assert.equal((await get(created.id)).status, 'revoked');
    });

    test('revoking twice answers 200 with the first revoked_at', async () => {
      const created = await create({ name: 'twice', scopes: ['read:suppliers'] });
      const first = await t.call(org.adminKey, 'POST', `/v1/api-keys/${created.id}/revoke`);
      assert.equal(first.statusCode, 200, first.body);
      clock.advance(60_000);
      const second = await t.call(org.adminKey, 'POST', `/v1/api-keys/${created.id}/revoke`);
      assert.equal(second.statusCode, 200, second.body);
      assert.notEqual(first.json<ApiKey>().revoked_at, null);
      assert.equal(second.json<ApiKey>().revoked_at, first.json<ApiKey>().revoked_at);
    });

    test('a revoked key cannot be rolled', async () => {
      const created = await create({ name: 'dead', scopes: ['read:suppliers'] });
      assert.equal((await t.call(org.adminKey, 'POST', `/v1/api-keys/${created.id}/revoke`)).statusCode, 200);
      assertProblem(
        await t.call(org.adminKey, 'POST', `/v1/api-keys/${created.id}/roll`, {}),
        409,
        'key_revoked',
      );
      const listed = (await t.call(org.adminKey, 'GET', '/v1/api-keys?limit=100')).json<{ data: ApiKey[] }>();
      assert.ok(!listed.data.some((k) => k.rolled_from === created.id), 'no new key was made');
    });

    test('unknown or malformed ids are 404', async () => {
      for (const id of [`key_${'0'.repeat(22)}`, 'key_x', 'sup_0000000000000000000000']) {
        assertProblem(await t.call(org.adminKey, 'POST', `/v1/api-keys/${id}/revoke`), 404, 'not_found');
      }
    });
  });

  describe('roll', () => {
    test('with a 2 s grace both keys work, then only the new one', async () => {
      const old = await create({
        name: 'rotating',
        scopes: ['read:suppliers', 'write:products'],
        expires_in_days: 90,
        rate_limit_per_minute: 30,
      });
      const oldKey = old.key as string;
      await useCached(oldKey);

      clock.advance(5 * DAY);
      const rolled = await roll(old.id, { grace_period_seconds: 2 });
      const newKey = rolled.key as string;
      assert.notEqual(newKey, oldKey);
      assert.ok(newKey.startsWith('ck_live_'));
      assert.equal(rolled.prefix, newKey.slice(0, 12));
      assert.equal(rolled.last4, newKey.slice(-4));
      assert.notEqual(rolled.id, old.id);
      assert.equal(rolled.rolled_from, old.id);
      assert.equal(rolled.name, old.name);
      assert.deepEqual(rolled.scopes, old.scopes);
      assert.equal(rolled.mode, old.mode);
      assert.equal(rolled.rate_limit_per_minute, 30);
      assert.equal(rolled.created_at, apiTimeOf(clock.now()));
      assert.equal(
        rolled.expires_at,
        apiTimeOf(clock.now() + 90 * DAY),
        'a 90-day key rolls into a 90-day key',
      );
      assert.equal((await get(old.id)).expires_at, apiTimeOf(clock.now() + 2000));

      assert.equal((await use(oldKey)).statusCode, 200, 'the old key works during the grace period');
      assert.equal((await use(newKey)).statusCode, 200);
      clock.advance(1999);
      assert.equal((await use(oldKey)).statusCode, 200, 'still inside the grace period');

      clock.advance(1001);
      assertRejected(await use(oldKey), 'expired_credential');
      assert.equal((await use(newKey)).statusCode, 200);
      assert.equal((await get(old.id)).status, 'expired');

      const health = await t.call(newKey, 'GET', '/health');
      assert.equal(health.statusCode, 200, health.body);
      assert.equal(health.json<{ auth: { id: string } }>().auth.id, rolled.id);
    });

    test('the default grace is 24 hours, with or without a body', async () => {
      for (const body of [undefined, {}]) {
        const old = await create({ name: 'default grace', scopes: ['read:suppliers'] });
        const oldKey = old.key as string;
        await useCached(oldKey);
        const rolled = await roll(old.id, body);
        assert.equal(rolled.expires_at, null, 'a key without expiry rolls into one without expiry');
        assert.equal((await get(old.id)).expires_at, apiTimeOf(clock.now() + 86_400_000));
        clock.advance(86_399_000);
        assert.equal((await use(oldKey)).statusCode, 200);
        clock.advance(1000);
        assertRejected(await use(oldKey), 'expired_credential');
        assert.equal((await use(rolled.key as string)).statusCode, 200);
      }
    });

    test('a grace of 0 ends the old key at once', async () => {
      const old = await create({ name: 'zero grace', scopes: ['read:suppliers'], expires_in_days: 30 });
      const oldKey = old.key as string;
      await useCached(oldKey);
      const rolled = await roll(old.id, { grace_period_seconds: 0 });
      assertRejected(await use(oldKey), 'expired_credential');
      assert.equal((await use(rolled.key as string)).statusCode, 200);
    });

    test('rolling never lengthens the old key’s life', async () => {
      const old = await create({
        name: 'short',
        scopes: ['read:suppliers'],
        expires_at: apiTimeOf(clock.now() + 3_600_000),
      });
      await roll(old.id); // default grace: 24 h, longer than the hour the key has left
      assert.equal((await get(old.id)).expires_at, old.expires_at);
    });

    test('a test key rolls into a test key', async () => {
      const old = await create({ name: 'sandbox', scopes: ['read:*'], mode: 'test' });
      const rolled = await roll(old.id, { grace_period_seconds: 60 });
      assert.equal(rolled.mode, 'test');
      assert.ok((rolled.key as string).startsWith('ck_test_'));
      const health = (await t.call(rolled.key as string, 'GET', '/health')).json<{
        auth: { mode: string };
      }>();
      assert.equal(health.auth.mode, 'test');
    });

    test('an invalid grace period is a 400 naming it, and rolls nothing', async () => {
      const old = await create({ name: 'bad grace', scopes: ['read:suppliers'] });
      for (const body of [
        { grace_period_seconds: -1 },
        { grace_period_seconds: 1.5 },
        { grace_period_seconds: '60' },
        { grace_period_seconds: 31 * 86_400 },
      ]) {
        assertProblem(
          await t.call(org.adminKey, 'POST', `/v1/api-keys/${old.id}/roll`, body),
          400,
          'validation_failed',
          'body/grace_period_seconds',
        );
      }
      assertProblem(
        await t.call(org.adminKey, 'POST', `/v1/api-keys/${old.id}/roll`, { grace: 5 }),
        400,
        'validation_failed',
        'body/grace',
      );
      assert.equal((await get(old.id)).expires_at, null);
      assert.equal((await use(old.key as string)).statusCode, 200);
    });
  });

  test('expiry is checked on every request, cache hits included', async () => {
    const created = await create({
      name: 'one minute',
      scopes: ['read:suppliers'],
      expires_at: apiTimeOf(clock.now() + 60_000),
    });
    const key = created.key as string;
    await useCached(key);
    clock.advance(59_000);
    assert.equal((await use(key)).statusCode, 200);

    clock.advance(61_000);
    const { hits, misses } = t.app.deps.apiKeys;
    assertRejected(await use(key), 'expired_credential');
    assert.equal(t.app.deps.apiKeys.hits, hits + 1, 'answered from the cache');
    assert.equal(t.app.deps.apiKeys.misses, misses, 'without a database lookup');
    assert.equal((await get(created.id)).status, 'expired');
  });

  describe('/health', () => {
    test('without a credential: status only', async () => {
      const res = await t.inject({ method: 'GET', url: '/health' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
    });

    test('with a key: who the key is', async () => {
      for (const mode of ['live', 'test'] as const) {
        const expiresAt = apiTimeOf(clock.now() + 7 * DAY);
        const created = await create({
          name: `health ${mode}`,
          scopes: ['read:certificates', 'write:suppliers'],
          mode,
          expires_at: expiresAt,
        });
        const res = await t.call(created.key as string, 'GET', '/health');
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json(), {
          status: 'ok',
          auth: {
            kind: 'api_key',
            id: created.id,
            org_id: org.orgId,
            mode,
            scopes: ['read:certificates', 'write:suppliers'],
            expires_at: expiresAt,
          },
        });
      }
      const admin = (await t.call(org.adminKey, 'GET', '/health')).json<{ auth: { expires_at: unknown } }>();
      assert.equal(admin.auth.expires_at, null);
    });

    test('with a bad credential: 401, never a plain ok', async () => {
      const valid = generateApiKey('live');
      const last = valid.at(-1) === 'A' ? 'B' : 'A';
      const cases: [string, string][] = [
        [`Bearer ${valid}`, 'invalid_credential'], // well formed, unknown
        [`Bearer ${valid.slice(0, -1)}${last}`, 'invalid_credential'], // bad checksum
        [`Bearer ${valid.slice(0, 20)}`, 'invalid_credential'], // truncated
        ['Bearer not-a-credential', 'invalid_credential'],
        ['Basic dXNlcjpwYXNz', 'invalid_credential'],
      ];
      for (const [authorization, code] of cases) {
        const res = await t.inject({ method: 'GET', url: '/health', headers: { authorization } });
        assertRejected(res, code);
      }
      // `Bearer` and nothing: no credential was presented (an empty variable), so no error code (RFC 6750 §3.1).
      const empty = await t.inject({ method: 'GET', url: '/health', headers: { authorization: 'Bearer' } });
      assertProblem(empty, 401, 'missing_credential');
      assert.equal(empty.headers['www-authenticate'], 'Bearer realm="cohera"');
    });
  });

  test('a protected route without a credential is 401 missing_credential', async () => {
    const res = await t.inject({ method: 'GET', url: '/v1/api-keys' });
    assertProblem(res, 401, 'missing_credential');
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="cohera"/);
  });
});
