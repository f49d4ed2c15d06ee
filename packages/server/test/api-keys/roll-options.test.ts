/**
 * Rolling a key into narrower scopes or a new expiry, on every engine (the security report's "unused
 * scopes" and "set an expiration" actions): a roll keeps or narrows scopes by the scope rules and never
 * widens them; `expires_at`/`expires_in_days` follow `POST /v1/api-keys`'s rules, the org's maximum key
 * lifetime included; the audit event records what changed; nobody rolls a key holding more than they do.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import {
  createKey,
  createMember,
  createOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { apiTimeOf, assertProblem } from '../support/problem.ts';

interface ApiKey {
  id: string;
  scopes: string[];
  status: string;
  created_at: string;
  expires_at: string | null;
  rolled_from: string | null;
  key?: string;
}

const DAY = 86_400_000;

forEachEngine('api keys: roll into narrower scopes or a new expiry', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  before(async () => {
    clock = new ManualClock();
    t = await startTestApp(handle(), { clock });
    org = await createOrg(t.app);
  });
  after(() => t.close());

  const create = async (body: Record<string, unknown>, key = org.adminKey) => {
    const res = await t.call(key, 'POST', '/v1/api-keys', body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json<ApiKey>();
  };
  const get = async (id: string, key = org.adminKey) => {
    const res = await t.call(key, 'GET', `/v1/api-keys/${id}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<ApiKey>();
  };
  const rollRequest = (id: string, body: Record<string, unknown>, key = org.adminKey) =>
    t.call(key, 'POST', `/v1/api-keys/${id}/roll`, body);
  const roll = async (id: string, body: Record<string, unknown>, key = org.adminKey) => {
    const res = await rollRequest(id, body, key);
    assert.equal(res.statusCode, 201, res.body);
    return res.json<ApiKey>();
  };
  /** Nothing was rolled: no key names `id` as its origin, and `id` still has its expiry. */
  async function assertNotRolled(old: ApiKey, adminKey = org.adminKey) {
    const listed = await t.call(adminKey, 'GET', '/v1/api-keys?limit=100');
    const rolled = listed.json<{ data: ApiKey[] }>().data.filter((k) => k.rolled_from === old.id);
    assert.deepEqual(rolled, [], 'no new key was made');
    assert.equal((await get(old.id, adminKey)).expires_at, old.expires_at, 'the old key is untouched');
  }
  const rolledEvents = async (keyId: string, adminKey = org.adminKey) => {
    const res = await t.call(adminKey, 'GET', '/v1/audit-events?limit=100&action=api_key.rolled');
    assert.equal(res.statusCode, 200, res.body);
    return res
      .json<{ data: { target: { id: string }; metadata: Record<string, unknown> }[] }>()
      .data.filter((e) => e.target.id === keyId);
  };

  describe('scopes', () => {
    test('a roll narrows: the new key has only the subset; the old one keeps all until the grace ends', async () => {
      const old = await create({ name: 'too broad', scopes: ['read:suppliers', 'write:products'] });
      const rolled = await roll(old.id, { scopes: ['read:suppliers'], grace_period_seconds: 60 });
      assert.deepEqual(rolled.scopes, ['read:suppliers']);
      assert.equal(rolled.rolled_from, old.id);
      const newKey = rolled.key as string;
      const oldKey = old.key as string;
      assert.equal((await t.call(newKey, 'GET', '/v1/suppliers')).statusCode, 200);
      assertProblem(await t.call(newKey, 'GET', '/v1/products'), 403, 'insufficient_scope');

      assert.deepEqual((await get(old.id)).scopes, ['read:suppliers', 'write:products']);
      assert.equal((await t.call(oldKey, 'GET', '/v1/products')).statusCode, 200, 'during the grace');
      clock.advance(60_000);
      assertProblem(await t.call(oldKey, 'GET', '/v1/products'), 401, 'expired_credential');
      assert.equal((await t.call(newKey, 'GET', '/v1/suppliers')).statusCode, 200);
    });

    test('by the scope rules: admin covers everything, write covers read, a wildcard its resources', async () => {
      const admin = await create({ name: 'admin to narrow', scopes: ['admin'] });
      assert.deepEqual((await roll(admin.id, { scopes: ['read:*', 'write:suppliers'] })).scopes, [
        'write:suppliers',
        'read:*',
      ]);
      const writer = await create({ name: 'writer', scopes: ['write:certificates'] });
      assert.deepEqual((await roll(writer.id, { scopes: ['read:certificates'] })).scopes, [
        'read:certificates',
      ]);
      const reader = await create({ name: 'wildcard', scopes: ['read:*'] });
      assert.deepEqual((await roll(reader.id, { scopes: ['read:products', 'read:suppliers'] })).scopes, [
        'read:suppliers',
        'read:products',
      ]);
      const same = await create({ name: 'same', scopes: ['read:suppliers'] });
      assert.deepEqual((await roll(same.id, { scopes: ['read:suppliers'] })).scopes, ['read:suppliers']);
    });

    test('a roll never widens: a scope the old key does not cover is a 400 naming body/scopes', async () => {
      const old = await create({ name: 'narrow', scopes: ['read:suppliers', 'write:products'] });
      for (const scopes of [
        ['write:suppliers'],
        ['read:suppliers', 'read:certificates'],
        ['read:*'],
        ['write:*'],
        ['admin'],
      ]) {
        const problem = assertProblem(
          await rollRequest(old.id, { scopes }),
          400,
          'validation_failed',
          'body/scopes',
        );
        assert.match(problem.detail ?? '', /not widen/);
      }
      // Malformed lists are refused by the schema, as on create (an unknown scope names its position).
      const malformed: [unknown, string][] = [
        [[], 'body/scopes'],
        [['read:suppliers', 'read:suppliers'], 'body/scopes'],
        ['read:suppliers', 'body/scopes'],
        [['read:everything'], 'body/scopes/0'],
      ];
      for (const [scopes, field] of malformed) {
        assertProblem(await rollRequest(old.id, { scopes }), 400, 'validation_failed', field);
      }
      await assertNotRolled(old);
    });
  });

  describe('expiry', () => {
    test('expires_in_days and expires_at replace the inherited lifetime', async () => {
      const forever = await create({ name: 'no expiry', scopes: ['read:suppliers'] });
      const rolled = await roll(forever.id, { expires_in_days: 30, grace_period_seconds: 3600 });
      assert.equal(rolled.expires_at, apiTimeOf(clock.now() + 30 * DAY));
      assert.equal((await get(forever.id)).expires_at, apiTimeOf(clock.now() + 3_600_000));
      assert.deepEqual(rolled.scopes, ['read:suppliers'], 'scopes are the old key’s when not given');

      const long = await create({ name: '90 days', scopes: ['read:suppliers'], expires_in_days: 90 });
      assert.equal(
        (await roll(long.id, { expires_in_days: 7 })).expires_at,
        apiTimeOf(clock.now() + 7 * DAY),
      );

      // A plain date means the end of that day, as on create.
      const dated = await create({ name: 'dated', scopes: ['read:suppliers'] });
      assert.equal((await roll(dated.id, { expires_at: '2027-01-31' })).expires_at, '2027-01-31T23:59:59Z');

      const both = await create({ name: 'both changed', scopes: ['read:*'] });
      const narrowed = await roll(both.id, { scopes: ['read:suppliers'], expires_in_days: 14 });
      assert.deepEqual(narrowed.scopes, ['read:suppliers']);
      assert.equal(narrowed.expires_at, apiTimeOf(clock.now() + 14 * DAY));
    });

    test('a key given a date rolls into one that also ends at the end of a day, its lifetime in days', async () => {
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const dated = await create({
        name: 'until a date',
        scopes: ['read:suppliers'],
        expires_at: day(clock.now() + 14 * DAY),
      });
      assert.equal(dated.expires_at, `${day(clock.now() + 14 * DAY)}T23:59:59Z`);
      // Rolled a week (and two seconds) later: 14 calendar days from the roll's day, not 14 days and some
      // seconds, which used to land a moment into the next day.
      clock.advance(7 * DAY + 2000);
      const rolled = await roll(dated.id, {});
      assert.equal(rolled.expires_at, `${day(clock.now() + 14 * DAY)}T23:59:59Z`);

      // Under a maximum lifetime shorter than that: the last end of a day the policy still covers.
      const capped = await createOrg(t.app);
      const policy = await t.call(capped.adminKey, 'PATCH', '/v1/organization', {
        policy: { max_key_lifetime_days: 20 },
      });
      assert.equal(policy.statusCode, 200, policy.body);
      const long = await create(
        { name: 'until a later date', scopes: ['read:suppliers'], expires_at: day(clock.now() + 19 * DAY) },
        capped.adminKey,
      );
      clock.advance(3 * DAY);
      const limited = await roll(long.id, {}, capped.adminKey);
      const cap = clock.now() + 20 * DAY;
      assert.match(limited.expires_at ?? '', /T23:59:59Z$/);
      const ends = Date.parse(limited.expires_at ?? '');
      assert.ok(ends <= cap && ends > cap - DAY, `${limited.expires_at} is the last day end before the cap`);
    });

    test('the same rules and messages as create: one of the two, in the future, 1..3650 days', async () => {
      const old = await create({ name: 'bad expiry', scopes: ['read:suppliers'] });
      const cases: [Record<string, unknown>, string, RegExp | null][] = [
        [{ expires_at: '2027-01-31', expires_in_days: 30 }, 'body/expires_at', /not both/],
        [{ expires_at: apiTimeOf(clock.now() - 1000) }, 'body/expires_at', /in the future/],
        [{ expires_at: 'next week' }, 'body/expires_at', null],
        [{ expires_in_days: 0 }, 'body/expires_in_days', null],
        [{ expires_in_days: 3651 }, 'body/expires_in_days', null],
        [{ expires_in_days: null }, 'body/expires_in_days', null],
      ];
      for (const [body, field, detail] of cases) {
        const viaRoll = assertProblem(await rollRequest(old.id, body), 400, 'validation_failed', field);
        const viaCreate = assertProblem(
          await t.call(org.adminKey, 'POST', '/v1/api-keys', {
            name: 'x',
            scopes: ['read:suppliers'],
            ...body,
          }),
          400,
          'validation_failed',
          field,
        );
        assert.deepEqual(viaRoll.errors, viaCreate.errors, JSON.stringify(body));
        if (detail) assert.match(viaRoll.detail ?? '', detail);
      }
      await assertNotRolled(old);
    });

    test('the organization’s maximum key lifetime caps a roll’s new expiry exactly as it caps create', async () => {
      const capped = await createOrg(t.app);
      const old = await create({ name: 'before the policy', scopes: ['read:suppliers'] }, capped.adminKey);
      const policy = await t.call(capped.adminKey, 'PATCH', '/v1/organization', {
        policy: { max_key_lifetime_days: 30 },
      });
      assert.equal(policy.statusCode, 200, policy.body);
      const tooLong: [Record<string, unknown>, string][] = [
        [{ expires_in_days: 31 }, 'body/expires_in_days'],
        [{ expires_at: apiTimeOf(clock.now() + 31 * DAY) }, 'body/expires_at'],
      ];
      for (const [body, field] of tooLong) {
        const problem = assertProblem(
          await rollRequest(old.id, body, capped.adminKey),
          400,
          'validation_failed',
          field,
        );
        assert.match(problem.detail ?? '', /maximum key lifetime of 30 days/);
      }
      await assertNotRolled(old, capped.adminKey);
      const within = await roll(old.id, { expires_in_days: 30 }, capped.adminKey);
      assert.equal(within.expires_at, apiTimeOf(clock.now() + 30 * DAY));
      // Without expiry fields the inherited lifetime (none) is capped, as before.
      const inherited = await roll(within.id, { scopes: ['read:suppliers'] }, capped.adminKey);
      assert.equal(inherited.expires_at, apiTimeOf(clock.now() + 30 * DAY));
    });
  });

  test('the audit event records the new scopes and expiry when the roll changed them, never the key', async () => {
    const plain = await create({ name: 'plain roll', scopes: ['read:*'] });
    const rolledPlain = await roll(plain.id, { grace_period_seconds: 10 });
    const [plainEvent] = await rolledEvents(plain.id);
    assert.deepEqual(plainEvent?.metadata, {
      new_key_id: rolledPlain.id,
      grace_period_seconds: 10,
      prefix: (rolledPlain.key as string).slice(0, 12),
    });

    const unchanged = await create({ name: 'same scopes', scopes: ['read:*'] });
    await roll(unchanged.id, { scopes: ['read:*'] });
    const [unchangedEvent] = await rolledEvents(unchanged.id);
    assert.equal('scopes' in (unchangedEvent?.metadata ?? {}), false, 'scopes did not change');

    const changed = await create({ name: 'narrowed', scopes: ['read:*'] });
    const rolled = await roll(changed.id, { scopes: ['read:suppliers'], expires_in_days: 10 });
    const [event] = await rolledEvents(changed.id);
    assert.deepEqual(event?.metadata.scopes, ['read:suppliers']);
    assert.equal(event?.metadata.expires_at, new Date(clock.now() + 10 * DAY).toISOString());
    assert.equal(event?.metadata.new_key_id, rolled.id);
    assert.ok(!JSON.stringify(event).includes(rolled.key as string), 'never the key');
  });

  describe('who may roll', () => {
    /** A member's dashboard session: requests with its cookie and CSRF token. */
    async function memberSession(target: TestOrg) {
      const member = await createMember(t, target, 'member');
      const res = await t.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: member.email, password: member.password },
      });
      assert.equal(res.statusCode, 200, res.body);
      const cookie = res.cookies.find((c) => c.name === 'cohera_session');
      assert.ok(cookie);
      const csrf = res.json<{ csrf_token: string }>().csrf_token;
      const request = (method: InjectOptions['method'], url: string, body?: unknown) =>
        t.inject({
          method,
          url,
          cookies: { cohera_session: cookie.value },
          headers: { 'x-csrf-token': csrf },
          ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }),
        }) as Promise<LightMyRequestResponse>;
      return { userId: member.userId, request };
    }

    test('a member narrows their own key, but never rolls into scopes beyond their role', async () => {
      const member = await memberSession(org);
      const made = await member.request('POST', '/v1/api-keys', {
        name: 'mine',
        scopes: ['read:*', 'write:*'],
      });
      assert.equal(made.statusCode, 201, made.body);
      const own = made.json<ApiKey>();
      const narrowed = await member.request('POST', `/v1/api-keys/${own.id}/roll`, { scopes: ['read:*'] });
      assert.equal(narrowed.statusCode, 201, narrowed.body);
      assert.deepEqual(narrowed.json<ApiKey>().scopes, ['read:*']);
      assertProblem(
        await member.request('POST', `/v1/api-keys/${own.id}/roll`, { scopes: ['admin'] }),
        400,
        'validation_failed',
        'body/scopes',
      );

      // A key of theirs holding admin (made while they were an admin): they may not touch it, even to narrow.
      const adminKey = await createKey(t.app, { orgId: org.orgId, userId: member.userId }, ['admin']);
      const adminKeyId = (await t.call(adminKey, 'GET', '/health')).json<{ auth: { id: string } }>().auth.id;
      for (const body of [{}, { scopes: ['read:suppliers'] }]) {
        const denied = await member.request('POST', `/v1/api-keys/${adminKeyId}/roll`, body);
        assert.equal(assertProblem(denied, 403, 'insufficient_scope').required_scope, 'admin');
      }
      assert.equal((await get(adminKeyId)).expires_at, null, 'the admin key was not touched');
    });
  });
});
