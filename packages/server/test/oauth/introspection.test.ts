/**
 * Token introspection (RFC 7662) for every token we issue, on every engine: JWT access tokens (which the
 * engine cannot look up: access-token-endpoints.ts answers for them) and refresh tokens (the engine's,
 * completed with `org_id` and `token_type`). Only the client a token was issued to learns anything; every
 * other caller gets `{active: false}` or an authentication error, and a token whose authorization ended
 * (revoked, client deleted, person removed, expired) is inactive.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decodeJwt } from 'jose';
import { ManualClock } from '../../src/clock.ts';
import { createMember, createOrg, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  authorize,
  Browser,
  type OAuthTestServer,
  postForm,
  type RegisteredClient,
  registerClient,
  startOAuthServer,
} from '../support/oauth.ts';

type Answer = Record<string, unknown>;

forEachEngine('oauth: introspection (RFC 7662)', (_engine, handle) => {
  // Wall time at the start: the engine stamps tokens with its own clock; ours moves only when told.
  const clock = new ManualClock(Date.now());
  let t: OAuthTestServer;
  let org: TestOrg;
  let other: TestOrg;
  let client: RegisteredClient;
  let sibling: RegisteredClient;
  let foreign: RegisteredClient;
  let spa: RegisteredClient;

  const introspect = (
    token: string,
    as?: Pick<RegisteredClient, 'client_id' | 'client_secret'>,
    hint?: string,
  ) =>
    postForm(
      t.as.introspection_endpoint as string,
      { token, ...(hint ? { token_type_hint: hint } : {}) },
      as,
    );
  const answerOf = async (
    token: string,
    as: Pick<RegisteredClient, 'client_id' | 'client_secret'> = client,
  ) => {
    const response = await introspect(token, as);
    assert.equal(response.status, 200);
    return (await response.json()) as Answer;
  };

  before(async () => {
    t = await startOAuthServer(handle(), { clock });
    org = await createOrg(t.app);
    other = await createOrg(t.app);
    client = await registerClient(t, org.adminKey, { name: 'Supplier portal' });
    sibling = await registerClient(t, org.adminKey, { name: 'Another app of the same org' });
    foreign = await registerClient(t, other.adminKey, { name: 'An app of another org' });
    spa = await registerClient(t, org.adminKey, { name: 'SPA', client_type: 'public' });
  });
  after(() => t.close());

  test('an access token, asked about by its client: active, with the RFC 7662 fields and ours', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, [
      'read:certificates',
      'read:suppliers',
    ]);
    const response = await introspect(tokens.access_token, client);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await response.json()) as Answer;
    const claims = decodeJwt(tokens.access_token);
    assert.deepEqual(body, {
      active: true,
      scope: 'read:certificates read:suppliers',
      client_id: client.client_id,
      sub: org.userId,
      org_id: org.orgId,
      mode: 'live',
      exp: claims.exp,
      iat: claims.iat,
      iss: t.baseUrl,
      aud: t.config.audience,
      jti: claims.jti,
      token_type: 'access_token',
    });
    // The hint is a hint: a wrong one changes nothing (RFC 7662 §2.1).
    const hinted = await introspect(tokens.access_token, client, 'refresh_token');
    assert.equal(((await hinted.json()) as Answer).active, true);
  });

  test('a refresh token: active, with org_id and token_type', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    const body = await answerOf(tokens.refresh_token);
    assert.equal(body.active, true);
    assert.equal(body.token_type, 'refresh_token');
    assert.equal(body.client_id, client.client_id);
    assert.equal(body.sub, org.userId);
    assert.equal(body.org_id, org.orgId);
    assert.equal(body.scope, 'read:certificates');
    assert.equal(typeof body.exp, 'number');
  });

  test('another client, of the same org or another, learns nothing: {active: false}', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    for (const caller of [sibling, foreign]) {
      assert.deepEqual(await answerOf(tokens.access_token, caller), { active: false });
      assert.deepEqual(await answerOf(tokens.refresh_token, caller), { active: false });
    }
    // The same answer as for a string that never was a token, and for an altered one.
    assert.deepEqual(await answerOf('not-a-token'), { active: false });
    const [header, payload, signature] = tokens.access_token.split('.') as [string, string, string];
    const altered = `${header}.${payload}.${signature.slice(0, -4)}${signature.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    assert.deepEqual(await answerOf(altered), { active: false });
    const forged = Buffer.from(
      JSON.stringify({ ...decodeJwt(tokens.access_token), scopes: ['admin'], scope: 'admin' }),
    ).toString('base64url');
    assert.deepEqual(await answerOf(`${header}.${forged}.${signature}`), { active: false });
  });

  test('introspection requires client authentication: public clients and anonymous callers are refused', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    for (const token of [tokens.access_token, tokens.refresh_token, 'not-a-token']) {
      const byPublic = await introspect(token, spa);
      assert.equal(byPublic.status, 400);
      assert.equal(((await byPublic.json()) as Answer).error, 'invalid_client');
    }
    const anonymous = await introspect(tokens.access_token);
    assert.ok(anonymous.status === 400 || anonymous.status === 401, `status ${anonymous.status}`);
    const anonymousBody = (await anonymous.json()) as Answer;
    assert.ok(['invalid_client', 'invalid_request'].includes(String(anonymousBody.error)));
    assert.equal(anonymousBody.active, undefined);
    const wrongSecret = await introspect(tokens.access_token, {
      ...client,
      client_secret: `${client.client_secret}x`,
    });
    assert.equal(wrongSecret.status, 401);
    assert.equal(((await wrongSecret.json()) as Answer).error, 'invalid_client');
  });

  test('inactive once the person revoked the authorization', async () => {
    const browser = new Browser(t.baseUrl);
    const tokens = await authorize(t, browser, org, client, ['read:certificates']);
    const info = await browser.request(`${t.baseUrl}/auth/session`);
    const { csrf_token: csrf } = (await info.json()) as { csrf_token: string };
    const headers = { cookie: browser.cookieHeader, 'x-csrf-token': csrf };
    const list = await t.app.inject({ method: 'GET', url: '/v1/oauth/authorizations', headers });
    const mine = (list.json().data as { id: string; client: { id: string } }[]).find(
      (a) => a.client.id === client.client_id,
    );
    assert.ok(mine);
    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/v1/oauth/authorizations/${mine.id}`,
      headers,
    });
    assert.equal(revoked.statusCode, 204);
    assert.deepEqual(await answerOf(tokens.access_token), { active: false });
    assert.deepEqual(await answerOf(tokens.refresh_token), { active: false });
  });

  test('inactive once the person left the org', async () => {
    const member = await createMember(t, org, 'member');
    const tokens = await authorize(t, new Browser(t.baseUrl), member, client, ['read:certificates']);
    assert.equal((await answerOf(tokens.access_token)).active, true);
    assert.equal((await answerOf(tokens.refresh_token)).active, true);
    // The membership row itself (the teams API's removal also evicts caches; introspection never caches).
    await t.app.deps.db
      .deleteFrom('memberships')
      .where('org_id', '=', org.orgId)
      .where('user_id', '=', member.userId)
      .execute();
    assert.deepEqual(await answerOf(tokens.access_token), { active: false });
    assert.deepEqual(await answerOf(tokens.refresh_token), { active: false });
  });

  test('after the client is deleted its tokens are refused everywhere, and it can no longer ask', async () => {
    const doomed = await registerClient(t, org.adminKey, { name: 'Doomed app' });
    const tokens = await authorize(t, new Browser(t.baseUrl), org, doomed, ['read:certificates']);
    assert.equal((await answerOf(tokens.access_token, doomed)).active, true);
    const deleted = await t.call(org.adminKey, 'DELETE', `/v1/oauth/clients/${doomed.id}`);
    assert.equal(deleted.statusCode, 204);
    const asked = await introspect(tokens.access_token, doomed);
    assert.equal(asked.status, 401);
    assert.equal(((await asked.json()) as Answer).error, 'invalid_client');
    assert.equal((await t.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 401);
  });

  test('an expired access token is inactive', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    assert.equal((await answerOf(tokens.access_token)).active, true);
    const exp = decodeJwt(tokens.access_token).exp as number;
    clock.set((exp + 61) * 1000);
    try {
      assert.deepEqual(await answerOf(tokens.access_token), { active: false });
    } finally {
      clock.set(Date.now());
    }
  });
});
