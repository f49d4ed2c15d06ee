/**
 * `OAuth2` against Cohera's real authorization server: the authorization URL (PKCE S256, state), the
 * browser part (sign-in and consent pages, driven by the server suite's cookie-keeping browser), the
 * callback checks, the code exchange, refresh with rotation and reuse detection, revocation.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Browser, runAuthorization } from '../../server/test/support/oauth.ts';
import { OAuth2, OAuthError, Tokens } from '../src/auth/index.ts';
import { AuthenticationError, Cohera, CoheraError, type OAuthClientWithSecret } from '../src/index.ts';
import { type SdkTestServer, startServer } from './support/server.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe('OAuth2 helper', () => {
  let s: SdkTestServer;
  let admin: Cohera;
  let app: OAuthClientWithSecret;
  let publicApp: OAuthClientWithSecret;
  before(async () => {
    s = await startServer();
    admin = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl });
    await admin.suppliers.create({ name: 'Visible to the app', country: 'DE' });
    app = await admin.oauthClients.create({
      name: 'Supplier portal',
      redirect_uris: [REDIRECT_URI],
      client_type: 'confidential',
      scopes: ['read:certificates', 'read:suppliers'],
    });
    publicApp = await admin.oauthClients.create({
      name: 'Desktop app',
      redirect_uris: [REDIRECT_URI],
      client_type: 'public',
      scopes: ['read:suppliers'],
    });
  });
  after(() => s.close());

  const oauthFor = (client: OAuthClientWithSecret) =>
    new OAuth2({
      clientId: client.client_id,
      ...(client.client_secret ? { clientSecret: client.client_secret } : {}),
      redirectUri: REDIRECT_URI,
      baseUrl: s.baseUrl,
    });

  /** Opens the URL in a browser, signs in as the org owner, answers consent; returns the callback URL. */
  async function userAuthorizes(
    url: string,
    state: string,
    codeVerifier: string,
    decision: 'allow' | 'deny' = 'allow',
  ) {
    const { callback } = await runAuthorization(
      new Browser(s.baseUrl),
      { url: new URL(url), state, codeVerifier },
      s.org,
      decision,
    );
    return callback;
  }

  test('getAuthorizationUrl: PKCE S256 and a fresh state each time', async () => {
    const oauth = oauthFor(app);
    const a = await oauth.getAuthorizationUrl({ scopes: ['read:certificates', 'read:suppliers'] });
    const b = await oauth.getAuthorizationUrl({ scopes: ['read:certificates'] });
    const url = new URL(a.url);
    assert.equal(url.origin + url.pathname, `${s.baseUrl}/oauth/authorize`);
    assert.equal(url.searchParams.get('response_type'), 'code');
    assert.equal(url.searchParams.get('client_id'), app.client_id);
    assert.equal(url.searchParams.get('redirect_uri'), REDIRECT_URI);
    assert.equal(url.searchParams.get('scope'), 'read:certificates read:suppliers');
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(
      url.searchParams.get('code_challenge'),
      createHash('sha256').update(a.codeVerifier).digest('base64url'),
    );
    assert.match(a.codeVerifier, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(url.searchParams.get('state'), a.state);
    assert.notEqual(a.state, b.state);
    assert.notEqual(a.codeVerifier, b.codeVerifier);
    assert.ok(!a.url.includes(a.codeVerifier), 'the verifier never travels in the URL');
    assert.ok(!a.url.includes(app.client_secret ?? '-'), 'nor the client secret');
  });

  test('the whole flow: authorize, exchange, call the API, refresh (rotated), reuse detected', async () => {
    const oauth = oauthFor(app);
    const { url, state, codeVerifier } = await oauth.getAuthorizationUrl({
      scopes: ['read:certificates', 'read:suppliers'],
    });
    const callback = await userAuthorizes(url, state, codeVerifier);
    const code = oauth.parseCallback(callback, { state });
    const tokens = await oauth.exchangeCode(code, { codeVerifier });
    assert.ok(tokens instanceof Tokens);
    assert.equal(tokens.isExpired, false);
    assert.equal(tokens.expiresWithin(3_601), true, 'the access token lives an hour');
    assert.deepEqual(tokens.scopes.sort(), ['read:certificates', 'read:suppliers']);
    assert.ok(tokens.refreshToken);

    const client = new Cohera({ accessToken: tokens.accessToken, baseUrl: s.baseUrl });
    const who = await client.whoami();
    assert.equal(who.client_id, app.client_id);
    assert.ok((await client.suppliers.list()).data.length >= 1);

    const fresh = await oauth.refreshToken(tokens.refreshToken);
    assert.notEqual(fresh.refreshToken, tokens.refreshToken, 'refresh tokens rotate');
    await new Cohera({ accessToken: fresh.accessToken, baseUrl: s.baseUrl }).suppliers.list();

    // Presenting the old refresh token again is reuse: the grant is revoked, tokens stop working.
    const reuse = await oauth.refreshToken(tokens.refreshToken).catch((e: unknown) => e);
    assert.ok(reuse instanceof OAuthError);
    assert.equal(reuse.code, 'invalid_grant');
    assert.equal(reuse.status, 400);
    await assert.rejects(
      new Cohera({ accessToken: fresh.accessToken, baseUrl: s.baseUrl }).suppliers.list(),
      AuthenticationError,
    );
  });

  test('a code is single-use: replaying it fails and revokes what it issued', async () => {
    const oauth = oauthFor(app);
    const { url, state, codeVerifier } = await oauth.getAuthorizationUrl({ scopes: ['read:suppliers'] });
    const code = oauth.parseCallback(await userAuthorizes(url, state, codeVerifier), { state });
    const tokens = await oauth.exchangeCode(code, { codeVerifier });
    const client = new Cohera({ accessToken: tokens.accessToken, baseUrl: s.baseUrl });
    await client.suppliers.list();
    const replay = await oauth.exchangeCode(code, { codeVerifier }).catch((e: unknown) => e);
    assert.ok(replay instanceof OAuthError);
    assert.equal(replay.code, 'invalid_grant');
    await assert.rejects(client.suppliers.list(), AuthenticationError);
  });

  test('a public app (no secret) completes the flow with PKCE; revoke ends the grant', async () => {
    const oauth = oauthFor(publicApp);
    const { url, state, codeVerifier } = await oauth.getAuthorizationUrl({ scopes: ['read:suppliers'] });
    const code = oauth.parseCallback(await userAuthorizes(url, state, codeVerifier), { state });
    const tokens = await oauth.exchangeCode(code, { codeVerifier });
    const client = new Cohera({ accessToken: tokens.accessToken, baseUrl: s.baseUrl });
    await client.suppliers.list();
    await oauth.revoke(tokens.refreshToken ?? '', { tokenTypeHint: 'refresh_token' });
    await assert.rejects(client.suppliers.list(), AuthenticationError);
  });

  test('a wrong code verifier is refused (PKCE)', async () => {
    const oauth = oauthFor(app);
    const { url, state, codeVerifier } = await oauth.getAuthorizationUrl({ scopes: ['read:suppliers'] });
    const code = oauth.parseCallback(await userAuthorizes(url, state, codeVerifier), { state });
    const other = (await oauth.getAuthorizationUrl({ scopes: ['read:suppliers'] })).codeVerifier;
    const error = await oauth.exchangeCode(code, { codeVerifier: other }).catch((e: unknown) => e);
    assert.ok(error instanceof OAuthError);
    assert.equal(error.code, 'invalid_grant');
  });

  test('parseCallback: the user said no, a forged state, another issuer', async () => {
    const oauth = oauthFor(app);
    // prompt=consent: this user already consented to the app in earlier tests.
    const { url, state, codeVerifier } = await oauth.getAuthorizationUrl({
      scopes: ['read:suppliers'],
      prompt: 'consent',
    });
    const denied = await userAuthorizes(url, state, codeVerifier, 'deny');
    const refusal = (() => {
      try {
        return oauth.parseCallback(denied, { state });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(refusal instanceof OAuthError, `${String(refusal)} ${denied}`);
    assert.equal(refusal.code, 'access_denied');

    assert.throws(() => oauth.parseCallback(`${REDIRECT_URI}?code=x&state=forged`, { state }), /state/);
    assert.throws(() => oauth.parseCallback(`${REDIRECT_URI}?code=x`, { state }), /state/);
    assert.throws(
      () =>
        oauth.parseCallback(`${REDIRECT_URI}?code=x&state=${state}&iss=https%3A%2F%2Fevil.example`, {
          state,
        }),
      /issuer/,
    );
    assert.equal(
      oauth.parseCallback(`${REDIRECT_URI}?code=abc&state=${state}&iss=${encodeURIComponent(s.baseUrl)}`, {
        state,
      }),
      'abc',
    );
  });

  test('a wrong client secret is invalid_client, and the secret is not in the error', async () => {
    const oauth = new OAuth2({
      clientId: app.client_id,
      clientSecret: 'cs_wrongwrongwrongwrongwrongwrongwrongwrong',
      redirectUri: REDIRECT_URI,
      baseUrl: s.baseUrl,
    });
    const error = await oauth.refreshToken('not-a-refresh-token').catch((e: unknown) => e);
    assert.ok(error instanceof OAuthError);
    assert.equal(error.code, 'invalid_client');
    assert.ok(!JSON.stringify({ ...error, message: error.message }).includes('cs_wrong'));
  });

  test('no default server: without baseUrl or COHERA_BASE_URL it refuses, naming both', () => {
    const saved = process.env.COHERA_BASE_URL;
    delete process.env.COHERA_BASE_URL;
    try {
      assert.throws(
        () => new OAuth2({ clientId: app.client_id, redirectUri: REDIRECT_URI }),
        (error: unknown) =>
          error instanceof CoheraError &&
          error.code === 'missing_base_url' &&
          /COHERA_BASE_URL/.test(error.message) &&
          /baseUrl/.test(error.message),
      );
      process.env.COHERA_BASE_URL = `${s.baseUrl}/\n`;
      const fromEnv = new OAuth2({ clientId: `${app.client_id}\n`, redirectUri: REDIRECT_URI });
      assert.equal(fromEnv.baseUrl, s.baseUrl);
      assert.equal(fromEnv.clientId, app.client_id, 'a pasted client id is trimmed');
    } finally {
      if (saved === undefined) delete process.env.COHERA_BASE_URL;
      else process.env.COHERA_BASE_URL = saved;
    }
  });

  test('Tokens: isExpired with a safety margin, and a JSON round trip for session storage', () => {
    const now = Date.now();
    const tokens = Tokens.fromResponse(
      {
        access_token: 'at',
        token_type: 'Bearer',
        expires_in: 30,
        refresh_token: 'rt',
        scope: 'read:suppliers',
      },
      undefined,
      now,
    );
    assert.equal(tokens.isExpired, true, '30 s left is inside the 60 s margin');
    assert.equal(tokens.expiresWithin(10, now), false);
    const restored = Tokens.fromJSON(JSON.parse(JSON.stringify(tokens)));
    assert.deepEqual(restored, tokens);
    const kept = Tokens.fromResponse({ access_token: 'at2', token_type: 'bearer' }, 'rt');
    assert.equal(kept.refreshToken, 'rt', 'no new refresh token: the old one stays valid');
    assert.equal(kept.isExpired, false);
  });

  test('an accessToken function keeps a client on fresh tokens', async () => {
    const oauth = oauthFor(app);
    const { url, state, codeVerifier } = await oauth.getAuthorizationUrl({ scopes: ['read:suppliers'] });
    let tokens = await oauth.exchangeCode(
      oauth.parseCallback(await userAuthorizes(url, state, codeVerifier), { state }),
      {
        codeVerifier,
      },
    );
    let refreshes = 0;
    const client = new Cohera({
      baseUrl: s.baseUrl,
      accessToken: async () => {
        if (tokens.expiresWithin(3_600)) {
          tokens = await oauth.refreshToken(tokens.refreshToken);
          refreshes++;
        }
        return tokens.accessToken;
      },
    });
    await client.suppliers.list();
    assert.equal(refreshes, 1);
  });
});
