/**
 * `POST /v1/api-keys` on every engine: the key is shown once and never again, its display parts, modes,
 * expiry inputs, validation that names the field, and the org's maximum key lifetime.
 */
import assert from 'node:assert/strict';
import { hash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { ManualClock } from '../../src/clock.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { apiTimeOf, assertProblem } from '../support/problem.ts';

interface ApiKey {
  id: string;
  object: string;
  name: string;
  prefix: string;
  last4: string;
  scopes: string[];
  mode: 'live' | 'test';
  status: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  rate_limit_per_minute: number | null;
  rolled_from: string | null;
  created_by: { kind: string; id: string };
  key?: string;
}

const DAY = 86_400_000;

/** DESIGN §3's checksum, computed here from zlib's CRC-32 rather than the product's own code. */
function expectedChecksum(random: string): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let n = crc32(random);
  let out = '';
  do {
    out = alphabet[n % 62] + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(6, '0');
}

function assertWellFormedKey(key: string, mode: 'live' | 'test') {
  assert.equal(key.length, 46);
  const match = /^ck_(live|test)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/.exec(key);
  assert.ok(match, `malformed key shape (length ${key.length})`);
  assert.equal(match[1], mode);
  assert.equal(match[3], expectedChecksum(match[2] as string), 'checksum is CRC-32 in base62');
}

forEachEngine('api keys: create', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  let bootstrapKeyId: string;
  before(async () => {
    clock = new ManualClock();
    t = await startTestApp(handle(), { clock });
    org = await createOrg(t.app);
    const health = await t.call(org.adminKey, 'GET', '/health');
    bootstrapKeyId = health.json<{ auth: { id: string } }>().auth.id;
  });
  after(() => t.close());

  const create = async (key: string, body: Record<string, unknown>) => {
    const res = await t.call(key, 'POST', '/v1/api-keys', body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json<ApiKey>();
  };
  const listAll = async (key: string) => {
    const res = await t.call(key, 'GET', '/v1/api-keys?limit=100');
    assert.equal(res.statusCode, 200, res.body);
    return res;
  };

  test('the key is returned once, well formed, and works', async () => {
    const created = await create(org.adminKey, {
      name: 'CI deploys',
      scopes: ['write:suppliers', 'read:certificates'],
    });
    const key = created.key as string;
    assertWellFormedKey(key, 'live');
    assert.match(created.id, /^key_[0-9A-Za-z]{22}$/);
    assert.equal(created.object, 'api_key');
    assert.equal(created.name, 'CI deploys');
    assert.equal(created.prefix, key.slice(0, 12));
    assert.equal(created.last4, key.slice(-4));
    assert.deepEqual(created.scopes, ['read:certificates', 'write:suppliers']);
    assert.equal(created.mode, 'live');
    assert.equal(created.status, 'active');
    assert.equal(created.created_at, apiTimeOf(clock.now()));
    assert.equal(created.expires_at, null);
    assert.equal(created.last_used_at, null);
    assert.equal(created.revoked_at, null);
    assert.equal(created.rolled_from, null);
    assert.deepEqual(created.created_by, { kind: 'api_key', id: bootstrapKeyId });

    // It authenticates as itself.
    const health = await t.call(key, 'GET', '/health');
    assert.equal(health.statusCode, 200, health.body);
    assert.equal(health.json<{ auth: { id: string } }>().auth.id, created.id);

    // Never shown again: not by get, not in the list, neither the key nor its hash.
    const { key: _shownOnce, ...rest } = created;
    const withoutKey = { ...rest, last_used_at: apiTimeOf(clock.now()) }; // the /health call above used it
    const got = await t.call(org.adminKey, 'GET', `/v1/api-keys/${created.id}`);
    assert.equal(got.statusCode, 200, got.body);
    assert.deepEqual(got.json(), withoutKey);
    const list = await listAll(org.adminKey);
    const listed = list.json<{ data: ApiKey[] }>().data;
    assert.deepEqual(
      listed.find((k) => k.id === created.id),
      withoutKey,
    );
    for (const body of [got.body, list.body]) {
      assert.ok(!body.includes(key), 'the key appears in a later response');
      assert.ok(!body.includes(key.slice(12, 42)), 'the secret part of the key appears in a later response');
      assert.ok(!body.includes(hash('sha256', key, 'hex')), 'the key hash appears in a response');
    }
    for (const item of [got.json<Record<string, unknown>>(), ...listed]) {
      assert.ok(!('key' in item), 'a key object carries `key`');
      assert.ok(!Object.keys(item).some((name) => name.includes('hash')), 'a key object carries a hash');
    }
  });

  test('mode defaults to the caller’s; test keys see only test keys and cannot mint live ones', async () => {
    const own = await createOrg(t.app);
    const live = await create(own.adminKey, { name: 'default mode', scopes: ['read:*'] });
    assert.equal(live.mode, 'live');
    assertWellFormedKey(live.key as string, 'live');

    const testAdmin = await create(own.adminKey, { name: 'sandbox admin', scopes: ['admin'], mode: 'test' });
    assert.equal(testAdmin.mode, 'test');
    assertWellFormedKey(testAdmin.key as string, 'test');
    assert.equal(testAdmin.prefix, (testAdmin.key as string).slice(0, 12));
    assert.ok(testAdmin.prefix.startsWith('ck_test_'));

    const sandboxKey = testAdmin.key as string;
    const fromTest = await create(sandboxKey, { name: 'sandbox reader', scopes: ['read:suppliers'] });
    assert.equal(fromTest.mode, 'test', 'a test-mode caller mints test keys by default');
    assertWellFormedKey(fromTest.key as string, 'test');
    assertProblem(
      await t.call(sandboxKey, 'POST', '/v1/api-keys', { name: 'escape', scopes: ['read:*'], mode: 'live' }),
      403,
      'forbidden',
    );

    const testList = (await listAll(sandboxKey)).json<{ data: ApiKey[] }>().data;
    assert.deepEqual(testList.map((k) => k.id).sort(), [testAdmin.id, fromTest.id].sort());
    assert.ok(testList.every((k) => k.mode === 'test'));
    for (const id of [live.id, bootstrapKeyId]) {
      assertProblem(await t.call(sandboxKey, 'GET', `/v1/api-keys/${id}`), 404, 'not_found');
    }
    // A live admin sees both modes, and may filter.
    const liveList = (await listAll(own.adminKey)).json<{ data: ApiKey[] }>().data;
    assert.equal(liveList.length, 4);
    const filtered = await t.call(own.adminKey, 'GET', '/v1/api-keys?mode=test');
    assert.deepEqual(
      filtered
        .json<{ data: ApiKey[] }>()
        .data.map((k) => k.id)
        .sort(),
      [testAdmin.id, fromTest.id].sort(),
    );
  });

  test('expiry: in days, as a date-time or as a plain date', async () => {
    const now = clock.now();
    const inDays = await create(org.adminKey, { name: 'd', scopes: ['read:*'], expires_in_days: 90 });
    assert.equal(inDays.expires_at, apiTimeOf(now + 90 * DAY));

    const at = apiTimeOf(now + 10 * DAY + 3_600_000);
    const atIso = await create(org.adminKey, { name: 'iso', scopes: ['read:*'], expires_at: at });
    assert.equal(atIso.expires_at, at);

    const day = new Date(now + 30 * DAY).toISOString().slice(0, 10);
    const atDate = await create(org.adminKey, { name: 'date', scopes: ['read:*'], expires_at: day });
    assert.equal(atDate.expires_at, `${day}T23:59:59Z`, 'a plain date means the end of that day');

    const offset = await create(org.adminKey, {
      name: 'offset',
      scopes: ['read:*'],
      expires_at: `${new Date(now + 5 * DAY).toISOString().slice(0, 10)}T12:00:00+02:00`,
    });
    assert.equal(offset.expires_at, `${new Date(now + 5 * DAY).toISOString().slice(0, 10)}T10:00:00Z`);
  });

  test('invalid input is a 400 naming the field, and creates nothing', async () => {
    const own = await createOrg(t.app);
    const valid = { name: 'ok', scopes: ['read:suppliers'] };
    const now = clock.now();
    const yesterday = new Date(now - DAY).toISOString().slice(0, 10);
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, expires_in_days: 30, expires_at: apiTimeOf(now + DAY) }, 'body/expires_at'],
      [{ ...valid, expires_at: apiTimeOf(now - 1000) }, 'body/expires_at'],
      [{ ...valid, expires_at: apiTimeOf(now) }, 'body/expires_at'],
      [{ ...valid, expires_at: yesterday }, 'body/expires_at'],
      [{ ...valid, expires_at: '2027-02-31' }, 'body/expires_at'],
      [{ ...valid, expires_at: 'next tuesday' }, 'body/expires_at'],
      [{ ...valid, expires_in_days: 0 }, 'body/expires_in_days'],
      [{ ...valid, expires_in_days: -5 }, 'body/expires_in_days'],
      [{ ...valid, expires_in_days: 1.5 }, 'body/expires_in_days'],
      [{ ...valid, scopes: ['read:everything'] }, 'body/scopes/0'],
      [{ ...valid, scopes: ['read:suppliers', 'superuser'] }, 'body/scopes/1'],
      [{ ...valid, scopes: [] }, 'body/scopes'],
      [{ ...valid, scopes: 'admin' }, 'body/scopes'],
      [{ ...valid, scopes: ['read:*', 'read:*'] }, 'body/scopes'],
      [{ ...valid, name: '' }, 'body/name'],
      [{ ...valid, name: 'x'.repeat(101) }, 'body/name'],
      [{ scopes: ['read:*'] }, 'body/name'],
      [{ name: 'no scopes' }, 'body/scopes'],
      [{ ...valid, mode: 'prod' }, 'body/mode'],
      [{ ...valid, key: 'ck_live_chosen_by_me' }, 'body/key'],
      [{ ...valid, owner: 'me' }, 'body/owner'],
    ];
    for (const [body, field] of cases) {
      assertProblem(
        await t.call(own.adminKey, 'POST', '/v1/api-keys', body),
        400,
        'validation_failed',
        field,
      );
    }
    const list = (await listAll(own.adminKey)).json<{ data: ApiKey[] }>().data;
    assert.equal(list.length, 1, 'only the bootstrap key exists');
  });

  describe('organization policy: maximum key lifetime', () => {
    let own: TestOrg;
    before(async () => {
      own = await createOrg(t.app);
    });

    test('only admin credentials change the policy; anyone with a key route scope reads it', async () => {
      const reader = await createKey(t.app, own, ['read:*']);
      const denied = await t.call(reader, 'PATCH', '/v1/organization', {
        policy: { max_key_lifetime_days: 30 },
      });
      assertProblem(denied, 403, 'insufficient_scope');
      assert.match(String(denied.headers['www-authenticate']), /error="insufficient_scope", scope="admin"/);
      const org = await t.call(own.adminKey, 'GET', '/v1/organization');
      assert.equal(org.statusCode, 200, org.body);
      assert.equal(
        org.json<{ policy: { max_key_lifetime_days: unknown } }>().policy.max_key_lifetime_days,
        null,
      );
      for (const body of [{ policy: { max_key_lifetime_days: 0 } }, { policy: { colour: 'red' } }, {}]) {
        assertProblem(
          await t.call(own.adminKey, 'PATCH', '/v1/organization', body),
          400,
          'validation_failed',
        );
      }
    });

    test('keys must expire within the maximum lifetime', async () => {
      const patched = await t.call(own.adminKey, 'PATCH', '/v1/organization', {
        policy: { max_key_lifetime_days: 30 },
      });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(
        patched.json<{ policy: { max_key_lifetime_days: number } }>().policy.max_key_lifetime_days,
        30,
      );
      const got = await t.call(own.adminKey, 'GET', '/v1/organization');
      assert.equal(
        got.json<{ policy: { max_key_lifetime_days: number } }>().policy.max_key_lifetime_days,
        30,
      );

      const now = clock.now();
      const base = { name: 'policy', scopes: ['read:*'] };
      assertProblem(
        await t.call(own.adminKey, 'POST', '/v1/api-keys', { ...base, expires_in_days: 90 }),
        400,
        'validation_failed',
        'body/expires_in_days',
      );
      assertProblem(
        await t.call(own.adminKey, 'POST', '/v1/api-keys', { ...base, expires_in_days: 31 }),
        400,
        'validation_failed',
        'body/expires_in_days',
      );
      assertProblem(
        await t.call(own.adminKey, 'POST', '/v1/api-keys', {
          ...base,
          expires_at: apiTimeOf(now + 90 * DAY),
        }),
        400,
        'validation_failed',
        'body/expires_at',
      );
      const noExpiry = assertProblem(
        await t.call(own.adminKey, 'POST', '/v1/api-keys', base),
        400,
        'validation_failed',
      );
      assert.ok(
        noExpiry.errors?.some((e) => e.field.startsWith('body/expires')),
        JSON.stringify(noExpiry),
      );

      const ten = await create(own.adminKey, { ...base, expires_in_days: 10 });
      assert.equal(ten.expires_at, apiTimeOf(now + 10 * DAY));
      const thirty = await create(own.adminKey, { ...base, expires_in_days: 30 });
      assert.equal(thirty.expires_at, apiTimeOf(now + 30 * DAY), 'exactly the maximum is allowed');

      // Lifting the policy (null) allows keys without expiry again.
      const lifted = await t.call(own.adminKey, 'PATCH', '/v1/organization', {
        policy: { max_key_lifetime_days: null },
      });
      assert.equal(lifted.statusCode, 200, lifted.body);
      assert.equal((await create(own.adminKey, base)).expires_at, null);
    });

    test('another org’s policy does not apply', async () => {
      const other = await createOrg(t.app);
      const res = await t.call(other.adminKey, 'PATCH', '/v1/organization', {
        policy: { max_key_lifetime_days: 7 },
      });
      assert.equal(res.statusCode, 200, res.body);
      const created = await create(own.adminKey, { name: 'free', scopes: ['read:*'], expires_in_days: 60 });
      assert.equal(created.expires_at, apiTimeOf(clock.now() + 60 * DAY));
    });
  });
});
