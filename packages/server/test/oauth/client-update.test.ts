/**
 * Editing an OAuth app (`PATCH /v1/oauth/clients/:id`), on every engine: name, redirect URIs and scopes
 * change with the same checks as at registration; another org's or mode's app is a 404; narrowing the scopes
 * ends the authorizations (and their tokens) that hold more, and leaves the others working. Also the
 * narrower refresh of RFC 6749 §6: a refresh may ask for fewer scopes, and the refresh token keeps the grant.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decodeJwt } from 'jose';
import { createKey, createMember, createOrg, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  authorizationRequest,
  authorize,
  Browser,
  type OAuthTestServer,
  postForm,
  refreshRequest,
  registerClient,
  runAuthorization,
  startOAuthServer,
} from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';

forEachEngine('oauth: editing an app', (_engine, handle) => {
  let t: OAuthTestServer;
  let org: TestOrg;
  let other: TestOrg;

  before(async () => {
    t = await startOAuthServer(handle());
    org = await createOrg(t.app);
    other = await createOrg(t.app);
  });
  after(() => t.close());

  const patch = (key: string, id: string, body: unknown) =>
    t.call(key, 'PATCH', `/v1/oauth/clients/${id}`, body);

  test('name, redirect URIs and scopes change; the app reads back changed; the change is audited', async () => {
    const client = await registerClient(t, org.adminKey, { name: 'Portal' });
    const response = await patch(org.adminKey, client.id, {
      name: '  Supplier portal v2 ',
      redirect_uris: ['https://portal.example.com/callback', 'http://127.0.0.1:8765/cb'],
      scopes: ['read:certificates', 'read:suppliers', 'write:suppliers', 'read:products'],
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.name, 'Supplier portal v2');
    assert.deepEqual(body.redirect_uris, ['https://portal.example.com/callback', 'http://127.0.0.1:8765/cb']);
    assert.deepEqual(body.scopes, [
      'read:certificates',
      'read:suppliers',
      'write:suppliers',
      'read:products',
    ]);
    assert.equal(body.client_secret, undefined, 'an edit never shows a secret');
    assert.deepEqual((await t.call(org.adminKey, 'GET', `/v1/oauth/clients/${client.id}`)).json(), body);

    const events = await t.call(org.adminKey, 'GET', '/v1/audit-events?action=oauth.client_updated');
    const mine = (events.json().data as { target: { id: string }; metadata: Record<string, unknown> }[]).find(
      (event) => event.target.id === client.id,
    );
    assert.ok(mine);
    assert.equal(mine.metadata.ended_authorizations, 0);
    assert.deepEqual((mine.metadata.changes as { name: string }).name, 'Supplier portal v2');
  });

  test('bad input is a 400 naming the field, as at registration', async () => {
    const client = await registerClient(t, org.adminKey);
    assertProblem(await patch(org.adminKey, client.id, {}), 400, 'validation_failed');
    assertProblem(
      await patch(org.adminKey, client.id, { name: '   ' }),
      400,
      'validation_failed',
      'body/name',
    );
    assertProblem(await patch(org.adminKey, client.id, { client_type: 'public' }), 400, 'validation_failed');
    assertProblem(
      await patch(org.adminKey, client.id, { redirect_uris: ['http://portal.example.com/callback'] }),
      400,
      'validation_failed',
      'body/redirect_uris/0',
    );
    assertProblem(
      await patch(org.adminKey, client.id, { redirect_uris: ['https://portal.example.com/cb#fragment'] }),
      400,
      'validation_failed',
      'body/redirect_uris/0',
    );
    assertProblem(await patch(org.adminKey, client.id, { redirect_uris: [] }), 400, 'validation_failed');
    assertProblem(
      await patch(org.adminKey, client.id, { scopes: ['read:everything'] }),
      400,
      'validation_failed',
    );
    assertProblem(await patch(org.adminKey, client.id, { scopes: [] }), 400, 'validation_failed');
    // Nothing changed.
    const now = (await t.call(org.adminKey, 'GET', `/v1/oauth/clients/${client.id}`)).json();
    assert.equal(now.name, 'Supplier portal');
    assert.deepEqual(now.redirect_uris, client.redirect_uris);
    assert.deepEqual(now.scopes, client.scopes);
  });

  test('another org’s or another mode’s app is a 404; without admin scope, a 403', async () => {
    const client = await registerClient(t, org.adminKey);
    assertProblem(await patch(other.adminKey, client.id, { name: 'Mine now' }), 404, 'not_found');
    const testKey = await createKey(t.app, org, ['admin'], 'test');
    assertProblem(await patch(testKey, client.id, { name: 'Test mode' }), 404, 'not_found');
    const reader = await createKey(t.app, org, ['read:*']);
    assertProblem(await patch(reader, client.id, { name: 'Reader' }), 403, 'insufficient_scope');
    assertProblem(await patch(org.adminKey, 'cli_0000000000000000000000', { name: 'x' }), 404, 'not_found');
    assertProblem(await patch(org.adminKey, 'cohera-cli', { name: 'x' }), 404, 'not_found');
    assert.equal(
      (await t.call(org.adminKey, 'GET', `/v1/oauth/clients/${client.id}`)).json().name,
      'Supplier portal',
    );
  });

  test('narrowing the scopes ends the authorizations beyond them, and only those', async () => {
    const client = await registerClient(t, org.adminKey, {
      name: 'Narrowed app',
      scopes: ['read:certificates', 'read:suppliers'],
    });
    const member = await createMember(t, org, 'member');
    const narrow = await authorize(t, new Browser(t.baseUrl), member, client, ['read:certificates']);
    const wide = await authorize(t, new Browser(t.baseUrl), org, client, [
      'read:certificates',
      'read:suppliers',
    ]);
    // Cached on this node before the change.
    assert.equal((await t.call(wide.access_token, 'GET', '/v1/suppliers')).statusCode, 200);

    const response = await patch(org.adminKey, client.id, { scopes: ['read:certificates'] });
    assert.equal(response.statusCode, 200);
    assertProblem(await t.call(wide.access_token, 'GET', '/v1/certificates'), 401, 'revoked_credential');
    assert.equal((await refreshRequest(t, client, wide.refresh_token)).status, 400);
    assert.equal((await t.call(narrow.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    assert.equal((await refreshRequest(t, client, narrow.refresh_token)).status, 200);

    const events = await t.call(org.adminKey, 'GET', '/v1/audit-events?action=oauth.client_updated');
    const mine = (events.json().data as { target: { id: string }; metadata: Record<string, unknown> }[]).find(
      (event) => event.target.id === client.id,
    );
    assert.equal(mine?.metadata.ended_authorizations, 1);

    // Asked again, the person can grant only what the app may now hold.
    const request = await authorizationRequest(t.as, client, ['read:certificates', 'read:suppliers']);
    const { consentHtml } = await runAuthorization(new Browser(t.baseUrl), request, org);
    assert.match(consentHtml ?? '', /not yours to grant/);
  });

  test('new redirect URIs replace the old ones: an authorization to a removed one is refused', async () => {
    const client = await registerClient(t, org.adminKey, { name: 'Moved app' });
    const updated = await patch(org.adminKey, client.id, {
      redirect_uris: ['http://127.0.0.1:9/new-callback'],
    });
    assert.equal(updated.statusCode, 200);
    const old = await authorizationRequest(t.as, client, ['read:certificates']);
    const refused = await fetch(old.url, { redirect: 'manual' });
    assert.equal(refused.status, 400, 'an error page, never a redirect to the removed URI');
    const moved = await authorizationRequest(
      t.as,
      client,
      ['read:certificates'],
      {},
      {
        redirectUri: 'http://127.0.0.1:9/new-callback',
      },
    );
    const { callback } = await runAuthorization(new Browser(t.baseUrl), moved, org);
    assert.equal(callback.pathname, '/new-callback');
  });

  test('a refresh may ask for fewer scopes (RFC 6749 §6); the refresh token keeps the whole grant', async () => {
    const client = await registerClient(t, org.adminKey, { name: 'Refresh app' });
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, [
      'read:certificates',
      'read:suppliers',
    ]);
    const narrower = await postForm(
      t.as.token_endpoint as string,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, scope: 'read:certificates' },
      client,
    );
    assert.equal(narrower.status, 200, await narrower.clone().text());
    const narrowed = (await narrower.json()) as {
      access_token: string;
      refresh_token: string;
      scope: string;
    };
    assert.equal(narrowed.scope, 'read:certificates');
    assert.deepEqual(decodeJwt(narrowed.access_token).scopes, ['read:certificates']);
    assertProblem(await t.call(narrowed.access_token, 'GET', '/v1/suppliers'), 403, 'insufficient_scope');
    assert.equal((await t.call(narrowed.access_token, 'GET', '/v1/certificates')).statusCode, 200);

    // The rotated refresh token still carries the grant: a refresh without `scope` gets all of it back.
    const full = await refreshRequest(t, client, narrowed.refresh_token);
    assert.equal(full.status, 200);
    const fullTokens = (await full.json()) as { access_token: string; refresh_token: string };
    assert.deepEqual(decodeJwt(fullTokens.access_token).scopes, ['read:certificates', 'read:suppliers']);

    // More than the grant is refused (invalid_scope), and the refresh token is not spent by the attempt.
    const wider = await postForm(
      t.as.token_endpoint as string,
      {
        grant_type: 'refresh_token',
        refresh_token: fullTokens.refresh_token,
        scope: 'read:certificates write:suppliers',
      },
      client,
    );
    assert.equal(wider.status, 400);
    assert.equal(((await wider.json()) as { error: string }).error, 'invalid_scope');
    assert.equal((await refreshRequest(t, client, fullTokens.refresh_token)).status, 200);
  });
});
