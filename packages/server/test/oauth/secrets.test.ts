/**
 * Security invariants 1 and 2 (DESIGN §6) for OAuth, on every engine: client secrets (current and rotated),
 * authorization codes, access and refresh tokens, the engine's cookies and the server's private signing key
 * are never in a log line (logging at `trace`, the flow used well and badly) and never stored readable:
 * every row of every table is searched, and on SQLite the database files themselves.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadSigningKey } from '../../src/auth/oauth/signing-keys.ts';
import { capturedLogs, createOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  authorizationRequest,
  Browser,
  exchangeCode,
  type OAuthTestServer,
  postForm,
  refreshRequest,
  registerClient,
  runAuthorization,
  startOAuthServer,
} from '../support/oauth.ts';

forEachEngine('oauth: secrets', (engine, handle) => {
  let t: OAuthTestServer;
  const secrets = new Map<string, string>();
  let logStart = 0;

  function secret(name: string, value: string | null | undefined): void {
    assert.ok(value && value.length >= 16, `${name} is too short to search for`);
    secrets.set(name, value);
  }

  before(async () => {
    logStart = capturedLogs.length;
    t = await startOAuthServer(handle(), { env: { COHERA_LOG_LEVEL: 'trace' } });
  });
  after(() => t.close());

  test('scenario: register, rotate, authorize, refresh, replay, misuse', async () => {
    const org = await createOrg(t.app);
    const client = await registerClient(t, org.adminKey);
    secret('client secret', client.client_secret);
    const rotated = await t.call(org.adminKey, 'POST', `/v1/oauth/clients/${client.id}/rotate-secret`, {});
    secret('rotated client secret', rotated.json().client_secret);

    const browser = new Browser(t.baseUrl);
    const request = await authorizationRequest(t.as, client, ['read:certificates']);
    const { callback } = await runAuthorization(browser, request, org);
    secret('authorization code', callback.searchParams.get('code'));
    secret('PKCE code verifier', request.codeVerifier);
    for (const pair of browser.cookieHeader.split('; ')) {
      const [name, value] = pair.split('=') as [string, string];
      // The interaction cookies carry the interaction's uid, which is in its URL by design; what makes them
      // unforgeable is their signature cookie (`….sig`), searched for like every other cookie value.
      if (name === 'cohera_oauth_interaction' || name === 'cohera_oauth_resume') continue;
      if (value.length >= 16) secret(`cookie ${name}`, value);
    }
    const tokens = await exchangeCode(t.as, client, request, callback);
    secret('access token', tokens.access_token);
    secret('refresh token', tokens.refresh_token);
    const refreshed = (await (await refreshRequest(t, client, tokens.refresh_token as string)).json()) as {
      access_token: string;
      refresh_token: string;
    };
    secret('rotated refresh token', refreshed.refresh_token);
    secret('second access token', refreshed.access_token);
    assert.equal((await t.call(refreshed.access_token, 'GET', '/v1/certificates')).statusCode, 200);

    // Misuse: a reused refresh token, a replayed code, a wrong secret, a tampered token.
    await refreshRequest(t, client, tokens.refresh_token as string);
    await exchangeCode(t.as, client, request, callback).catch(() => undefined);
    await postForm(
      t.as.token_endpoint as string,
      { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) },
      {
        client_id: client.client_id,
        client_secret: `${client.client_secret}-wrong`,
      },
    );
    await t.call(`${refreshed.access_token.slice(0, -4)}AAAA`, 'GET', '/v1/certificates');

    const { key } = await loadSigningKey(t.app.deps.db, t.config.masterKey, Date.now());
    secret('signing key (private d)', key.privateJwk.d);
  });

  test('no OAuth secret appears in any log line', () => {
    const lines = capturedLogs.slice(logStart);
    assert.ok(
      lines.some((line) => line.includes('oauth.refresh_reuse_detected')),
      'the scenario was logged',
    );
    assert.ok(
      lines.some((line) => line.includes('"invalid_client"')),
      'a wrong secret was logged',
    );
    assert.ok(
      lines.some((line) => line.includes('request completed') && line.includes('"statusCode":400')),
      'responses of the engine are logged too',
    );
    for (const [name, value] of secrets) {
      const leak = lines.find((line) => line.includes(value));
      assert.equal(leak, undefined, `${name} is in a log line: ${leak}`);
    }
  });

  test('no OAuth secret is stored readable: every row of every table', async () => {
    const db = t.app.deps.db;
    let artifactRows = 0;
    for (const table of await db.introspection.getTables()) {
      const rows = await db
        .selectFrom(table.name as 'orgs')
        .selectAll()
        .execute();
      if (table.name === 'oauth_artifacts') artifactRows = rows.length;
      for (const row of rows) {
        for (const [column, value] of Object.entries(row as Record<string, unknown>)) {
          if (value === null || value === undefined) continue;
          const text = String(value);
          for (const [name, secretValue] of secrets) {
            assert.ok(!text.includes(secretValue), `${name} is stored in ${table.name}.${column}`);
          }
        }
      }
    }
    // What the engine destroyed (finished interactions, replaced sessions, the revoked grant's tokens) is
    // gone; the browser's session and the spent code remain.
    assert.ok(artifactRows > 0, 'the engine stored its artefacts');
  });

  if (engine === 'sqlite') {
    test('no OAuth secret is in the SQLite files, WAL included', () => {
      const files = ['cohera.sqlite', 'cohera.sqlite-wal']
        .map((name) => join(handle().dataDir, name))
        .filter((file) => existsSync(file));
      const bytes = Buffer.concat(files.map((file) => readFileSync(file)));
      assert.ok(bytes.includes('oauth_artifacts'), 'the files hold the OAuth tables');
      for (const [name, value] of secrets)
        assert.ok(!bytes.includes(value), `${name} is in the SQLite files`);
    });
  }
});
