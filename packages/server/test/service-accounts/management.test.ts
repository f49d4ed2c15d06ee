/**
 * `/v1/service-accounts` management on every engine (DESIGN §4): create with a normalized scope ceiling and
 * a mode, list, get, delete; only `admin` reaches these routes (a read key or a member's session does not);
 * another org's account is a 404 on every route; bad input is a 400 naming the field.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SCOPES } from '@cohera/shared';
import type { InjectOptions } from 'fastify';
import { SESSION_COOKIE } from '../../src/auth/sessions/store.ts';
import { ManualClock } from '../../src/clock.ts';
import { hashPassword } from '../../src/users/passwords.ts';
import { addMembership, insertUser } from '../../src/users/repository.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { type AccountObject, assertProblem, createAccount, generateKey } from './fixtures.ts';

const API_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const apiTimeOf = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

/** Every management route for an account `id` (and one of its keys), with a valid body where one is needed. */
function routesFor(
  id: string,
  keyId: string,
): { method: InjectOptions['method']; url: string; body?: unknown }[] {
  return [
    { method: 'GET', url: `/v1/service-accounts/${id}` },
    { method: 'DELETE', url: `/v1/service-accounts/${id}` },
    { method: 'POST', url: `/v1/service-accounts/${id}/keys`, body: {} },
    { method: 'GET', url: `/v1/service-accounts/${id}/keys` },
    { method: 'DELETE', url: `/v1/service-accounts/${id}/keys/${keyId}` },
  ];
}

forEachEngine('service-account management', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  let other: TestOrg;

  before(async () => {
    clock = new ManualClock();
    t = await startTestApp(handle(), { clock });
    org = await createOrg(t.app);
    other = await createOrg(t.app);
  });
  after(() => t.close());

  test('create: 201, an sa_ id, a trimmed name, scopes in canonical order, the caller’s mode', async () => {
    const res = await t.call(org.adminKey, 'POST', '/v1/service-accounts', {
      name: '  certificate sync  ',
      scopes: ['write:suppliers', 'read:certificates'],
    });
    assert.equal(res.statusCode, 201, res.body);
    const account = res.json<AccountObject>();
    assert.match(account.id, /^sa_[0-9A-Za-z]{22}$/);
    assert.equal(account.object, 'service_account');
    assert.equal(account.name, 'certificate sync');
    // Canonical order is the order of DESIGN §3's scope list, whatever order they were sent in.
    assert.deepEqual(account.scopes, ['read:certificates', 'write:suppliers']);
    assert.equal(account.mode, 'live');
    assert.equal(account.created_at, apiTimeOf(clock.now()));
    assert.match(account.created_at, API_TIME);
    assert.equal(account.created_by.kind, 'api_key');
    assert.match(account.created_by.id, /^key_/);
    assert.deepEqual(Object.keys(account).sort(), [
      'created_at',
      'created_by',
      'id',
      'mode',
      'name',
      'object',
      'scopes',
    ]);
  });

  test('mode: a live admin may create test accounts; a test admin gets test by default and never live', async () => {
    const live = await createAccount(t, org.adminKey, ['read:*'], { mode: 'test' });
    assert.equal(live.mode, 'test');

    const testAdmin = await createKey(t.app, org, ['admin'], 'test');
    const byDefault = await createAccount(t, testAdmin, ['read:*']);
    assert.equal(byDefault.mode, 'test');
    const refused = await t.call(testAdmin, 'POST', '/v1/service-accounts', {
      name: 'prod',
      scopes: ['read:*'],
      mode: 'live',
    });
    assertProblem(refused, 403, 'forbidden');

    // A test credential sees test accounts only; a live admin sees both modes.
    const liveAccount = await createAccount(t, org.adminKey, ['read:*']);
    assertProblem(await t.call(testAdmin, 'GET', `/v1/service-accounts/${liveAccount.id}`), 404, 'not_found');
    const testList = (await t.call(testAdmin, 'GET', '/v1/service-accounts?limit=100')).json<{
      data: AccountObject[];
    }>();
    assert.ok(testList.data.every((a) => a.mode === 'test'));
    assert.ok(testList.data.some((a) => a.id === byDefault.id));
    const liveList = (await t.call(org.adminKey, 'GET', '/v1/service-accounts?limit=100')).json<{
      data: AccountObject[];
    }>();
    assert.ok(liveList.data.some((a) => a.id === byDefault.id));
    assert.ok(liveList.data.some((a) => a.id === liveAccount.id));
  });

  test('list and get: newest first, paginated, the same objects create returned', async () => {
    const fresh = await createOrg(t.app);
    const made: AccountObject[] = [];
    for (const scopes of [['read:certificates'], ['read:suppliers'], ['read:products']]) {
      clock.advance(1000);
      made.push(await createAccount(t, fresh.adminKey, scopes));
    }
    const first = await t.call(fresh.adminKey, 'GET', '/v1/service-accounts?limit=2');
    assert.equal(first.statusCode, 200, first.body);
    const page1 = first.json<{ data: AccountObject[]; next_cursor: string | null }>();
    assert.deepEqual(
      page1.data.map((a) => a.id),
      [made[2]?.id, made[1]?.id],
    );
    assert.ok(page1.next_cursor);
    const second = await t.call(
      fresh.adminKey,
      'GET',
      `/v1/service-accounts?limit=2&cursor=${page1.next_cursor}`,
    );
    const page2 = second.json<{ data: AccountObject[]; next_cursor: string | null }>();
    assert.deepEqual(page2.data, [made[0]]);
    assert.equal(page2.next_cursor, null);

    for (const account of made) {
      const got = await t.call(fresh.adminKey, 'GET', `/v1/service-accounts/${account.id}`);
      assert.equal(got.statusCode, 200, got.body);
      assert.deepEqual(got.json(), account);
    }
  });

  test('delete: 204, then gone from get and list; deleting again is a 404', async () => {
    const account = await createAccount(t, org.adminKey, ['read:*']);
    const res = await t.call(org.adminKey, 'DELETE', `/v1/service-accounts/${account.id}`);
    assert.equal(res.statusCode, 204, res.body);
    assertProblem(await t.call(org.adminKey, 'GET', `/v1/service-accounts/${account.id}`), 404, 'not_found');
    const list = (await t.call(org.adminKey, 'GET', '/v1/service-accounts?limit=100')).json<{
      data: AccountObject[];
    }>();
    assert.ok(!list.data.some((a) => a.id === account.id));
    assertProblem(
      await t.call(org.adminKey, 'DELETE', `/v1/service-accounts/${account.id}`),
      404,
      'not_found',
    );
    assertProblem(
      await t.call(org.adminKey, 'GET', `/v1/service-accounts/${account.id}/keys`),
      404,
      'not_found',
    );
  });

  test('a read:* key gets 403 insufficient_scope on every route', async () => {
    const reader = await createKey(t.app, org, ['read:*']);
    const writer = await createKey(t.app, org, ['read:*', 'write:*']);
    const account = await createAccount(t, org.adminKey, ['read:*']);
    const key = await generateKey(t, org.adminKey, account.id);
    const routes = [
      { method: 'POST' as const, url: '/v1/service-accounts', body: { name: 'x', scopes: ['read:*'] } },
      { method: 'GET' as const, url: '/v1/service-accounts' },
      ...routesFor(account.id, key.private_key_id),
    ];
    for (const credential of [reader, writer]) {
      for (const route of routes) {
        const res = await t.call(credential, route.method, route.url, route.body);
        const problem = assertProblem(res, 403, 'insufficient_scope');
        assert.equal((problem as { required_scope?: string }).required_scope, 'admin');
        assert.match(String(res.headers['www-authenticate']), /insufficient_scope/);
      }
    }
    // Nothing happened: the account and its key are still there.
    const keys = await t.call(org.adminKey, 'GET', `/v1/service-accounts/${account.id}/keys`);
    assert.equal(keys.json<{ data: unknown[] }>().data.length, 1);
  });

  test('a member’s dashboard session cannot reach these routes; an owner’s can', async () => {
    const password = 'member password for service accounts';
    const now = clock.now();
    const email = `sa.member.${Date.now()}@example.com`;
    const user = await insertUser(t.app.deps.db, { email, passwordHash: await hashPassword(password) }, now);
    await addMembership(t.app.deps.db, { orgId: org.orgId, userId: user.id, role: 'member' }, now);
    const signIn = async (address: string, secret: string) => {
      const res = await t.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: address, password: secret },
      });
      assert.equal(res.statusCode, 200, res.body);
      const header = res.headers['set-cookie'];
      const cookies = Array.isArray(header) ? header : [String(header)];
      const session = cookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`))?.split(';')[0];
      assert.ok(session);
      return { cookie: session, csrf: res.json<{ csrf_token: string }>().csrf_token };
    };
    const member = await signIn(email, password);
    const body = { name: 'via session', scopes: ['read:*'] };
    const asMember = await t.inject({
      method: 'POST',
      url: '/v1/service-accounts',
      headers: { cookie: member.cookie, 'x-csrf-token': member.csrf },
      payload: body,
    });
    assertProblem(asMember, 403, 'insufficient_scope');
    const listAsMember = await t.inject({
      method: 'GET',
      url: '/v1/service-accounts',
      headers: { cookie: member.cookie },
    });
    assertProblem(listAsMember, 403, 'insufficient_scope');

    const owner = await signIn(org.email, org.password);
    const asOwner = await t.inject({
      method: 'POST',
      url: '/v1/service-accounts',
      headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf },
      payload: body,
    });
    assert.equal(asOwner.statusCode, 201, asOwner.body);
    assert.deepEqual(asOwner.json<AccountObject>().created_by, { kind: 'user', id: org.userId });
  });

  test('no escalation: an admin credential may give an account any ceiling, up to admin', async () => {
    const all = await createAccount(t, org.adminKey, [...SCOPES]);
    assert.deepEqual(all.scopes, [...SCOPES]);
    const admin = await createAccount(t, org.adminKey, ['admin']);
    assert.deepEqual(admin.scopes, ['admin']);
  });

  test('another org’s account is a 404 on every route', async () => {
    const theirs = await createAccount(t, other.adminKey, ['read:*']);
    const theirKey = await generateKey(t, other.adminKey, theirs.id);
    for (const route of routesFor(theirs.id, theirKey.private_key_id)) {
      assertProblem(await t.call(org.adminKey, route.method, route.url, route.body), 404, 'not_found');
    }
    const list = (await t.call(org.adminKey, 'GET', '/v1/service-accounts?limit=100')).json<{
      data: AccountObject[];
    }>();
    assert.ok(!list.data.some((a) => a.id === theirs.id));
    // Still intact for its owner: nothing was deleted and no key was added.
    const keys = await t.call(other.adminKey, 'GET', `/v1/service-accounts/${theirs.id}/keys`);
    assert.deepEqual(
      keys.json<{ data: { id: string }[] }>().data.map((k) => k.id),
      [theirKey.private_key_id],
    );
    // Our account id with their key id is a 404 too: a key is found only under its own account.
    const ours = await createAccount(t, org.adminKey, ['read:*']);
    assertProblem(
      await t.call(org.adminKey, 'DELETE', `/v1/service-accounts/${ours.id}/keys/${theirKey.private_key_id}`),
      404,
      'not_found',
    );
  });

  test('ids that are not service-account ids are a 404', async () => {
    for (const id of ['nope', 'key_0352Yqbmw0BwqbRfpPmi1O', 'sa_short']) {
      assertProblem(await t.call(org.adminKey, 'GET', `/v1/service-accounts/${id}`), 404, 'not_found');
    }
  });

  test('bad input: blank or missing name, empty, unknown or duplicate scopes, unknown fields → 400', async () => {
    const cases: [unknown, string][] = [
      [{ name: '   ', scopes: ['read:*'] }, 'body/name'],
      [{ name: '', scopes: ['read:*'] }, 'body/name'],
      [{ scopes: ['read:*'] }, 'body/name'],
      [{ name: 'x'.repeat(101), scopes: ['read:*'] }, 'body/name'],
      [{ name: 'n', scopes: [] }, 'body/scopes'],
      [{ name: 'n' }, 'body/scopes'],
      [{ name: 'n', scopes: 'read:*' }, 'body/scopes'],
      [{ name: 'n', scopes: ['read:everything'] }, 'body/scopes/0'],
      [{ name: 'n', scopes: ['read:*', 'read:*'] }, 'body/scopes'],
      [{ name: 'n', scopes: ['read:*'], mode: 'staging' }, 'body/mode'],
      [{ name: 'n', scopes: ['read:*'], ceiling: ['admin'] }, 'body/ceiling'],
    ];
    const before = (await t.call(org.adminKey, 'GET', '/v1/service-accounts?limit=100')).json<{
      data: unknown[];
    }>().data.length;
    for (const [body, field] of cases) {
      assertProblem(
        await t.call(org.adminKey, 'POST', '/v1/service-accounts', body),
        400,
        'validation_failed',
        field,
      );
    }
    const afterCount = (await t.call(org.adminKey, 'GET', '/v1/service-accounts?limit=100')).json<{
      data: unknown[];
    }>().data.length;
    assert.equal(afterCount, before);
  });
});
