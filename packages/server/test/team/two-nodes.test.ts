/**
 * A role change or removal made through the Team API on node A reaches node B within a second (issue 17):
 * the person's dashboard session, the API key they made (cached on B) and their OAuth access token (cached
 * on B) are narrowed on demotion and refused on removal. Two apps on one database, on each bus: a shared
 * in-process bus (SQLite), PostgreSQL LISTEN/NOTIFY and Redis pub/sub (PostgreSQL).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';

import { type InvalidationBus, MemoryInvalidationBus } from '../../src/state/invalidation-bus.ts';
import { createMember, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import {
  type Engine,
  type EngineHandle,
  forEachEngine,
  REDIS_TEST_URL,
  redisReachable,
} from '../support/engines.ts';
import {
  authorize,
  Browser,
  type OAuthTestServer,
  type RegisteredClient,
  registerClient,
  startOAuthServer,
} from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';
import { signIn } from './helpers.ts';

const REDIS_URL = REDIS_TEST_URL;
const BUDGET_MS = 1000;
/** Needs `admin`. */
const ADMIN_ROUTE = '/v1/service-accounts';
/** Needs `read:suppliers`, which every role holds. */
const READ_ROUTE = '/v1/suppliers';

const redisUp = await redisReachable();
if (process.env.CI && !redisUp)
  throw new Error(`Redis is unreachable at ${REDIS_URL}; CI must run these tests`);

type Transport = 'memory' | 'redis' | 'postgres';

async function startTwoNodes(handle: EngineHandle, transport: Transport) {
  const bus: InvalidationBus | undefined = transport === 'memory' ? new MemoryInvalidationBus() : undefined;
  const redis: Record<string, string> =
    transport === 'redis'
      ? { COHERA_REDIS_URL: REDIS_URL, COHERA_REDIS_PREFIX: `cohera-test-${randomBytes(4).toString('hex')}:` }
      : {};
  const a = await startOAuthServer(handle, { ...(bus ? { bus } : {}), env: redis });
  const b = await startTestApp(handle, {
    database: a.app.deps.database,
    ...(bus ? { bus } : {}),
    env: { COHERA_PUBLIC_URL: a.baseUrl, COHERA_MASTER_KEY: a.config.masterKey.toString('base64'), ...redis },
  });
  return { a, b };
}

/** Polls until `request` stops answering 200; fails once the one-second budget is spent. */
async function refusedWithin(
  request: () => Promise<LightMyRequestResponse>,
): Promise<LightMyRequestResponse> {
  const deadline = Date.now() + BUDGET_MS;
  for (;;) {
    const res = await request();
    if (res.statusCode !== 200) return res;
    assert.ok(Date.now() < deadline, `still accepted ${BUDGET_MS} ms after the change`);
    await sleep(20);
  }
}

function suites(engine: Engine, handle: () => EngineHandle): void {
  const transports: Transport[] = engine === 'sqlite' ? ['memory'] : ['postgres', 'redis'];
  for (const transport of transports) {
    describe(`over the ${transport} bus`, {
      skip: transport === 'redis' && !redisUp ? 'Redis unreachable' : false,
    }, () => {
      let a: OAuthTestServer;
      let b: TestApp;
      let org: TestOrg;
      let client: RegisteredClient;
      before(async () => {
        ({ a, b } = await startTwoNodes(handle(), transport));
        org = await createOrg(a.app);
        client = await registerClient(a, org.adminKey, { name: 'Admin tool', scopes: ['read:*', 'admin'] });
      });
      after(async () => {
        await b?.close();
        await a?.close();
      });

      test('demoted on A: B narrows session, key and token within a second; removed: B refuses all three', async () => {
        const person = await createMember(a, org, 'admin');
        const sessionB = await signIn(b, person);
        const made = await sessionB.request('POST', '/v1/api-keys', { name: 'ops', scopes: ['admin'] });
        assert.equal(made.statusCode, 201, made.body);
        const key = made.json<{ key: string }>().key;
        const tokens = await authorize(a, new Browser(a.baseUrl), person, client, ['read:*', 'admin']);
        const token = tokens.access_token;
        // Both credentials verified once on B, so the next answers come from B's caches.
        for (const credential of [key, token]) {
          assert.equal((await b.call(credential, 'GET', ADMIN_ROUTE)).statusCode, 200);
        }
        const keyHits = b.app.deps.apiKeys.hits;
        assert.equal((await b.call(key, 'GET', ADMIN_ROUTE)).statusCode, 200);
        assert.equal(b.app.deps.apiKeys.hits, keyHits + 1, 'the key is served from B’s cache');

        const demoted = await a.call(org.adminKey, 'PATCH', `/v1/organization/members/${person.userId}`, {
          role: 'viewer',
        });
        assert.equal(demoted.statusCode, 200, demoted.body);
        assertProblem(await refusedWithin(() => b.call(key, 'GET', ADMIN_ROUTE)), 403, 'insufficient_scope');
        assertProblem(
          await refusedWithin(() => b.call(token, 'GET', ADMIN_ROUTE)),
          403,
          'insufficient_scope',
        );
        assertProblem(await sessionB.request('GET', ADMIN_ROUTE), 403, 'insufficient_scope');
        for (const credential of [key, token]) {
          assert.equal((await b.call(credential, 'GET', READ_ROUTE)).statusCode, 200, 'a viewer still reads');
          assertProblem(
            await b.call(credential, 'POST', READ_ROUTE, { name: 'X', country: 'SE' }),
            403,
            'insufficient_scope',
          );
        }

        const removed = await a.call(org.adminKey, 'DELETE', `/v1/organization/members/${person.userId}`);
        assert.equal(removed.statusCode, 204, removed.body);
        assertProblem(await refusedWithin(() => b.call(key, 'GET', READ_ROUTE)), 401, 'revoked_credential');
        assertProblem(await refusedWithin(() => b.call(token, 'GET', READ_ROUTE)), 401, 'revoked_credential');
        assertProblem(await sessionB.request('GET', READ_ROUTE), 401, 'invalid_credential');
        assertProblem(await a.call(key, 'GET', READ_ROUTE), 401, 'revoked_credential');
      });
    });
  }
}

forEachEngine('team: role changes and removals reach every node', (engine, handle) => suites(engine, handle));
