/**
 * The 10-active-key limit holds under concurrency: the count and the insert share a transaction that locks
 * the account (PostgreSQL) or is serialized by the single writer (SQLite).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MAX_ACTIVE_KEYS } from '../../src/auth/service-accounts/repository.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { createAccount, generateKey } from './fixtures.ts';

forEachEngine('service-account key limit under concurrency', (_engine, handle) => {
  let t: TestApp;
  let org: TestOrg;
  before(async () => {
    t = await startTestApp(handle());
    org = await createOrg(t.app, 'enterprise');
  });
  after(() => t.close());

  test('concurrent key requests never exceed the limit', async () => {
    const account = await createAccount(t, org.adminKey, ['read:*']);
    for (let i = 0; i < MAX_ACTIVE_KEYS - 2; i++) await generateKey(t, org.adminKey, account.id);
    const responses = await Promise.all(
      Array.from({ length: 6 }, () =>
        t.inject({
          method: 'POST',
          url: `/v1/service-accounts/${account.id}/keys`,
          headers: { authorization: `Bearer ${org.adminKey}` },
        }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [201, 201, 409, 409, 409, 409]);
    const list = await t.call(org.adminKey, 'GET', `/v1/service-accounts/${account.id}/keys`);
    assert.equal(list.json().data.length, MAX_ACTIVE_KEYS);
  });

  test('a test-mode admin key cannot change the organization policy', async () => {
    const testKey = await createKey(t.app, org, ['admin'], 'test');
    const response = await t.call(testKey, 'PATCH', '/v1/organization', {
      policy: { max_key_lifetime_days: 1 },
    });
    assert.equal(response.statusCode, 403);
    assert.equal(response.json().code, 'forbidden');
    const current = await t.call(org.adminKey, 'GET', '/v1/organization');
    assert.notEqual(current.json().policy.max_key_lifetime_days, 1);
  });
});
