/**
 * The API-call event's metadata memo (src/audit/call-metadata.ts): one frozen object per credential context,
 * route, method and status, equal to what building it afresh gives, never shared across any of the four.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallMetadataMemo, credentialOf } from '../../src/audit/call-metadata.ts';
import type { AuthContext } from '../../src/auth/context.ts';

function context(overrides: Partial<AuthContext> = {}): AuthContext {
  return {
    orgId: 'org_1',
    mode: 'live',
    principal: { kind: 'api_key', id: 'key_1' },
    scopes: ['read:*'],
    via: 'bearer',
    ...overrides,
  } as AuthContext;
}

test('the same call gets the same frozen object, with the fields a fresh build has', () => {
  const memo = new CallMetadataMemo();
  const auth = context();
  const config = { url: '/v1/suppliers/:id' };
  const first = memo.of(auth, config, config.url, 'GET', 200);
  assert.ok(Object.isFrozen(first));
  assert.equal(memo.of(auth, config, config.url, 'GET', 200), first);
  assert.deepEqual(first, { method: 'GET', route: '/v1/suppliers/:id', status: 200, mode: 'live' });
});

test('a different context, route, method or status never shares an object', () => {
  const memo = new CallMetadataMemo();
  const auth = context();
  const other = context({ mode: 'test' });
  const oauth = context({
    clientId: 'app_9',
    principal: { kind: 'user', id: 'usr_1' },
  } as Partial<AuthContext>);
  const keyOfAccount = context({
    principal: { kind: 'service_account', id: 'sa_1' },
    credentialId: 'sak_2',
  } as Partial<AuthContext>);
  const read = { url: '/v1/suppliers/:id' };
  const list = { url: '/v1/suppliers' };
  const cases: Array<[AuthContext, { url: string }, string, number]> = [
    [auth, read, 'GET', 200],
    [auth, read, 'GET', 404],
    [auth, read, 'HEAD', 200],
    [auth, list, 'GET', 200],
    [other, read, 'GET', 200],
    [oauth, read, 'GET', 200],
    [keyOfAccount, read, 'GET', 200],
  ];
  // Asked in turn twice: the second round finds each again (HEAD and GET share a route's config).
  for (let round = 0; round < 2; round++) {
    const seen = new Set<object>();
    for (const [ctx, config, method, status] of cases) {
      const metadata = memo.of(ctx, config, config.url, method, status);
      assert.ok(!seen.has(metadata), `${method} ${status} ${config.url} ${ctx.mode}`);
      seen.add(metadata);
      assert.deepEqual(metadata, { method, route: config.url, status, mode: ctx.mode, ...credentialOf(ctx) });
    }
  }
  assert.deepEqual(memo.of(oauth, read, read.url, 'GET', 200), {
    method: 'GET',
    route: '/v1/suppliers/:id',
    status: 200,
    mode: 'live',
    client_id: 'app_9',
  });
  assert.equal(memo.of(keyOfAccount, read, read.url, 'GET', 200).key_id, 'sak_2');
});
