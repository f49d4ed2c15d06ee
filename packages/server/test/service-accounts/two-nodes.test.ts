/**
 * Deleting a service-account key or account reaches every node within a second (issue 5, DESIGN §5.1):
 * two apps in this process on one PostgreSQL database, each with its own verifier cache and its own
 * LISTEN/NOTIFY subscription. Node B serves a token from its cache (no database read), node A deletes
 * the key, and B is polled until it refuses the token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import {
  type EngineHandle,
  POSTGRES_ADMIN_URL,
  postgresReachable,
  prepareEngine,
} from '../support/engines.ts';
import {
  type AccountObject,
  assertProblem,
  createAccount,
  generateKey,
  mint,
  type ServiceAccountJson,
  signerOf,
} from './fixtures.ts';

const PROPAGATION_BUDGET_MS = 1000;
const POLL_MS = 25;

describe('service-account deletion across two nodes [postgres]', async () => {
  if (!(await postgresReachable())) {
    if (process.env.CI) throw new Error(`PostgreSQL is unreachable at ${POSTGRES_ADMIN_URL}`);
    test('PostgreSQL unreachable: skipped', { skip: true }, () => {});
    return;
  }
  let engine: EngineHandle | null = null;
  let a: TestApp;
  let b: TestApp;
  let org: TestOrg;

  before(async () => {
    engine = await prepareEngine('postgres');
    a = await startTestApp(engine);
    b = await startTestApp(engine);
    org = await createOrg(a.app);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await engine?.cleanup();
  });

  async function cachedOnB(account: AccountObject, file: ServiceAccountJson): Promise<string> {
    const jwt = await mint(
      await signerOf(file),
      { sub: account.id, org_id: org.orgId, iss: file.issuer, aud: file.audience, scopes: ['read:*'] },
      Date.now(),
    );
    assert.equal((await b.call(jwt, 'GET', '/v1/suppliers')).statusCode, 200);
    const hits = b.app.deps.serviceAccounts.hits;
    assert.equal((await b.call(jwt, 'GET', '/v1/suppliers')).statusCode, 200);
    // Served from B's cache: only the fan-out can make B change its mind now.
    assert.equal(b.app.deps.serviceAccounts.hits, hits + 1);
    return jwt;
  }

  /** Polls B with the token until it is refused; fails if that takes longer than the budget. */
  async function refusedByB(jwt: string): Promise<void> {
    const deadline = Date.now() + PROPAGATION_BUDGET_MS;
    for (;;) {
      const res = await b.call(jwt, 'GET', '/v1/suppliers');
      if (res.statusCode !== 200) {
        assertProblem(res, 401, 'revoked_credential');
        return;
      }
      assert.ok(Date.now() < deadline, `node B still accepts the token after ${PROPAGATION_BUDGET_MS} ms`);
      await sleep(POLL_MS);
    }
  }

  test('both nodes use the PostgreSQL bus', () => {
    assert.equal(a.app.deps.bus.transport, 'postgres');
    assert.equal(b.app.deps.bus.transport, 'postgres');
    assert.notEqual(a.app.deps.bus, b.app.deps.bus);
  });

  test('a key deleted on A is refused by B within a second', async () => {
    const account = await createAccount(a, org.adminKey, ['read:*']);
    const doomed = await generateKey(a, org.adminKey, account.id);
    const kept = await generateKey(a, org.adminKey, account.id);
    const jwt = await cachedOnB(account, doomed);
    const keptJwt = await cachedOnB(account, kept);

    const res = await a.call(
      org.adminKey,
      'DELETE',
      `/v1/service-accounts/${account.id}/keys/${doomed.private_key_id}`,
    );
    assert.equal(res.statusCode, 204, res.body);
    await refusedByB(jwt);
    // Only that key's tokens: the account's other key still works on B.
    assert.equal((await b.call(keptJwt, 'GET', '/v1/suppliers')).statusCode, 200);
  });

  test('an account deleted on A is refused by B within a second', async () => {
    const account = await createAccount(a, org.adminKey, ['read:*']);
    const jwt = await cachedOnB(account, await generateKey(a, org.adminKey, account.id));
    const res = await a.call(org.adminKey, 'DELETE', `/v1/service-accounts/${account.id}`);
    assert.equal(res.statusCode, 204, res.body);
    await refusedByB(jwt);
  });
});
