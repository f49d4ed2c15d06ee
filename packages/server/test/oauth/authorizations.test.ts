/**
 * What users control and what the API enforces about OAuth grants, on every engine: the signed-in user's
 * list of authorized apps and revoking one; isolation between users and between orgs (an app registered by
 * one org, authorized by a person of another, acts in that person's org only); signing-key rotation that
 * keeps tokens in flight valid; and revocation reaching another node within a second.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JWK, jwtVerify } from 'jose';
import { EngineSigningKey } from '../../src/auth/oauth/engine-signing-key.ts';
import {
  findPublicSigningKey,
  RETIRED_KEY_OVERLAP_MS,
  rotateSigningKey,
} from '../../src/auth/oauth/signing-keys.ts';
import { changeMemberRole, removeMember } from '../../src/users/memberships.ts';
import { createMember, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  authorizationRequest,
  authorize,
  Browser,
  exchangeCode,
  type OAuthTestServer,
  type RegisteredClient,
  refreshRequest,
  registerClient,
  runAuthorization,
  startOAuthServer,
} from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';

interface AuthorizationObject {
  id: string;
  object: string;
  client: { id: string; name: string };
  scopes: string[];
  mode: string;
  created_at: string;
  last_used_at: string | null;
}

/** A signed-in browser's session calls: the cookie and the CSRF token from GET /auth/session. */
async function sessionOf(t: OAuthTestServer, browser: Browser) {
  const info = await browser.request(`${t.baseUrl}/auth/session`);
  const { csrf_token: csrf } = (await info.json()) as { csrf_token: string };
  return {
    list: () =>
      t.app.inject({
        method: 'GET',
        url: '/v1/oauth/authorizations',
        headers: { cookie: browser.cookieHeader },
      }),
    revoke: (id: string, withCsrf = true) =>
      t.app.inject({
        method: 'DELETE',
        url: `/v1/oauth/authorizations/${id}`,
        headers: { cookie: browser.cookieHeader, ...(withCsrf ? { 'x-csrf-token': csrf } : {}) },
      }),
  };
}

forEachEngine('oauth: authorizations, isolation, key rotation', (_engine, handle) => {
  let t: OAuthTestServer;
  let org: TestOrg;
  let other: TestOrg;
  let client: RegisteredClient;

  before(async () => {
    t = await startOAuthServer(handle());
    org = await createOrg(t.app);
    other = await createOrg(t.app);
    client = await registerClient(t, org.adminKey, { name: 'Compliance dashboard' });
  });
  after(() => t.close());

  test('the user lists the apps they authorized, and revoking one ends its tokens at once', async () => {
    const browser = new Browser(t.baseUrl);
    const tokens = await authorize(t, browser, org, client, ['read:certificates', 'read:suppliers']);
    // Warm the verified-token cache: revocation must reach cached tokens too.
    assert.equal((await t.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    assert.equal((await t.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);

    const session = await sessionOf(t, browser);
    const listed = await session.list();
    assert.equal(listed.statusCode, 200, listed.body);
    const mine = (listed.json().data as AuthorizationObject[]).find((a) => a.client.id === client.id);
    assert.ok(mine);
    assert.match(mine.id, /^grt_/);
    assert.equal(mine.object, 'oauth_authorization');
    assert.equal(mine.client.name, 'Compliance dashboard');
    assert.deepEqual(mine.scopes, ['read:certificates', 'read:suppliers']);
    assert.equal(mine.mode, 'live');
    assert.ok(mine.last_used_at, 'the API call shows as the last use');

    assertProblem(await session.revoke(mine.id, false), 403, 'csrf_failed');
    const revoked = await session.revoke(mine.id);
    assert.equal(revoked.statusCode, 204, revoked.body);
    assertProblem(await t.call(tokens.access_token, 'GET', '/v1/certificates'), 401, 'revoked_credential');
    assert.equal((await refreshRequest(t, client, tokens.refresh_token)).status, 400);
    const after = (await session.list()).json().data as AuthorizationObject[];
    assert.ok(!after.some((a) => a.id === mine.id));
    assertProblem(await session.revoke(mine.id), 404, 'not_found');

    // Consent is asked again: the remembered grant is gone.
    const again = await runAuthorization(
      browser,
      await authorizationRequest(t.as, client, ['read:certificates']),
      org,
    );
    assert.equal(again.consentShown, true);
  });

  test('only a dashboard session may list or revoke authorizations, never a bearer credential', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    for (const credential of [org.adminKey, tokens.access_token]) {
      const response = await t.call(credential, 'GET', '/v1/oauth/authorizations');
      const problem = assertProblem(response, 401, 'missing_credential');
      assert.match(problem.detail ?? '', /needs a dashboard session/);
    }
  });

  test('one user never sees or revokes another user’s authorizations', async () => {
    const member = await createMember(t, org, 'member');
    const ownerBrowser = new Browser(t.baseUrl);
    await authorize(t, ownerBrowser, org, client, ['read:certificates']);
    const memberBrowser = new Browser(t.baseUrl);
    await authorize(t, memberBrowser, member, client, ['read:suppliers']);

    const owner = await sessionOf(t, ownerBrowser);
    const ownerList = (await owner.list()).json().data as AuthorizationObject[];
    const memberSession = await sessionOf(t, memberBrowser);
    const memberList = (await memberSession.list()).json().data as AuthorizationObject[];
    assert.equal(memberList.length, 1);
    assert.deepEqual(memberList[0]?.scopes, ['read:suppliers']);
    assert.ok(!ownerList.some((a) => a.id === memberList[0]?.id));
    for (const theirs of ownerList) assertProblem(await memberSession.revoke(theirs.id), 404, 'not_found');
    assert.equal(
      (await owner.list()).json().data.length,
      ownerList.length,
      'nothing of the owner’s was revoked',
    );
  });

  test('an app of one org, authorized by a person of another, acts in that person’s org only', async () => {
    const supplier = await t.call(org.adminKey, 'POST', '/v1/suppliers', {
      name: 'Org A supplier',
      country: 'SE',
    });
    const theirSupplier = await t.call(other.adminKey, 'POST', '/v1/suppliers', {
      name: 'Org B',
      country: 'FI',
    });
    const browser = new Browser(t.baseUrl);
    const request = await authorizationRequest(t.as, client, ['read:suppliers']);
    const { callback, consentHtml } = await runAuthorization(browser, request, other);
    assert.match(consentHtml ?? '', /registered by Org \d+/, 'the consent page names the developer org');
    const tokens = await exchangeCode(t.as, client, request, callback);
    assert.equal(decodeJwt(tokens.access_token).org_id, other.orgId);

    const list = await t.call(tokens.access_token, 'GET', '/v1/suppliers');
    assert.deepEqual(
      list.json().data.map((s: { id: string }) => s.id),
      [theirSupplier.json().id],
    );
    assertProblem(
      await t.call(tokens.access_token, 'GET', `/v1/suppliers/${supplier.json().id}`),
      404,
      'not_found',
    );
    // The authorization is the person's, in their org: the developer org's people do not see it.
    const ownerBrowser = new Browser(t.baseUrl);
    await ownerBrowser.signIn(org);
    const ownerList = (await (await sessionOf(t, ownerBrowser)).list()).json().data as AuthorizationObject[];
    assert.ok(!ownerList.some((a) => a.id === decodeJwt(tokens.access_token).authorization_id));
  });

  test('a test-mode app sees test data only', async () => {
    const testKey = (
      await t.call(org.adminKey, 'POST', '/v1/api-keys', { name: 'sandbox', scopes: ['admin'], mode: 'test' })
    ).json().key as string;
    const sandbox = await registerClient(t, testKey, { name: 'Sandbox app' });
    assert.equal(sandbox.mode, 'test');
    await t.call(org.adminKey, 'POST', '/v1/suppliers', { name: 'Live supplier', country: 'DE' });
    const testSupplier = await t.call(testKey, 'POST', '/v1/suppliers', {
      name: 'Test supplier',
      country: 'DE',
    });
    const tokens = await authorize(t, new Browser(t.baseUrl), org, sandbox, ['read:suppliers']);
    const health = (await t.call(tokens.access_token, 'GET', '/health')).json();
    assert.equal(health.auth.mode, 'test');
    const list = await t.call(tokens.access_token, 'GET', '/v1/suppliers?limit=100');
    assert.deepEqual(
      list.json().data.map((s: { id: string }) => s.id),
      [testSupplier.json().id],
    );
  });

  test('a removed member’s tokens stop working; a demoted one keeps only what the new role holds', async () => {
    const adminApp = await registerClient(t, org.adminKey, {
      name: 'Admin tool',
      scopes: ['read:certificates', 'admin'],
    });
    const member = await createMember(t, org, 'admin');
    const tokens = await authorize(t, new Browser(t.baseUrl), member, adminApp, [
      'read:certificates',
      'admin',
    ]);
    assert.deepEqual((await t.call(tokens.access_token, 'GET', '/health')).json().auth.scopes, [
      'read:certificates',
      'admin',
    ]);
    // The token is cached now; the membership functions evict it (test/security/cache-staleness.test.ts
    // checks the same across nodes and transports).
    await changeMemberRole(t.app.deps, { orgId: org.orgId, userId: member.userId, role: 'member' });
    assert.deepEqual((await t.call(tokens.access_token, 'GET', '/health')).json().auth.scopes, [
      'read:certificates',
    ]);
    await removeMember(t.app.deps, { orgId: org.orgId, userId: member.userId });
    assertProblem(await t.call(tokens.access_token, 'GET', '/v1/certificates'), 401, 'revoked_credential');
  });

  test('after a change of master key, stored OAuth state is unreadable and refused as invalid, not a 500', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    const rekeyed = await startTestApp(handle(), {
      database: t.app.deps.database,
      env: { COHERA_PUBLIC_URL: t.baseUrl, COHERA_MASTER_KEY: randomBytes(32).toString('base64') },
    });
    try {
      const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
      const response = await rekeyed.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
        payload: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: tokens.refresh_token,
        }).toString(),
      });
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json().error, 'invalid_grant');
      // Access tokens verify with public keys, which are not sealed: they keep working until they expire.
      assert.equal((await rekeyed.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    } finally {
      await rekeyed.close();
    }
  });

  test('access tokens are ES256 JWS (R‖S, 64 bytes) that verify with the published key set, and nothing else', async () => {
    const browser = new Browser(t.baseUrl);
    const tokens = await authorize(t, browser, org, client, ['read:certificates']);
    const jwks = createLocalJWKSet(
      (await (await fetch(`${t.baseUrl}/.well-known/jwks.json`)).json()) as { keys: JWK[] },
    );
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: t.config.publicUrl,
      audience: t.config.audience,
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.org_id, org.orgId);
    const signature = Buffer.from(tokens.access_token.split('.')[2] as string, 'base64url');
    assert.equal(signature.length, 64);
    // One bit of the signature changed: refused by the key set, and by the API.
    const flipped = Buffer.from(signature);
    flipped[10] = (flipped[10] as number) ^ 1;
    const forged = `${tokens.access_token.split('.').slice(0, 2).join('.')}.${flipped.toString('base64url')}`;
    await assert.rejects(jwtVerify(forged, jwks), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    assertProblem(await t.call(forged, 'GET', '/v1/certificates'), 401, 'invalid_credential');
  });

  test('the engine signing key keeps its private half to itself, and refuses a key that is not P-256', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'osk_test' } as JWK;
    const key = new EngineSigningKey(jwk);
    assert.equal(key.keyObject().type, 'public');
    assert.deepEqual([key.kid, key.alg, key.kty, key.crv], ['osk_test', 'ES256', 'EC', 'P-256']);
    assert.equal((key as unknown as { d?: string }).d, undefined);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    assert.throws(() => new EngineSigningKey({ ...rsa, kid: 'k' } as JWK), /P-256/);
    assert.throws(() => new EngineSigningKey({ ...jwk, kid: undefined } as JWK), /kid/);
  });

  test('rotating the signing key: new tokens use the new key, tokens in flight stay valid for the overlap', async () => {
    const browser = new Browser(t.baseUrl);
    const before = await authorize(t, browser, org, client, ['read:certificates']);
    const oldKid = decodeProtectedHeader(before.access_token).kid as string;

    const newKid = await rotateSigningKey(t.app.deps.db, t.config.masterKey, Date.now());
    assert.equal(await t.app.deps.oauth.reloadKeys(), true);
    const afterRotation = await authorize(t, browser, org, client, ['read:certificates']);
    assert.equal(decodeProtectedHeader(afterRotation.access_token).kid, newKid);
    assert.notEqual(newKid, oldKid);

    const jwks = (await (await fetch(`${t.baseUrl}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    const kids = jwks.keys.map((k) => k.kid);
    assert.equal(kids[0], newKid, 'the signing key first');
    assert.ok(kids.includes(oldKid), 'the retired key is still published');
    await t.app.deps.bus.publish({ kind: 'all' }); // verify from scratch, not from the cache
    assert.equal((await t.call(before.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    assert.equal((await t.call(afterRotation.access_token, 'GET', '/v1/certificates')).statusCode, 200);

    // Past the overlap the retired key is no longer accepted (nor published).
    const later = Date.now() + RETIRED_KEY_OVERLAP_MS + 1000;
    assert.equal(await findPublicSigningKey(t.app.deps.db, oldKid, later), null);
    assert.ok(await findPublicSigningKey(t.app.deps.db, newKid, later));
  });

  test('a token signed by a key that is not ours, or altered, is refused', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    const [header, payload, signature] = tokens.access_token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, scopes: ['admin'] })).toString('base64url');
    assertProblem(
      await t.call(`${header}.${widened}.${signature}`, 'GET', '/v1/api-keys'),
      401,
      'invalid_credential',
    );
    const otherOrg = Buffer.from(JSON.stringify({ ...claims, org_id: other.orgId })).toString('base64url');
    assertProblem(
      await t.call(`${header}.${otherOrg}.${signature}`, 'GET', '/v1/suppliers'),
      401,
      'invalid_credential',
    );
    const unknownKid = Buffer.from(
      JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: `osk_${'A'.repeat(22)}` }),
    ).toString('base64url');
    assertProblem(
      await t.call(`${unknownKid}.${payload}.${signature}`, 'GET', '/v1/suppliers'),
      401,
      'invalid_credential',
    );
    const none = Buffer.from(
      JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: decodeProtectedHeader(tokens.access_token).kid }),
    ).toString('base64url');
    assertProblem(await t.call(`${none}.${payload}.`, 'GET', '/v1/suppliers'), 401, 'invalid_credential');
    assertProblem(
      await t.call(`${none}.${payload}.${signature}`, 'GET', '/v1/suppliers'),
      401,
      'invalid_credential',
    );
  });
});

forEachEngine('oauth: revocation across two nodes', (_engine, handle) => {
  let a: OAuthTestServer;
  let b: TestApp;
  let org: TestOrg;
  const redis = {
    COHERA_REDIS_URL: process.env.COHERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    COHERA_REDIS_PREFIX: `cohera-test-${randomBytes(4).toString('hex')}:`,
  };

  before(async () => {
    a = await startOAuthServer(handle(), { env: redis });
    // Node B: its own caches and its own Redis subscription, on the same database and issuer.
    b = await startTestApp(handle(), {
      database: a.app.deps.database,
      env: {
        ...redis,
        COHERA_PUBLIC_URL: a.baseUrl,
        COHERA_MASTER_KEY: a.config.masterKey.toString('base64'),
      },
    });
    org = await createOrg(a.app);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  test('revoking an authorization on node A: node B refuses the cached token within a second', async () => {
    const client = await registerClient(a, org.adminKey);
    const browser = new Browser(a.baseUrl);
    const tokens = await authorize(a, browser, org, client, ['read:certificates']);
    assert.equal((await b.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    const hits = b.app.deps.oauthTokens.hits;
    assert.equal((await b.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    assert.equal(b.app.deps.oauthTokens.hits, hits + 1, 'node B answered from its cache');

    const session = await sessionOf(a, browser);
    const mine = ((await session.list()).json().data as AuthorizationObject[])[0] as AuthorizationObject;
    const started = Date.now();
    assert.equal((await session.revoke(mine.id)).statusCode, 204);
    let status = 200;
    while (Date.now() - started < 1000) {
      status = (await b.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode;
      if (status === 401) break;
      await sleep(20);
    }
    assert.equal(status, 401, `node B still accepted the token ${Date.now() - started} ms after revocation`);
  });
});
