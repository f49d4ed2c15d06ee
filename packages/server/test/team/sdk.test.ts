/**
 * The TypeScript SDK's team resources (`client.members`, `client.invitations`) against a real listening
 * server: invite, list, revoke; list members, change a role, remove; the typed errors for the last owner
 * and an existing member.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cohera, ConflictError } from '../../../sdk/src/index.ts';
import { createMember, createOrg, type TestOrg } from '../support/app.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';
import { type OAuthTestServer, startOAuthServer } from '../support/oauth.ts';

let engine: EngineHandle;
let server: OAuthTestServer;
let org: TestOrg;
let client: Cohera;
before(async () => {
  engine = await prepareEngine('sqlite');
  server = await startOAuthServer(engine);
  org = await createOrg(server.app);
  client = new Cohera({ apiKey: org.adminKey, baseUrl: server.baseUrl, maxRetries: 0 });
});
after(async () => {
  await server.close();
  await engine.cleanup();
});

test('invitations: create (with its link once), list, revoke', async () => {
  const email = `sdk.${Date.now()}@example.com`;
  const invitation = await client.invitations.create({ email, role: 'viewer' });
  assert.match(invitation.id, /^inv_/);
  assert.ok(invitation.accept_url.includes('/invitations/accept?token='));
  const pending = [];
  for await (const item of client.invitations.list()) pending.push(item);
  assert.ok(pending.some((item) => item.id === invitation.id && item.status === 'pending'));
  await client.invitations.revoke(invitation.id);
  const after = await client.invitations.list();
  assert.ok(!after.data.some((item) => item.id === invitation.id));
});

test('members: list, update, remove; last owner and existing member are ConflictErrors', async () => {
  const person = await createMember(server, org, 'member');
  const members = await client.members.list({ limit: 100 });
  assert.ok(members.data.some((m) => m.user_id === person.userId && m.role === 'member'));
  const updated = await client.members.update(person.userId, { role: 'admin' });
  assert.equal(updated.role, 'admin');
  await assert.rejects(
    client.invitations.create({ email: person.email, role: 'viewer' }),
    (error: unknown) => {
      return error instanceof ConflictError && error.code === 'already_member';
    },
  );
  await client.members.remove(person.userId);
  const left = await client.members.list({ limit: 100 });
  assert.ok(!left.data.some((m) => m.user_id === person.userId));
  await assert.rejects(client.members.update(org.userId, { role: 'viewer' }), (error: unknown) => {
    return error instanceof ConflictError && error.code === 'last_owner';
  });
});
