/**
 * Token revocation (RFC 7009) of access tokens (JWTs), on every engine: the client a token was issued to
 * revokes it (a public one with its client_id alone), the API refuses it at once on this node and within a
 * second on another (Redis bus), and within the 30 s recheck on a node that heard nothing; another client's
 * attempt changes nothing and says nothing; the record is kept until the token expires, then purged.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { purgeRevokedTokens } from '../../src/auth/oauth/revoked-tokens.ts';
import { ManualClock } from '../../src/clock.ts';
import { MemoryInvalidationBus } from '../../src/state/invalidation-bus.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  authorize,
  Browser,
  type OAuthTestServer,
  postForm,
  type RegisteredClient,
  refreshRequest,
  registerClient,
  startOAuthServer,
} from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';

type Caller = Pick<RegisteredClient, 'client_id' | 'client_secret'>;

function revoke(t: OAuthTestServer, token: string, caller?: Caller, hint?: string) {
  return postForm(
    t.as.revocation_endpoint as string,
    { token, ...(hint ? { token_type_hint: hint } : {}) },
    caller,
  );
}

async function revokedRows(t: Pick<TestApp, 'app'>, jti: string) {
  return t.app.deps.db.selectFrom('oauth_revoked_tokens').selectAll().where('jti', '=', jti).execute();
}

forEachEngine('oauth: revocation of access tokens (RFC 7009)', (_engine, handle) => {
  let t: OAuthTestServer;
  let org: TestOrg;
  let other: TestOrg;
  let client: RegisteredClient;
  let sibling: RegisteredClient;
  let foreign: RegisteredClient;
  let spa: RegisteredClient;

  before(async () => {
    t = await startOAuthServer(handle());
    org = await createOrg(t.app);
    other = await createOrg(t.app);
    client = await registerClient(t, org.adminKey, { name: 'Supplier portal' });
    sibling = await registerClient(t, org.adminKey, { name: 'Another app of the same org' });
    foreign = await registerClient(t, other.adminKey, { name: 'An app of another org' });
    spa = await registerClient(t, org.adminKey, { name: 'SPA', client_type: 'public' });
  });
  after(() => t.close());

  test('its client revokes an access token: refused at once (cached or not), the refresh token lives on', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    // Warm the verified-token cache: the revocation must reach a cached token too.
    assert.equal((await t.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    assert.equal((await t.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);

    const response = await revoke(t, tokens.access_token, client, 'access_token');
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '');
    assertProblem(await t.call(tokens.access_token, 'GET', '/v1/certificates'), 401, 'revoked_credential');
    const introspected = await postForm(
      t.as.introspection_endpoint as string,
      { token: tokens.access_token },
      client,
    );
    assert.deepEqual(await introspected.json(), { active: false });

    // One token ends, not the authorization: the refresh token still gets a new, working access token.
    const refreshed = await refreshRequest(t, client, tokens.refresh_token);
    assert.equal(refreshed.status, 200);
    const fresh = (await refreshed.json()) as { access_token: string };
    assert.equal((await t.call(fresh.access_token, 'GET', '/v1/certificates')).statusCode, 200);

    // Revoking again is fine (RFC 7009 §2.2) and keeps one record.
    assert.equal((await revoke(t, tokens.access_token, client)).status, 200);
    const jti = decodeJwt(tokens.access_token).jti as string;
    const rows = await revokedRows(t, jti);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.org_id, org.orgId);
    assert.equal(rows[0]?.client_id, client.client_id);

    // Recorded in the org's audit log, naming the token by its jti only.
    const events = await t.call(org.adminKey, 'GET', '/v1/audit-events?action=oauth.access_token_revoked');
    assert.equal(events.statusCode, 200);
    const found = (
      events.json().data as { action: string; actor: { id: string }; metadata: { jti: string } }[]
    ).filter((event) => event.metadata.jti === jti);
    assert.equal(found.length, 1);
    assert.equal(found[0]?.actor.id, client.client_id);
    assert.ok(
      !JSON.stringify(events.json()).includes(tokens.access_token),
      'the token is never in the audit log',
    );
  });

  test('another client, of the same org or another, gets 200 and changes nothing', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    for (const caller of [sibling, foreign, spa]) {
      const response = await revoke(t, tokens.access_token, caller);
      assert.equal(response.status, 200, `revocation by ${caller.client_id}`);
      assert.equal(await response.text(), '');
      const refresh = await revoke(t, tokens.refresh_token, caller);
      assert.equal(refresh.status, 200);
    }
    assert.equal((await t.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    assert.equal((await revokedRows(t, decodeJwt(tokens.access_token).jti as string)).length, 0);
    assert.equal((await refreshRequest(t, client, tokens.refresh_token)).status, 200);
  });

  test('a public client revokes its own tokens with its client_id alone', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, spa, ['read:certificates']);
    assert.equal((await t.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    assert.equal((await revoke(t, tokens.access_token, spa)).status, 200);
    assertProblem(await t.call(tokens.access_token, 'GET', '/v1/certificates'), 401, 'revoked_credential');
    assert.equal((await revoke(t, tokens.refresh_token, spa)).status, 200);
    assert.equal((await refreshRequest(t, spa, tokens.refresh_token)).status, 400);
  });

  test('no client identification, or a wrong secret: refused; a token that is not ours: 200', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    const anonymous = await revoke(t, tokens.access_token);
    assert.ok(anonymous.status === 400 || anonymous.status === 401, `status ${anonymous.status}`);
    const wrongSecret = await revoke(t, tokens.access_token, {
      ...client,
      client_secret: `${client.client_secret}x`,
    });
    assert.equal(wrongSecret.status, 401);
    assert.equal(((await wrongSecret.json()) as { error: string }).error, 'invalid_client');
    assert.equal((await t.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);

    assert.equal((await revoke(t, 'not-a-token', client)).status, 200);
    const [header, payload] = tokens.access_token.split('.') as [string, string];
    assert.equal((await revoke(t, `${header}.${payload}.AAAA`, client)).status, 200);
    assert.equal((await t.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
  });

  test('the record is kept until the token expires, then purged', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    const { jti, exp } = decodeJwt(tokens.access_token) as { jti: string; exp: number };
    assert.equal((await revoke(t, tokens.access_token, client)).status, 200);
    assert.equal(
      await purgeRevokedTokens(t.app.deps.db, exp * 1000),
      0,
      'still needed while the token is valid',
    );
    assert.equal((await revokedRows(t, jti)).length, 1);
    // Past exp and the verifier's clock skew, the signature check refuses the token on its own.
    assert.ok((await purgeRevokedTokens(t.app.deps.db, (exp + 61) * 1000)) >= 1);
    assert.equal((await revokedRows(t, jti)).length, 0);
  });
});

forEachEngine('oauth: a revoked access token across nodes', (_engine, handle) => {
  let a: OAuthTestServer;
  let b: TestApp;
  /** Node C hears nothing (its own bus): only the 30 s recheck, which reads the denylist, can stop it. */
  let c: TestApp;
  const clock = new ManualClock(Date.now());
  let org: TestOrg;
  const redis = {
    COHERA_REDIS_URL: process.env.COHERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    COHERA_REDIS_PREFIX: `cohera-test-${randomBytes(4).toString('hex')}:`,
  };

  before(async () => {
    a = await startOAuthServer(handle(), { env: redis });
    const nodeEnv = {
      COHERA_PUBLIC_URL: a.baseUrl,
      COHERA_MASTER_KEY: a.config.masterKey.toString('base64'),
    };
    b = await startTestApp(handle(), { database: a.app.deps.database, env: { ...redis, ...nodeEnv } });
    c = await startTestApp(handle(), {
      database: a.app.deps.database,
      clock,
      bus: new MemoryInvalidationBus(),
      env: nodeEnv,
    });
    org = await createOrg(a.app);
  });
  after(async () => {
    await c?.close();
    await b?.close();
    await a?.close();
  });

  test('revoked on node A: node B refuses the token it had cached within a second', async () => {
    const client = await registerClient(a, org.adminKey);
    const tokens = await authorize(a, new Browser(a.baseUrl), org, client, ['read:certificates']);
    assert.equal((await b.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    const hits = b.app.deps.oauthTokens.hits;
    assert.equal((await b.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    assert.equal(b.app.deps.oauthTokens.hits, hits + 1, 'node B answered from its cache');

    const started = Date.now();
    assert.equal((await revoke(a, tokens.access_token, client)).status, 200);
    let status = 200;
    while (Date.now() - started < 1000) {
      status = (await b.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode;
      if (status === 401) break;
      await sleep(20);
    }
    assert.equal(status, 401, `node B still accepted the token ${Date.now() - started} ms after revocation`);
  });

  test('an app’s scopes narrowed on node A: node B refuses the tokens beyond them within a second', async () => {
    const client = await registerClient(a, org.adminKey, {
      name: 'Narrowed on A',
      scopes: ['read:certificates', 'read:suppliers'],
    });
    const tokens = await authorize(a, new Browser(a.baseUrl), org, client, [
      'read:certificates',
      'read:suppliers',
    ]);
    assert.equal((await b.call(tokens.access_token, 'GET', '/v1/suppliers')).statusCode, 200);
    assert.equal((await b.call(tokens.access_token, 'GET', '/v1/suppliers')).statusCode, 200);
    const started = Date.now();
    const narrowed = await a.call(org.adminKey, 'PATCH', `/v1/oauth/clients/${client.id}`, {
      scopes: ['read:certificates'],
    });
    assert.equal(narrowed.statusCode, 200);
    let status = 200;
    while (Date.now() - started < 1000) {
      status = (await b.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode;
      if (status === 401) break;
      await sleep(20);
    }
    assert.equal(status, 401, `node B still accepted the token ${Date.now() - started} ms after the change`);
  });

  test('a node that missed the message refuses the token at its next recheck (30 s)', async () => {
    const client = await registerClient(a, org.adminKey, { name: 'Recheck app' });
    const tokens = await authorize(a, new Browser(a.baseUrl), org, client, ['read:certificates']);
    assert.equal((await c.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    assert.equal((await revoke(a, tokens.access_token, client)).status, 200);
    // Nothing told node C: it serves its cached answer until the recheck interval has passed.
    assert.equal((await c.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    clock.advance(30_000);
    assertProblem(await c.call(tokens.access_token, 'GET', '/v1/certificates'), 401, 'revoked_credential');
  });
});
