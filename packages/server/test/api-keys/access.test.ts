/**
 * Who may manage which keys, on every engine: no credential grants scopes it does not hold (DESIGN §3),
 * key routes need `admin` or a dashboard session, members manage only their own keys and never mint admin
 * keys, and another org's keys are 404 on every key route.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SCOPES } from '@cohera/shared';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import { hashPassword } from '../../src/users/passwords.ts';
import { addMembership, insertUser } from '../../src/users/repository.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertProblem, type ProblemBody } from '../support/problem.ts';

interface ApiKey {
  id: string;
  scopes: string[];
  mode: string;
  created_by: { kind: string; id: string };
  revoked_at: string | null;
  key?: string;
}

/** A signed-in dashboard user: cookie and CSRF token from `POST /auth/login`. */
interface Session {
  userId: string;
  request(
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
    csrf?: boolean,
  ): Promise<LightMyRequestResponse>;
}

forEachEngine('api keys: who may manage which keys', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  before(async () => {
    clock = new ManualClock();
    t = await startTestApp(handle(), { clock });
    org = await createOrg(t.app);
  });
  after(() => t.close());

  async function signIn(email: string, password: string, userId: string): Promise<Session> {
    const res = await t.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
    assert.equal(res.statusCode, 200, res.body);
    const cookie = res.cookies.find((c) => c.name === 'cohera_session');
    assert.ok(cookie, 'login sets the session cookie');
    const csrfToken = res.json<{ csrf_token: string }>().csrf_token;
    return {
      userId,
      request: (method, url, body, csrf = true) =>
        t.inject({
          method,
          url,
          cookies: { cohera_session: cookie.value },
          headers: csrf ? { 'x-csrf-token': csrfToken } : {},
          ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }),
        }),
    };
  }

  async function addMember(target: TestOrg, role: 'member' | 'admin'): Promise<Session> {
    const password = `pw-${role}-${Math.random().toString(36).slice(2)}`;
    const email = `${role}.${Math.random().toString(36).slice(2)}@example.com`;
    const user = await insertUser(
      t.app.deps.db,
      { email, passwordHash: await hashPassword(password) },
      clock.now(),
    );
    await addMembership(t.app.deps.db, { orgId: target.orgId, userId: user.id, role }, clock.now());
    return signIn(email, password, user.id);
  }

  const keyIdOf = async (key: string) =>
    (await t.call(key, 'GET', '/health')).json<{ auth: { id: string } }>().auth.id;

  test('a key without `admin` cannot use any key route', async () => {
    const writer = await createKey(t.app, org, ['write:suppliers']);
    const everything = await createKey(t.app, org, ['read:*', 'write:*']);
    const adminKeyId = await keyIdOf(org.adminKey);
    const routes: [InjectOptions['method'], string, unknown][] = [
      ['POST', '/v1/api-keys', { name: 'x', scopes: ['read:suppliers'] }],
      ['GET', '/v1/api-keys', undefined],
      ['GET', `/v1/api-keys/${adminKeyId}`, undefined],
      ['POST', `/v1/api-keys/${adminKeyId}/revoke`, undefined],
      ['POST', `/v1/api-keys/${adminKeyId}/roll`, {}],
      ['GET', `/v1/api-keys/${adminKeyId}/usage`, undefined],
    ];
    for (const key of [writer, everything]) {
      for (const [method, url, body] of routes) {
        const res = await t.call(key, method, url, body);
        const problem = assertProblem(res, 403, 'insufficient_scope');
        assert.equal(problem.required_scope, 'admin');
        assert.equal(
          res.headers['www-authenticate'],
          'Bearer realm="cohera", error="insufficient_scope", scope="admin"',
        );
      }
    }
    // Nothing happened to the admin key.
    assert.equal((await t.call(org.adminKey, 'GET', '/v1/api-keys')).statusCode, 200);
  });

  test('an admin key may create a key with any scope', async () => {
    for (const scope of SCOPES) {
      const res = await t.call(org.adminKey, 'POST', '/v1/api-keys', { name: scope, scopes: [scope] });
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual(res.json<ApiKey>().scopes, [scope]);
    }
  });

  describe('dashboard sessions', () => {
    let own: TestOrg;
    let owner: Session;
    let member: Session;
    let ownerKeyId: string;
    before(async () => {
      own = await createOrg(t.app);
      owner = await signIn(own.email, own.password, own.userId);
      member = await addMember(own, 'member');
      ownerKeyId = await keyIdOf(own.adminKey);
    });

    test('a member creates non-admin keys, never admin ones', async () => {
      const reader = await member.request('POST', '/v1/api-keys', {
        name: 'member reader',
        scopes: ['read:*'],
      });
      assert.equal(reader.statusCode, 201, reader.body);
      const created = reader.json<ApiKey>();
      assert.deepEqual(created.created_by, { kind: 'user', id: member.userId });
      assert.equal(created.mode, 'live');
      const writer = await member.request('POST', '/v1/api-keys', {
        name: 'member writer',
        scopes: ['write:products', 'read:certificates'],
      });
      assert.equal(writer.statusCode, 201, writer.body);

      for (const scopes of [['admin'], ['read:*', 'admin']]) {
        const res = await member.request('POST', '/v1/api-keys', { name: 'escalate', scopes });
        const problem = assertProblem(res, 403, 'insufficient_scope');
        assert.equal(problem.required_scope, 'admin');
        assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope", scope="admin"/);
      }
      // The member's key works, with exactly the scopes it was given.
      const key = created.key as string;
      assert.equal((await t.call(key, 'GET', '/v1/suppliers')).statusCode, 200);
      assertProblem(
        await t.call(key, 'POST', '/v1/suppliers', { name: 'A', country: 'DE' }),
        403,
        'insufficient_scope',
      );
    });

    test('without the CSRF header a session cannot create a key', async () => {
      const res = await member.request('POST', '/v1/api-keys', { name: 'csrf', scopes: ['read:*'] }, false);
      assertProblem(res, 403, 'csrf_failed');
    });

    test('a member sees and manages only the keys it created', async () => {
      const mine = await member.request('POST', '/v1/api-keys', { name: 'mine', scopes: ['read:suppliers'] });
      assert.equal(mine.statusCode, 201, mine.body);
      const mineId = mine.json<ApiKey>().id;
      const byOwner = await owner.request('POST', '/v1/api-keys', { name: 'owner’s', scopes: ['read:*'] });
      assert.equal(byOwner.statusCode, 201, byOwner.body);
      const ownerCreated = byOwner.json<ApiKey>().id;

      const list = await member.request('GET', '/v1/api-keys?limit=100');
      assert.equal(list.statusCode, 200, list.body);
      const listed = list.json<{ data: ApiKey[] }>().data;
      assert.ok(listed.length >= 1);
      assert.ok(listed.some((k) => k.id === mineId));
      assert.ok(
        listed.every((k) => k.created_by.kind === 'user' && k.created_by.id === member.userId),
        'a member lists only its own keys',
      );

      for (const id of [ownerKeyId, ownerCreated]) {
        for (const [method, url] of [
          ['GET', `/v1/api-keys/${id}`],
          ['POST', `/v1/api-keys/${id}/revoke`],
          ['POST', `/v1/api-keys/${id}/roll`],
          ['GET', `/v1/api-keys/${id}/usage`],
        ] as const) {
          assertProblem(await member.request(method, url), 404, 'not_found');
        }
      }
      assert.equal(
        (await t.call(own.adminKey, 'GET', '/health')).statusCode,
        200,
        'the owner key still works',
      );

      // The owner, by session or by admin key, sees the member's keys too.
      const ownerList = (await owner.request('GET', '/v1/api-keys?limit=100')).json<{ data: ApiKey[] }>()
        .data;
      assert.ok(ownerList.some((k) => k.id === mineId));
      assert.ok(ownerList.some((k) => k.id === ownerKeyId));
      assert.equal((await t.call(own.adminKey, 'GET', `/v1/api-keys/${mineId}`)).statusCode, 200);

      const revoked = await member.request('POST', `/v1/api-keys/${mineId}/revoke`);
      assert.equal(revoked.statusCode, 200, revoked.body);
      assert.notEqual(revoked.json<ApiKey>().revoked_at, null);
    });

    test('an owner session may create admin keys', async () => {
      const res = await owner.request('POST', '/v1/api-keys', { name: 'owner admin', scopes: ['admin'] });
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual(res.json<ApiKey>().scopes, ['admin']);
    });
  });

  test('another org’s keys are 404 on every key route, and stay untouched', async () => {
    const a = await createOrg(t.app);
    const b = await createOrg(t.app);
    const bKey = await createKey(t.app, b, ['read:suppliers']);
    const bKeyId = await keyIdOf(bKey);
    const bAdminId = await keyIdOf(b.adminKey);
    for (const id of [bKeyId, bAdminId]) {
      for (const [method, url, body] of [
        ['GET', `/v1/api-keys/${id}`, undefined],
        ['POST', `/v1/api-keys/${id}/revoke`, undefined],
        ['POST', `/v1/api-keys/${id}/roll`, { grace_period_seconds: 0 }],
        ['GET', `/v1/api-keys/${id}/usage?days=3`, undefined],
      ] as const) {
        const res = await t.call(a.adminKey, method, url, body);
        assertProblem(res, 404, 'not_found');
        // The same answer as for an id that exists nowhere: nothing reveals that the key exists.
        const missing = await t.call(a.adminKey, method, url.replace(id, `key_${'0'.repeat(22)}`), body);
        assert.equal(missing.statusCode, 404);
        assert.equal(missing.json<ProblemBody>().code, res.json<ProblemBody>().code);
      }
    }
    const listed = (await t.call(a.adminKey, 'GET', '/v1/api-keys?limit=100')).json<{ data: ApiKey[] }>()
      .data;
    assert.ok(!listed.some((k) => k.id === bKeyId || k.id === bAdminId));
    // Not revoked, not rolled: both still work.
    assert.equal((await t.call(bKey, 'GET', '/v1/suppliers')).statusCode, 200);
    const got = await t.call(b.adminKey, 'GET', `/v1/api-keys/${bKeyId}`);
    assert.equal(got.json<ApiKey>().revoked_at, null);
  });
});
