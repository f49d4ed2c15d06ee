/**
 * The OAuth authorization-code flow end to end on every engine, with oauth4webapi as the app: a real
 * listening server, sign-in and consent through our pages, tokens used at the API. Then each RFC 9700
 * behaviour: replayed codes, refresh rotation and reuse detection, PKCE, exact redirect URIs, deny, state
 * and `iss`, revocation and introspection.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import { createMember, createOrg, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  authorizationRequest,
  authorize,
  Browser,
  exchangeCode,
  type OAuthTestServer,
  postForm,
  REDIRECT_URI,
  type RegisteredClient,
  refreshRequest,
  registerClient,
  runAuthorization,
  startOAuthServer,
} from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';

interface OAuthError {
  error: string;
  error_description?: string;
}

forEachEngine('oauth: authorization code flow', (_engine, handle) => {
  let t: OAuthTestServer;
  let org: TestOrg;
  let client: RegisteredClient;

  before(async () => {
    t = await startOAuthServer(handle());
    org = await createOrg(t.app);
    client = await registerClient(t, org.adminKey);
  });
  after(() => t.close());

  const api = (token: string, method: 'GET' | 'POST', url: string, body?: unknown) =>
    t.call(token, method, url, body);

  test('authorize → sign in → consent → code → tokens → API: 200 within scope, 403 beyond', async () => {
    const browser = new Browser(t.baseUrl);
    const request = await authorizationRequest(t.as, client, ['read:certificates', 'read:suppliers']);
    const { callback, consentShown, consentHtml } = await runAuthorization(browser, request, org);
    assert.equal(consentShown, true);
    assert.match(consentHtml ?? '', /Supplier portal/);
    assert.match(consentHtml ?? '', /Read certificate data/);
    assert.match(consentHtml ?? '', /Read supplier data/);
    // The response carries the code, the state back, and the issuer (RFC 9207); never a token.
    assert.equal(callback.origin + callback.pathname, REDIRECT_URI);
    assert.deepEqual([...callback.searchParams.keys()].sort(), ['code', 'iss', 'state']);
    assert.equal(callback.searchParams.get('state'), request.state);
    assert.equal(callback.searchParams.get('iss'), t.baseUrl);

    const tokens = await exchangeCode(t.as, client, request, callback);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.expires_in, 3600);
    assert.ok(tokens.refresh_token, 'a refresh token without asking for offline_access');

    const header = decodeProtectedHeader(tokens.access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'ES256');
    assert.match(String(header.kid), /^osk_/);
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.iss, t.baseUrl);
    assert.equal(claims.aud, t.config.audience);
    assert.equal(claims.sub, org.userId);
    assert.equal(claims.org_id, org.orgId);
    assert.equal(claims.client_id, client.client_id);
    assert.deepEqual(claims.scopes, ['read:certificates', 'read:suppliers']);
    assert.equal(typeof claims.jti, 'string');
    assert.equal((claims.exp as number) - (claims.iat as number), 3600);

    const list = await api(tokens.access_token, 'GET', '/v1/certificates');
    assert.equal(list.statusCode, 200, list.body);
    assert.ok(list.headers['x-ratelimit-limit'], 'OAuth calls are rate limited like any credential');
    const health = await api(tokens.access_token, 'GET', '/health');
    assert.deepEqual(health.json().auth, {
      kind: 'user',
      id: org.userId,
      org_id: org.orgId,
      mode: 'live',
      scopes: ['read:certificates', 'read:suppliers'],
      expires_at: new Date((claims.exp as number) * 1000).toISOString().replace('.000', ''),
      client_id: client.client_id,
    });
    const write = await api(tokens.access_token, 'POST', '/v1/suppliers', { name: 'Acme', country: 'DE' });
    const problem = assertProblem(write, 403, 'insufficient_scope');
    assert.equal(problem.required_scope, 'write:suppliers');
  });

  test('a code works once; a replayed code is refused and revokes what it issued', async () => {
    const browser = new Browser(t.baseUrl);
    const request = await authorizationRequest(t.as, client, ['read:certificates']);
    const { callback } = await runAuthorization(browser, request, org);
    const tokens = await exchangeCode(t.as, client, request, callback);
    assert.equal((await api(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);

    await assert.rejects(exchangeCode(t.as, client, request, callback), (error: unknown) => {
      assert.ok(error instanceof oauth.ResponseBodyError);
      assert.equal(error.error, 'invalid_grant');
      return true;
    });
    assertProblem(await api(tokens.access_token, 'GET', '/v1/certificates'), 401, 'revoked_credential');
    const refreshed = await refreshRequest(t, client, tokens.refresh_token as string);
    assert.equal(refreshed.status, 400);
    assert.equal(((await refreshed.json()) as OAuthError).error, 'invalid_grant');
  });

  test('refresh tokens rotate on every use; reusing an old one revokes the whole grant', async () => {
    const browser = new Browser(t.baseUrl);
    const first = await authorize(t, browser, org, client, ['read:certificates']);

    const rotated = await oauth.processRefreshTokenResponse(
      t.as,
      { client_id: client.client_id },
      await refreshRequest(t, client, first.refresh_token),
    );
    assert.ok(rotated.refresh_token);
    assert.notEqual(rotated.refresh_token, first.refresh_token, 'a new refresh token each time');
    assert.notEqual(rotated.access_token, first.access_token);
    assert.equal((await api(rotated.access_token, 'GET', '/v1/certificates')).statusCode, 200);

    // The old refresh token again: an attacker (or a confused client) replaying it. The grant dies.
    const reuse = await refreshRequest(t, client, first.refresh_token);
    assert.equal(reuse.status, 400);
    assert.equal(((await reuse.json()) as OAuthError).error, 'invalid_grant');
    const afterReuse = await refreshRequest(t, client, rotated.refresh_token as string);
    assert.equal(afterReuse.status, 400, 'the legitimate new refresh token is revoked too');
    for (const token of [first.access_token, rotated.access_token]) {
      assertProblem(await api(token, 'GET', '/v1/certificates'), 401, 'revoked_credential');
    }
  });

  test('an unregistered redirect URI gets an error page, never a redirect', async () => {
    const browser = new Browser(t.baseUrl);
    await browser.signIn(org);
    for (const redirectUri of [
      'https://evil.example/callback',
      `${REDIRECT_URI}/`,
      `${REDIRECT_URI}?next=1`,
      REDIRECT_URI.replace('127.0.0.1', 'localhost'),
    ]) {
      const request = await authorizationRequest(t.as, client, ['read:certificates'], {}, { redirectUri });
      const response = await browser.request(request.url.href);
      assert.equal(response.status, 400, redirectUri);
      assert.equal(response.headers.get('location'), null, `no redirect to ${redirectUri}`);
      const html = await response.text();
      assert.match(html, /invalid_redirect_uri/);
    }
  });

  test('an unknown client gets an error page, never a redirect', async () => {
    const request = await authorizationRequest(t.as, { client_id: 'cli_000000000000000000000' }, [
      'read:certificates',
    ]);
    const response = await new Browser(t.baseUrl).request(request.url.href);
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('location'), null);
    assert.match(await response.text(), /invalid_client/);
  });

  test('public clients must use PKCE; confidential clients may, and a wrong verifier fails', async () => {
    const spa = await registerClient(t, org.adminKey, { name: 'SPA', client_type: 'public' });
    assert.equal(spa.client_secret, null);
    const browser = new Browser(t.baseUrl);
    await browser.signIn(org);

    const withoutPkce = await authorizationRequest(t.as, spa, ['read:certificates'], {}, { pkce: false });
    const { foreign } = await browser.navigate(withoutPkce.url.href);
    assert.ok(foreign, 'the error goes back to the registered redirect URI');
    assert.equal(foreign.searchParams.get('error'), 'invalid_request');
    assert.match(foreign.searchParams.get('error_description') ?? '', /PKCE/);
    assert.equal(foreign.searchParams.get('state'), withoutPkce.state);

    const withPkce = await authorizationRequest(t.as, spa, ['read:certificates']);
    const { callback } = await runAuthorization(browser, withPkce, org);
    const tokens = await exchangeCode(t.as, spa, withPkce, callback);
    assert.equal((await api(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);

    const confidential = await authorizationRequest(t.as, client, ['read:certificates']);
    const second = await runAuthorization(browser, confidential, org);
    await assert.rejects(
      exchangeCode(
        t.as,
        client,
        { ...confidential, codeVerifier: oauth.generateRandomCodeVerifier() },
        second.callback,
      ),
      (error: unknown) => error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant',
    );
  });

  test('only the code flow: implicit and other response types are refused', async () => {
    const browser = new Browser(t.baseUrl);
    await browser.signIn(org);
    const request = await authorizationRequest(t.as, client, ['read:certificates'], {
      response_type: 'token',
    });
    const response = await browser.request(request.url.href);
    // The error goes back to the registered redirect URI, in the fragment as that response type would.
    const location = new URL(response.headers.get('location') as string);
    assert.equal(location.origin + location.pathname, REDIRECT_URI);
    const fragment = new URLSearchParams(location.hash.slice(1));
    assert.equal(fragment.get('error'), 'unsupported_response_type');
    assert.doesNotMatch(location.href, /access_token|code=/);
  });

  test('PKCE is S256 only, and the only resource is the Cohera API', async () => {
    const browser = new Browser(t.baseUrl);
    await browser.signIn(org);
    const plain = await authorizationRequest(t.as, client, ['read:certificates'], {
      code_challenge_method: 'plain',
    });
    const refusedPlain = await browser.navigate(plain.url.href);
    assert.equal(refusedPlain.foreign?.searchParams.get('error'), 'invalid_request');
    const elsewhere = await authorizationRequest(t.as, client, ['read:certificates'], {
      resource: 'https://other-api.example.com',
    });
    const refusedResource = await browser.navigate(elsewhere.url.href);
    assert.equal(refusedResource.foreign?.searchParams.get('error'), 'invalid_target');
    const ours = await authorizationRequest(t.as, client, ['read:certificates'], {
      resource: t.config.audience,
    });
    const { callback } = await runAuthorization(browser, ours, org);
    const tokens = await exchangeCode(t.as, client, ours, callback);
    assert.equal(decodeJwt(tokens.access_token).aud, t.config.audience);
  });

  test('this is not an OpenID provider: a request for openid is invalid_scope, not a consent loop', async () => {
    const browser = new Browser(t.baseUrl);
    await browser.signIn(org);
    const request = await authorizationRequest(t.as, client, ['openid', 'read:certificates']);
    const { foreign } = await browser.navigate(request.url.href);
    assert.equal(foreign?.searchParams.get('error'), 'invalid_scope');
    assert.equal(foreign?.searchParams.get('state'), request.state);
  });

  test('a forged Host or X-Forwarded-* header does not change what the metadata says', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/.well-known/oauth-authorization-server',
      headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    });
    assert.equal(response.statusCode, 200);
    const metadata = response.json();
    assert.equal(metadata.issuer, t.baseUrl);
    assert.equal(metadata.token_endpoint, `${t.baseUrl}/oauth/token`);
    assert.equal(metadata.authorization_endpoint, `${t.baseUrl}/oauth/authorize`);
    assert.doesNotMatch(response.body, /evil\.example/);
  });

  test('deny sends the user back with error=access_denied and the state', async () => {
    const browser = new Browser(t.baseUrl);
    const request = await authorizationRequest(t.as, client, ['read:suppliers']);
    const { callback } = await runAuthorization(browser, request, org, 'deny');
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.get('state'), request.state);
    assert.equal(callback.searchParams.get('iss'), t.baseUrl);
    assert.equal(callback.searchParams.get('code'), null);
  });

  test('consent is remembered: no page next time, unless the app asks for more', async () => {
    const app = await registerClient(t, org.adminKey, { name: 'Remembered' });
    const browser = new Browser(t.baseUrl);
    const first = await runAuthorization(
      browser,
      await authorizationRequest(t.as, app, ['read:certificates']),
      org,
    );
    assert.equal(first.consentShown, true);
    const again = await runAuthorization(
      browser,
      await authorizationRequest(t.as, app, ['read:certificates']),
      org,
    );
    assert.equal(again.consentShown, false);
    assert.ok(again.callback.searchParams.get('code'));
    const more = await authorizationRequest(t.as, app, ['read:certificates', 'write:suppliers']);
    const grown = await runAuthorization(browser, more, org);
    assert.equal(grown.consentShown, true);
    const tokens = await exchangeCode(t.as, app, more, grown.callback);
    assert.deepEqual(decodeJwt(tokens.access_token).scopes, ['read:certificates', 'write:suppliers']);
  });

  test('prompt=login asks for the password again even when signed in', async () => {
    const browser = new Browser(t.baseUrl);
    await browser.signIn(org);
    const request = await authorizationRequest(t.as, client, ['read:certificates'], { prompt: 'login' });
    const { response } = await browser.navigate(request.url.href);
    assert.match(await response.text(), /name="password"/);
  });

  test('the grant is what the user holds ∩ what the app registered; nothing grantable is invalid_scope', async () => {
    const browser = new Browser(t.baseUrl);
    const app = await registerClient(t, org.adminKey, {
      name: 'Narrow',
      scopes: ['read:certificates', 'admin'],
    });
    // A member holds read:* and write:*, never admin: of the two scopes asked for, the app may have both,
    // but the member can grant only read:certificates.
    const member = await createMember(t, org, 'member');
    const request = await authorizationRequest(t.as, app, ['read:certificates', 'admin']);
    const { callback, consentHtml } = await runAuthorization(browser, request, member);
    assert.match(consentHtml ?? '', /not yours to grant here[\s\S]*<code>admin<\/code>/);
    const tokens = await exchangeCode(t.as, app, request, callback);
    assert.deepEqual(decodeJwt(tokens.access_token).scopes, ['read:certificates']);
    assertProblem(await api(tokens.access_token, 'GET', '/v1/api-keys'), 403, 'insufficient_scope');

    // Asking again for what was refused, or for what the app never registered: a token with no scope would
    // be useless, so the answer is invalid_scope.
    const refusedAgain = await authorizationRequest(t.as, app, ['admin']);
    const again = await browser.navigate(refusedAgain.url.href);
    assert.equal(again.foreign?.searchParams.get('error'), 'invalid_scope');
    const other = await registerClient(t, org.adminKey, { name: 'Readers', scopes: ['read:suppliers'] });
    const nothing = await authorizationRequest(t.as, other, ['write:products']);
    const refused = await browser.navigate(nothing.url.href);
    assert.equal(refused.foreign?.searchParams.get('error'), 'invalid_scope');
    assert.equal(refused.foreign?.searchParams.get('state'), nothing.state);
  });

  test('an app registered with a wildcard may be granted the scopes it covers', async () => {
    const reader = await registerClient(t, org.adminKey, { name: 'Wildcard reader', scopes: ['read:*'] });
    const browser = new Browser(t.baseUrl);
    const request = await authorizationRequest(t.as, reader, [
      'read:certificates',
      'read:products',
      'write:products',
    ]);
    const { callback, consentHtml } = await runAuthorization(browser, request, org);
    assert.match(consentHtml ?? '', /not yours to grant here[\s\S]*<code>write:products<\/code>/);
    const tokens = await exchangeCode(t.as, reader, request, callback);
    assert.deepEqual(decodeJwt(tokens.access_token).scopes, ['read:certificates', 'read:products']);
  });

  test('the consent form refuses a post without its CSRF token or from another origin', async () => {
    const browser = new Browser(t.baseUrl);
    const app = await registerClient(t, org.adminKey, { name: 'Fresh consent' });
    const request = await authorizationRequest(t.as, app, ['read:certificates']);
    await browser.signIn(org);
    const { response } = await browser.navigate(request.url.href);
    const html = await response.text();
    const action = new URL(/action="([^"]+\/decision)"/.exec(html)?.[1] as string, t.baseUrl).href;
    const forged = await browser.submit(action, { decision: 'allow', csrf_token: 'x'.repeat(43) });
    assert.equal(forged.response.status, 403);
    const token = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1] as string;
    const crossSite = await browser.request(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ decision: 'allow', csrf_token: token }).toString(),
    });
    assert.equal(crossSite.status, 403);
    // A stranger's browser (no interaction cookie) gets nowhere with the same form.
    const stranger = new Browser(t.baseUrl);
    await stranger.signIn(org);
    const elsewhere = await stranger.submit(action, { decision: 'allow', csrf_token: token });
    assert.equal(elsewhere.response.status, 400);
    assert.equal(elsewhere.foreign, undefined);
  });

  test('client authentication: basic and post work; a wrong secret is invalid_client', async () => {
    const browser = new Browser(t.baseUrl);
    const tokens = await authorize(t, browser, org, client, ['read:certificates']);
    const post = await fetch(t.as.token_endpoint as string, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
        client_id: client.client_id,
        client_secret: client.client_secret as string,
      }).toString(),
    });
    assert.equal(post.status, 200);
    const { refresh_token: next } = (await post.json()) as { refresh_token: string };
    const wrong = await postForm(
      t.as.token_endpoint as string,
      { grant_type: 'refresh_token', refresh_token: next },
      { client_id: client.client_id, client_secret: `${client.client_secret}x` },
    );
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as OAuthError).error, 'invalid_client');
    const none = await postForm(t.as.token_endpoint as string, {
      grant_type: 'refresh_token',
      refresh_token: next,
      client_id: client.client_id,
    });
    assert.equal(none.status, 401, 'a confidential client cannot skip authentication');
  });

  test('revocation (RFC 7009) and introspection (RFC 7662)', async () => {
    const browser = new Browser(t.baseUrl);
    const tokens = await authorize(t, browser, org, client, ['read:certificates']);
    const introspect = async (
      token: string,
      as: Pick<RegisteredClient, 'client_id' | 'client_secret'> = client,
    ) => postForm(t.as.introspection_endpoint as string, { token }, as);

    const active = (await (await introspect(tokens.refresh_token)).json()) as Record<string, unknown>;
    assert.equal(active.active, true);
    assert.equal(active.client_id, client.client_id);
    assert.equal(active.sub, org.userId);

    // Another app, even of the same org, learns nothing about this one's tokens.
    const other = await registerClient(t, org.adminKey, { name: 'Other app' });
    const foreign = (await (await introspect(tokens.refresh_token, other)).json()) as Record<string, unknown>;
    assert.deepEqual(foreign, { active: false });
    // Public clients cannot introspect at all.
    const spa = await registerClient(t, org.adminKey, { name: 'SPA 2', client_type: 'public' });
    const byPublic = await introspect(tokens.refresh_token, spa);
    assert.equal(byPublic.status, 400);
    assert.equal(((await byPublic.json()) as OAuthError).error, 'invalid_client');

    // Access tokens (JWTs) are introspected and revoked too (issue 17; introspection.test.ts has the rest).
    assert.equal(
      ((await (await introspect(tokens.access_token)).json()) as { active: boolean }).active,
      true,
    );

    const revoked = await postForm(
      t.as.revocation_endpoint as string,
      { token: tokens.refresh_token },
      client,
    );
    assert.equal(revoked.status, 200);
    assert.deepEqual(await (await introspect(tokens.refresh_token)).json(), { active: false });
    assertProblem(await api(tokens.access_token, 'GET', '/v1/certificates'), 401, 'revoked_credential');
    const refresh = await refreshRequest(t, client, tokens.refresh_token);
    assert.equal(refresh.status, 400);
  });

  test('the metadata (RFC 8414) describes exactly this server', async () => {
    const as = t.as;
    assert.equal(as.issuer, t.baseUrl);
    assert.equal(as.authorization_endpoint, `${t.baseUrl}/oauth/authorize`);
    assert.equal(as.token_endpoint, `${t.baseUrl}/oauth/token`);
    assert.equal(as.revocation_endpoint, `${t.baseUrl}/oauth/revoke`);
    assert.equal(as.introspection_endpoint, `${t.baseUrl}/oauth/introspect`);
    assert.equal(as.jwks_uri, `${t.baseUrl}/.well-known/jwks.json`);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(as.response_types_supported, ['code']);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.deepEqual([...(as.token_endpoint_auth_methods_supported ?? [])].sort(), [
      'client_secret_basic',
      'client_secret_post',
      'none',
    ]);
    assert.equal(as.userinfo_endpoint, undefined);
    // What an app may request here (issue 14): every API scope, the wildcards, `offline_access` (accepted,
    // changes nothing); not `openid`, which is refused with invalid_scope (the test above).
    assert.deepEqual(as.scopes_supported, [
      'read:certificates',
      'write:certificates',
      'read:suppliers',
      'write:suppliers',
      'read:products',
      'write:products',
      'read:*',
      'write:*',
      'admin',
      'offline_access',
    ]);
    const jwks = (await (await fetch(as.jwks_uri as string)).json()) as { keys: { d?: string }[] };
    assert.ok(jwks.keys.length >= 1);
    assert.ok(
      jwks.keys.every((key) => key.d === undefined),
      'never a private key',
    );
  });
});
