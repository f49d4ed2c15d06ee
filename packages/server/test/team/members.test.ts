/**
 * Team management on one node, on every engine (docs/team.md): listing members, changing roles, removing
 * people; the last owner stays; only owners touch owners; cross-org ids are 404; what a role change does to
 * the person's API keys (narrowed at once) and what a removal does (keys revoked, sessions ended); audit
 * events for each.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generateApiKey } from '@cohera/shared';
import { insertApiKey } from '../../src/auth/api-keys/repository.ts';
import {
  createKey,
  createMember,
  createOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';
import { auditEvents, signIn } from './helpers.ts';

interface Member {
  object: string;
  user_id: string;
  email: string;
  role: string;
  joined_at: string;
}

forEachEngine('team: members', (_engine, handle) => {
  let t: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  before(async () => {
    t = await startTestApp(handle());
    org = await createOrg(t.app);
    other = await createOrg(t.app);
  });
  after(() => t.close());

  /** A key made by `userId` through the product's own path (`POST /v1/api-keys` as that person). */
  async function keyOf(person: { email: string; password: string; userId: string }, scopes: string[]) {
    const session = await signIn(t, person);
    const res = await session.request('POST', '/v1/api-keys', { name: 'mine', scopes });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<{ id: string; key: string }>();
  }

  test('lists members with e-mail, role and joined time; paginates; needs admin', async () => {
    const admin = await createMember(t, org, 'admin');
    const viewer = await createMember(t, org, 'viewer');
    const res = await t.call(org.adminKey, 'GET', '/v1/organization/members?limit=100');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ data: Member[]; next_cursor: string | null }>();
    const byId = new Map(body.data.map((m) => [m.user_id, m]));
    assert.equal(byId.get(org.userId)?.role, 'owner');
    assert.equal(byId.get(admin.userId)?.email, admin.email);
    assert.equal(byId.get(viewer.userId)?.role, 'viewer');
    assert.match(byId.get(org.userId)?.joined_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(!body.data.some((m) => m.user_id === other.userId), 'another org’s people are not listed');
    const first = await t.call(org.adminKey, 'GET', '/v1/organization/members?limit=1');
    const page = first.json<{ data: Member[]; next_cursor: string }>();
    assert.equal(page.data.length, 1);
    const second = await t.call(
      org.adminKey,
      'GET',
      `/v1/organization/members?limit=1&cursor=${page.next_cursor}`,
    );
    assert.notEqual(second.json<{ data: Member[] }>().data[0]?.user_id, page.data[0]?.user_id);
    const reader = await createKey(t.app, org, ['read:*']);
    assertProblem(await t.call(reader, 'GET', '/v1/organization/members'), 403, 'insufficient_scope');
    const viewerSession = await signIn(t, viewer);
    assertProblem(await viewerSession.request('GET', '/v1/organization/members'), 403, 'insufficient_scope');
    assert.equal(
      (await viewerSession.request('GET', '/v1/organization')).statusCode,
      200,
      'a viewer sees the org',
    );
    assertProblem(await viewerSession.request('GET', '/v1/api-keys'), 403, 'insufficient_scope');
    const adminSession = await signIn(t, admin);
    assert.equal((await adminSession.request('GET', '/v1/organization/members')).statusCode, 200);
  });

  test('a role change applies to the person’s session at once and is audited', async () => {
    const person = await createMember(t, org, 'member');
    const session = await signIn(t, person);
    assert.equal(
      (await session.request('POST', '/v1/suppliers', { name: 'S', country: 'SE' })).statusCode,
      201,
    );
    const res = await t.call(org.adminKey, 'PATCH', `/v1/organization/members/${person.userId}`, {
      role: 'viewer',
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<Member>().role, 'viewer');
    assertProblem(
      await session.request('POST', '/v1/suppliers', { name: 'S', country: 'SE' }),
      403,
      'insufficient_scope',
    );
    assert.equal((await session.request('GET', '/v1/suppliers')).statusCode, 200, 'a viewer still reads');
    const events = await auditEvents(t, org.adminKey, 'member.role_changed');
    const event = events.find((e) => e.target?.id === person.userId);
    assert.deepEqual(event?.metadata, { from: 'member', to: 'viewer' });
    assert.equal(event?.actor.kind, 'api_key');
  });

  test('a demotion narrows the API keys the person made, on the next request; a promotion restores them', async () => {
    const person = await createMember(t, org, 'admin');
    const made = await keyOf(person, ['admin']);
    assert.equal((await t.call(made.key, 'GET', '/v1/service-accounts')).statusCode, 200);
    const patch = (role: string) =>
      t.call(org.adminKey, 'PATCH', `/v1/organization/members/${person.userId}`, { role });
    assert.equal((await patch('member')).statusCode, 200);
    assertProblem(await t.call(made.key, 'GET', '/v1/service-accounts'), 403, 'insufficient_scope');
    const health = await t.call(made.key, 'GET', '/health');
    assert.deepEqual(
      health.json().auth.scopes,
      ['write:*'],
      'an admin key of a member acts as read and write',
    );
    assert.equal(
      (await t.call(made.key, 'POST', '/v1/suppliers', { name: 'N', country: 'NO' })).statusCode,
      201,
    );
    assert.equal((await patch('viewer')).statusCode, 200);
    assertProblem(
      await t.call(made.key, 'POST', '/v1/suppliers', { name: 'N', country: 'NO' }),
      403,
      'insufficient_scope',
    );
    assert.deepEqual((await t.call(made.key, 'GET', '/health')).json().auth.scopes, ['read:*']);
    assert.equal((await patch('admin')).statusCode, 200);
    assert.equal(
      (await t.call(made.key, 'GET', '/v1/service-accounts')).statusCode,
      200,
      'never more than stored',
    );
  });

  test('a key made by a key follows the person at the root of the chain', async () => {
    const person = await createMember(t, org, 'admin');
    const parent = await keyOf(person, ['admin']);
    const child = await t.call(parent.key, 'POST', '/v1/api-keys', { name: 'child', scopes: ['admin'] });
    assert.equal(child.statusCode, 201, child.body);
    const childKey = child.json<{ key: string }>().key;
    await t.call(org.adminKey, 'PATCH', `/v1/organization/members/${person.userId}`, { role: 'viewer' });
    assert.deepEqual((await t.call(childKey, 'GET', '/health')).json().auth.scopes, ['read:*']);
    const removed = await t.call(org.adminKey, 'DELETE', `/v1/organization/members/${person.userId}`);
    assert.equal(removed.statusCode, 204, removed.body);
    assertProblem(await t.call(childKey, 'GET', '/health'), 401, 'revoked_credential');
  });

  test('removal ends sessions and revokes the person’s keys (audited per key); other members’ keys live', async () => {
    const person = await createMember(t, org, 'member');
    const session = await signIn(t, person);
    const made = await keyOf(person, ['read:*']);
    const bystander = await createMember(t, org, 'member');
    const theirs = await keyOf(bystander, ['read:*']);
    const res = await t.call(org.adminKey, 'DELETE', `/v1/organization/members/${person.userId}`);
    assert.equal(res.statusCode, 204, res.body);
    assertProblem(await session.request('GET', '/v1/suppliers'), 401, 'invalid_credential');
    assertProblem(await t.call(made.key, 'GET', '/v1/suppliers'), 401, 'revoked_credential');
    assert.equal((await t.call(theirs.key, 'GET', '/v1/suppliers')).statusCode, 200);
    const key = await t.call(org.adminKey, 'GET', `/v1/api-keys/${made.id}`);
    assert.equal(key.json().status, 'revoked');
    const removed = (await auditEvents(t, org.adminKey, 'member.removed')).find(
      (e) => e.target?.id === person.userId,
    );
    assert.equal(removed?.metadata.api_keys_revoked, 1);
    assert.equal(removed?.metadata.sessions_ended, 2, 'the session above and the one that made the key');
    const revoked = (await auditEvents(t, org.adminKey, 'api_key.revoked')).find(
      (e) => e.target?.id === made.id,
    );
    assert.equal(revoked?.metadata.reason, 'creator_removed');
    const list = await t.call(org.adminKey, 'GET', '/v1/organization/members?limit=100');
    assert.ok(!list.json<{ data: Member[] }>().data.some((m) => m.user_id === person.userId));
    assertProblem(
      await t.call(org.adminKey, 'DELETE', `/v1/organization/members/${person.userId}`),
      404,
      'not_found',
    );
  });

  test('a key whose creator left without the removal path (no membership) is refused', async () => {
    const key = generateApiKey('live');
    await insertApiKey(
      t.app.deps.db,
      { orgId: org.orgId, mode: 'live' },
      key,
      {
        name: 'orphan',
        scopes: ['read:*'],
        expiresAt: null,
        rateLimitPerMinute: null,
        createdBy: { kind: 'user', id: other.userId },
      },
      t.app.deps.clock.now(),
    );
    assertProblem(await t.call(key, 'GET', '/v1/suppliers'), 401, 'revoked_credential');
  });

  test('the last owner can be neither demoted nor removed; with a second owner both work', async () => {
    const solo = await createOrg(t.app);
    const demote = await t.call(solo.adminKey, 'PATCH', `/v1/organization/members/${solo.userId}`, {
      role: 'admin',
    });
    const problem = assertProblem(demote, 409, 'last_owner');
    assert.match(problem.detail ?? '', /make another member an owner first/);
    assertProblem(
      await t.call(solo.adminKey, 'DELETE', `/v1/organization/members/${solo.userId}`),
      409,
      'last_owner',
    );
    const owner = await signIn(t, { ...solo });
    assertProblem(
      await owner.request('DELETE', `/v1/organization/members/${solo.userId}`),
      409,
      'last_owner',
    );
    const second = await createMember(t, solo, 'owner');
    assert.equal(
      (await owner.request('PATCH', `/v1/organization/members/${solo.userId}`, { role: 'admin' })).statusCode,
      200,
    );
    const secondSession = await signIn(t, second);
    assertProblem(
      await secondSession.request('DELETE', `/v1/organization/members/${second.userId}`),
      409,
      'last_owner',
    );
  });

  test('an admin cannot promote to, demote, or remove an owner; an owner can', async () => {
    const target = await createOrg(t.app);
    const admin = await createMember(t, target, 'admin');
    const member = await createMember(t, target, 'member');
    const coOwner = await createMember(t, target, 'owner');
    const session = await signIn(t, admin);
    assertProblem(
      await session.request('PATCH', `/v1/organization/members/${member.userId}`, { role: 'owner' }),
      403,
      'forbidden',
    );
    assertProblem(
      await session.request('PATCH', `/v1/organization/members/${coOwner.userId}`, { role: 'member' }),
      403,
      'forbidden',
    );
    assertProblem(
      await session.request('DELETE', `/v1/organization/members/${coOwner.userId}`),
      403,
      'forbidden',
    );
    // An admin key made by the admin acts with the admin's role, not as an owner.
    const adminKey = await keyOf(admin, ['admin']);
    assertProblem(
      await t.call(adminKey.key, 'DELETE', `/v1/organization/members/${coOwner.userId}`),
      403,
      'forbidden',
    );
    assert.equal(
      (await session.request('PATCH', `/v1/organization/members/${member.userId}`, { role: 'viewer' }))
        .statusCode,
      200,
    );
    const owner = await signIn(t, { ...target });
    assert.equal(
      (await owner.request('PATCH', `/v1/organization/members/${member.userId}`, { role: 'owner' }))
        .statusCode,
      200,
    );
    assert.equal(
      (await owner.request('DELETE', `/v1/organization/members/${coOwner.userId}`)).statusCode,
      204,
    );
  });

  test('another org’s member ids, malformed ids and bad roles', async () => {
    const stranger = await createMember(t, other, 'member');
    assertProblem(
      await t.call(org.adminKey, 'PATCH', `/v1/organization/members/${stranger.userId}`, { role: 'viewer' }),
      404,
      'not_found',
    );
    assertProblem(
      await t.call(org.adminKey, 'DELETE', `/v1/organization/members/${stranger.userId}`),
      404,
      'not_found',
    );
    assertProblem(
      await t.call(org.adminKey, 'DELETE', `/v1/organization/members/${other.userId}`),
      404,
      'not_found',
    );
    assertProblem(
      await t.call(org.adminKey, 'DELETE', '/v1/organization/members/usr_nope'),
      404,
      'not_found',
    );
    assertProblem(
      await t.call(org.adminKey, 'PATCH', `/v1/organization/members/${org.userId}`, { role: 'superuser' }),
      400,
      'validation_failed',
    );
    const still = await t.call(other.adminKey, 'GET', '/v1/organization/members?limit=100');
    assert.ok(still.json<{ data: Member[] }>().data.some((m) => m.user_id === stranger.userId));
  });
});
