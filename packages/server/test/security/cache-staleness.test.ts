/**
 * Caches that outlive what they were derived from (issue 14): every node caches verified tokens, so a
 * change on one node must reach the others' caches, and a change whose message is lost must still reach
 * them within the documented bound.
 * - A member demoted or removed on node A: node B (which cached the member's OAuth access token) refuses
 *   what the old role allowed within a second; their dashboard session on B follows the role at once and
 *   ends on removal. On every bus: one shared in-process bus, real Redis, PostgreSQL LISTEN/NOTIFY.
 * - A message that never arrives (a node on a private bus nobody publishes to): a cached service-account
 *   or OAuth token is served at most 30 s (CREDENTIAL_RECHECK_MS) after storage last confirmed it, and no
 *   longer. The manual clock moves time; both sides of the bound are asserted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';

import { decodeJwt } from 'jose';
import type { AuthContext } from '../../src/auth/context.ts';
import { SESSION_COOKIE } from '../../src/auth/sessions/store.ts';
import {
  CREDENTIAL_RECHECK_MS,
  type VerifiedToken,
  VerifiedTokenCache,
} from '../../src/auth/verified-token-cache.ts';
import { ManualClock } from '../../src/clock.ts';
import { type InvalidationBus, MemoryInvalidationBus } from '../../src/state/invalidation-bus.ts';
import { changeMemberRole, removeMember } from '../../src/users/memberships.ts';
import { createAccount, generateKey, mint, signerOf } from '../service-accounts/fixtures.ts';
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
  refreshRequest,
  registerClient,
  startOAuthServer,
} from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';

const REDIS_URL = REDIS_TEST_URL;
const PROPAGATION_BUDGET_MS = 1000;
const POLL_MS = 20;
/** Needs `admin`. */
const ADMIN_ROUTE = '/v1/service-accounts';
/** Needs `read:certificates`, which a member holds. */
const MEMBER_ROUTE = '/v1/certificates';

// Decided before the suites are defined (see test/state/invalidation-bus.test.ts for why).
const redisUp = await redisReachable();
if (process.env.CI && !redisUp)
  throw new Error(`Redis is unreachable at ${REDIS_URL}; CI must run these tests`);

/** Polls a node with a credential until it stops answering 200; fails past the one-second budget. */
async function refusedWithin(
  node: TestApp,
  credential: string,
  url: string,
): Promise<LightMyRequestResponse> {
  const deadline = Date.now() + PROPAGATION_BUDGET_MS;
  for (;;) {
    const res = await node.call(credential, 'GET', url);
    if (res.statusCode !== 200) return res;
    assert.ok(Date.now() < deadline, `still accepted ${PROPAGATION_BUDGET_MS} ms after the change`);
    await sleep(POLL_MS);
  }
}

/** Calls twice and checks the second answer came from the node's verified-token cache. */
async function cachedOn(
  node: TestApp,
  verifier: 'oauthTokens' | 'serviceAccounts',
  credential: string,
  url: string,
): Promise<void> {
  assert.equal((await node.call(credential, 'GET', url)).statusCode, 200);
  const hits = node.app.deps[verifier].hits;
  const res = await node.call(credential, 'GET', url);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(node.app.deps[verifier].hits, hits + 1, 'served from the cache');
}

/** A dashboard session signed in on `node`, as the dashboard does (`POST /auth/login`). */
async function signIn(node: TestApp, person: { email: string; password: string }) {
  const payload = { email: person.email, password: person.password };
  const res = await node.inject({ method: 'POST', url: '/auth/login', payload });
  assert.equal(res.statusCode, 200, res.body);
  const setCookie = res.headers['set-cookie'];
  const lines = Array.isArray(setCookie) ? setCookie : [String(setCookie)];
  const pair = lines.find((line) => line.startsWith(`${SESSION_COOKIE}=`))?.split(';')[0];
  assert.ok(pair, 'a session cookie was set');
  return (url: string) => node.inject({ method: 'GET', url, headers: { cookie: pair } });
}

/** An admin of `org` holding an OAuth access token with `admin`, through an app registered for it. */
async function adminWithToken(a: OAuthTestServer, org: TestOrg, client: RegisteredClient) {
  const person = await createMember(a, org, 'admin');
  const tokens = await authorize(a, new Browser(a.baseUrl), person, client, ['read:certificates', 'admin']);
  return { person, tokens };
}

const nodeEnv = (a: OAuthTestServer, extra: Record<string, string> = {}) => ({
  COHERA_PUBLIC_URL: a.baseUrl,
  COHERA_MASTER_KEY: a.config.masterKey.toString('base64'),
  ...extra,
});

type Transport = 'memory' | 'redis' | 'postgres';

/**
 * Node A (the OAuth server, where the change is made) and node B on the same database, each with its own
 * caches, connected by the given transport.
 */
async function startTwoNodes(
  handle: EngineHandle,
  transport: Transport,
): Promise<{ a: OAuthTestServer; b: TestApp }> {
  if (transport === 'memory') {
    const bus: InvalidationBus = new MemoryInvalidationBus();
    const a = await startOAuthServer(handle, { bus });
    const b = await startTestApp(handle, { database: a.app.deps.database, bus, env: nodeEnv(a) });
    return { a, b };
  }
  const redis: Record<string, string> =
    transport === 'redis'
      ? { COHERA_REDIS_URL: REDIS_URL, COHERA_REDIS_PREFIX: `cohera-test-${randomBytes(4).toString('hex')}:` }
      : {};
  const a = await startOAuthServer(handle, { env: redis });
  const b = await startTestApp(handle, { database: a.app.deps.database, env: nodeEnv(a, redis) });
  return { a, b };
}

/** Per transport: node A changes a membership, node B must follow within a second. */
function membershipChangeSuites(engine: Engine, handle: () => EngineHandle): void {
  const transports: Transport[] = ['memory', 'redis', 'postgres'];
  for (const transport of transports) {
    const skip =
      transport === 'redis' && !redisUp
        ? 'Redis unreachable'
        : transport === 'postgres' && engine !== 'postgres'
          ? 'LISTEN/NOTIFY needs PostgreSQL'
          : false;
    describe(`over the ${transport} bus`, { skip }, () => {
      let a: OAuthTestServer;
      let b: TestApp;
      let org: TestOrg;
      let client: RegisteredClient;

      before(async () => {
        ({ a, b } = await startTwoNodes(handle(), transport));
        org = await createOrg(a.app);
        client = await registerClient(a, org.adminKey, {
          name: 'Admin tool',
          scopes: ['read:certificates', 'admin'],
        });
      });
      after(async () => {
        await b?.close();
        await a?.close();
      });

      test('the nodes use the transport under test', () => {
        assert.equal(a.app.deps.bus.transport, transport);
        assert.equal(b.app.deps.bus.transport, transport);
      });

      test('demoted on A: B narrows the cached token within a second; removed: refused on both, session ended', async () => {
        const { person, tokens } = await adminWithToken(a, org, client);
        const token = tokens.access_token;
        await cachedOn(a, 'oauthTokens', token, ADMIN_ROUTE);
        await cachedOn(b, 'oauthTokens', token, ADMIN_ROUTE);
        const session = await signIn(b, person);
        assert.equal((await session(ADMIN_ROUTE)).statusCode, 200);

        const changed = await changeMemberRole(a.app.deps, {
          orgId: org.orgId,
          userId: person.userId,
          role: 'member',
        });
        assert.deepEqual(changed, { previousRole: 'admin', role: 'member' });
        assertProblem(await a.call(token, 'GET', ADMIN_ROUTE), 403, 'insufficient_scope');
        assertProblem(await refusedWithin(b, token, ADMIN_ROUTE), 403, 'insufficient_scope');
        assert.equal((await b.call(token, 'GET', MEMBER_ROUTE)).statusCode, 200, 'member scopes remain');
        assert.deepEqual((await b.call(token, 'GET', '/health')).json().auth.scopes, ['read:certificates']);
        // Sessions read the role with the session on every request: no cache to wait for.
        assertProblem(await session(ADMIN_ROUTE), 403, 'insufficient_scope');
        assert.equal((await session(MEMBER_ROUTE)).statusCode, 200);

        const removed = await removeMember(a.app.deps, { orgId: org.orgId, userId: person.userId });
        assert.deepEqual(removed, {
          role: 'member',
          sessionsEnded: 2,
          authorizationsRevoked: 1,
          apiKeysRevoked: [],
        });
        assertProblem(await a.call(token, 'GET', MEMBER_ROUTE), 401, 'revoked_credential');
        assertProblem(await refusedWithin(b, token, MEMBER_ROUTE), 401, 'revoked_credential');
        assertProblem(await session(MEMBER_ROUTE), 401, 'invalid_credential');
        const left = await a.app.deps.db
          .selectFrom('sessions')
          .select('id')
          .where('org_id', '=', org.orgId)
          .where('user_id', '=', person.userId)
          .execute();
        assert.deepEqual(left, [], 'the removed member’s sessions in the org are gone');
        const live = await a.app.deps.db
          .selectFrom('oauth_authorizations')
          .select('id')
          .where('org_id', '=', org.orgId)
          .where('user_id', '=', person.userId)
          .where('revoked_at', 'is', null)
          .execute();
        assert.deepEqual(live, [], 'their authorizations in the org are revoked');
        // The app cannot keep refreshing for someone who left.
        const refreshed = await refreshRequest(a, client, tokens.refresh_token);
        assert.equal(refreshed.status, 400);
        assert.equal(((await refreshed.json()) as { error: string }).error, 'invalid_grant');
      });

      test('a change in one org leaves the same person’s tokens and sessions in another org alone', async () => {
        const { person, tokens } = await adminWithToken(a, org, client);
        const otherOrg = await createOrg(a.app);
        await cachedOn(b, 'oauthTokens', tokens.access_token, ADMIN_ROUTE);
        assert.equal(
          await changeMemberRole(a.app.deps, {
            orgId: otherOrg.orgId,
            userId: person.userId,
            role: 'member',
          }),
          null,
          'not a member there: nothing to change',
        );
        assert.equal(await removeMember(a.app.deps, { orgId: otherOrg.orgId, userId: person.userId }), null);
        await cachedOn(b, 'oauthTokens', tokens.access_token, ADMIN_ROUTE);
      });
    });
  }
}

/** Node C hears nothing: only the recheck interval brings it back in line with storage. */
function lostInvalidationSuite(handle: () => EngineHandle): void {
  // Wall time at the start: OAuth tokens are stamped by the engine's own clock.
  const clock = new ManualClock(Date.now());
  let a: OAuthTestServer;
  /** A node whose bus nobody publishes to: every message meant for it is lost. */
  let c: TestApp;
  let org: TestOrg;

  before(async () => {
    a = await startOAuthServer(handle(), { clock, bus: new MemoryInvalidationBus() });
    c = await startTestApp(handle(), {
      database: a.app.deps.database,
      clock,
      bus: new MemoryInvalidationBus(),
      env: nodeEnv(a),
    });
    org = await createOrg(a.app);
  });
  after(async () => {
    await c?.close();
    await a?.close();
  });

  /** Still served from the cache up to the end of the interval, then refused: the documented bound. */
  async function servedUntilRecheck(
    verifier: 'oauthTokens' | 'serviceAccounts',
    token: string,
    url: string,
  ): Promise<LightMyRequestResponse> {
    await cachedOn(c, verifier, token, url);
    clock.advance(CREDENTIAL_RECHECK_MS - 1);
    await cachedOn(c, verifier, token, url);
    clock.advance(1);
    return c.call(token, 'GET', url);
  }

  test('a service-account key deleted on another node: its cached token is refused after 30 s', async () => {
    const account = await createAccount(a, org.adminKey, ['read:*']);
    const file = await generateKey(a, org.adminKey, account.id);
    const claims = { sub: account.id, org_id: org.orgId, iss: file.issuer, aud: file.audience };
    const jwt = await mint(await signerOf(file), { ...claims, scopes: ['read:*'] }, clock.now(), {
      lifetime: 3600,
    });
    await cachedOn(c, 'serviceAccounts', jwt, '/v1/suppliers');
    const deleted = await a.call(
      org.adminKey,
      'DELETE',
      `/v1/service-accounts/${account.id}/keys/${file.private_key_id}`,
    );
    assert.equal(deleted.statusCode, 204, deleted.body);
    assertProblem(
      await servedUntilRecheck('serviceAccounts', jwt, '/v1/suppliers'),
      401,
      'revoked_credential',
    );
  });

  test('a service account deleted straight in the database: its cached token is refused after 30 s', async () => {
    const account = await createAccount(a, org.adminKey, ['read:*']);
    const file = await generateKey(a, org.adminKey, account.id);
    const claims = { sub: account.id, org_id: org.orgId, iss: file.issuer, aud: file.audience };
    const jwt = await mint(await signerOf(file), { ...claims, scopes: ['read:*'] }, clock.now(), {
      lifetime: 3600,
    });
    await cachedOn(c, 'serviceAccounts', jwt, '/v1/suppliers');
    await a.app.deps.db
      .updateTable('service_accounts')
      .set({ deleted_at: new Date(clock.now()).toISOString() })
      .where('org_id', '=', org.orgId)
      .where('id', '=', account.id)
      .execute();
    assertProblem(
      await servedUntilRecheck('serviceAccounts', jwt, '/v1/suppliers'),
      401,
      'revoked_credential',
    );
  });

  test('an OAuth authorization revoked on another node: its cached token is refused after 30 s', async () => {
    const client = await registerClient(a, org.adminKey);
    const tokens = await authorize(a, new Browser(a.baseUrl), org, client, ['read:certificates']);
    const authorizationId = decodeJwt(tokens.access_token).authorization_id as string;
    const row = await a.app.deps.db
      .selectFrom('oauth_authorizations')
      .select('grant_id')
      .where('id', '=', authorizationId)
      .executeTakeFirstOrThrow();
    await cachedOn(c, 'oauthTokens', tokens.access_token, MEMBER_ROUTE);
    await a.app.deps.oauth.revokeGrant(row.grant_id);
    assertProblem(await a.call(tokens.access_token, 'GET', MEMBER_ROUTE), 401, 'revoked_credential');
    assertProblem(
      await servedUntilRecheck('oauthTokens', tokens.access_token, MEMBER_ROUTE),
      401,
      'revoked_credential',
    );
  });

  test('a demotion whose message is lost: the cached token loses `admin` after 30 s', async () => {
    const client = await registerClient(a, org.adminKey, {
      name: 'Admin tool',
      scopes: ['read:certificates', 'admin'],
    });
    const { person, tokens } = await adminWithToken(a, org, client);
    await cachedOn(c, 'oauthTokens', tokens.access_token, ADMIN_ROUTE);
    await changeMemberRole(a.app.deps, { orgId: org.orgId, userId: person.userId, role: 'member' });
    assertProblem(
      await servedUntilRecheck('oauthTokens', tokens.access_token, ADMIN_ROUTE),
      403,
      'insufficient_scope',
    );
    assert.equal((await c.call(tokens.access_token, 'GET', MEMBER_ROUTE)).statusCode, 200);
  });
}

// One forEachEngine for the file: its PostgreSQL half awaits a reachability check inside `describe`, and two
// such suites interleaving make node:test file one's tests under the other.
forEachEngine('security: caches that outlive a change', (engine, handle) => {
  describe('a membership change reaches every node’s caches', () => membershipChangeSuites(engine, handle));
  describe('a lost invalidation is caught up within the recheck interval', () =>
    lostInvalidationSuite(handle));
});

describe('VerifiedTokenCache: what a verification read before an eviction may do', () => {
  const context: AuthContext = {
    orgId: 'org_1',
    mode: 'live',
    principal: { kind: 'user', id: 'user_1' },
    scopes: ['admin'],
    expiresAt: null,
    via: 'bearer',
  };
  const entry = (checkedAt: number): VerifiedToken => ({
    context,
    validUntil: checkedAt + 3_600_000,
    checkedAt,
  });

  test('its result is not cached when an eviction happened after it read storage', () => {
    const cache = new VerifiedTokenCache<VerifiedToken>();
    const seen = cache.generation;
    cache.evict(() => true); // the demotion's message arrives while the verification is in flight
    cache.remember('token', entry(0), seen);
    assert.equal(cache.lookup('token', 1), undefined);
    cache.remember('token', entry(0), cache.generation);
    assert.equal(cache.lookup('token', 1), context);
  });

  test('a request after an eviction does not join a verification started before it', async () => {
    const cache = new VerifiedTokenCache<VerifiedToken>();
    let finish: (value: AuthContext) => void = () => {};
    const first = cache.verifyOnce('token', () => new Promise((resolve) => (finish = resolve)));
    assert.equal(
      cache.verifyOnce('token', () => Promise.reject(new Error('not run'))),
      first,
      'a burst shares one',
    );
    cache.evict(() => false);
    const narrowed: AuthContext = { ...context, scopes: ['read:*'] };
    const second = cache.verifyOnce('token', () => Promise.resolve(narrowed));
    assert.notEqual(second, first);
    finish(context);
    assert.equal(await second, narrowed);
    assert.equal(await first, context);
  });

  test('an entry is served until the recheck interval after its storage read, then it is a miss', () => {
    const cache = new VerifiedTokenCache<VerifiedToken>(10, CREDENTIAL_RECHECK_MS);
    cache.remember('token', entry(1000), cache.generation);
    assert.equal(cache.lookup('token', 1000 + CREDENTIAL_RECHECK_MS - 1), context);
    assert.equal(cache.lookup('token', 1000 + CREDENTIAL_RECHECK_MS), undefined);
    assert.equal(cache.lookup('token', 1000 + CREDENTIAL_RECHECK_MS), undefined, 'and forgotten');
  });
});
