import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

forEachEngine('suppliers', (_engine, handle) => {
  let t: TestApp;
  let org: TestOrg;
  before(async () => {
    t = await startTestApp(handle());
    org = await createOrg(t.app);
  });
  after(() => t.close());

  test('create, get, update, delete', async () => {
    const created = await t.call(org.adminKey, 'POST', '/v1/suppliers', { name: 'Acme', country: 'de' });
    assert.equal(created.statusCode, 201);
    const body = created.json();
    assert.match(body.id, /^sup_/);
    assert.equal(body.country, 'DE');
    const got = await t.call(org.adminKey, 'GET', `/v1/suppliers/${body.id}`);
    assert.deepEqual(got.json(), body);
    const patched = await t.call(org.adminKey, 'PATCH', `/v1/suppliers/${body.id}`, { status: 'suspended' });
    assert.equal(patched.json().status, 'suspended');
    assert.equal((await t.call(org.adminKey, 'DELETE', `/v1/suppliers/${body.id}`)).statusCode, 204);
    assert.equal((await t.call(org.adminKey, 'GET', `/v1/suppliers/${body.id}`)).statusCode, 404);
  });
});
