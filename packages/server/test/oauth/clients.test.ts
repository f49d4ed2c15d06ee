/**
 * The developer console's API on every engine: registering apps (redirect-URI rules, scope ceilings, no
 * escalation, modes), the secret shown once and stored hashed, rotation with a grace period, deletion
 * revoking everything the app holds, and isolation between orgs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashClientSecret } from '../../src/auth/oauth/clients-repository.ts';
import { ManualClock } from '../../src/clock.ts';
import { createKey, createOrg, type TestOrg } from '../support/app.ts';
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

const VALID = {
  name: 'ERP connector',
  redirect_uris: ['https://erp.example.com/oauth/callback'],
  client_type: 'confidential',
  scopes: ['read:certificates'],
};

forEachEngine('oauth: developer console (/v1/oauth/clients)', (_engine, handle) => {
  let t: OAuthTestServer;
  let org: TestOrg;
  let other: TestOrg;
  const clock = new ManualClock(Date.now());

  before(async () => {
    t = await startOAuthServer(handle(), { clock });
    org = await createOrg(t.app);
    other = await createOrg(t.app);
  });
  after(() => t.close());

  test('register: 201 with the secret once; list and get never show it; only its hash is stored', async () => {
    const created = await t.call(org.adminKey, 'POST', '/v1/oauth/clients', VALID);
    assert.equal(created.statusCode, 201, created.body);
    const body = created.json();
    assert.match(body.id, /^cli_[0-9A-Za-z]{22}$/);
    assert.equal(body.client_id, body.id);
    assert.equal(body.object, 'oauth_client');
    assert.match(body.client_secret, /^cs_[A-Za-z0-9_-]{43}$/);
    assert.equal(body.secret_last4, body.client_secret.slice(-4));
    assert.deepEqual(body.redirect_uris, VALID.redirect_uris);
    assert.deepEqual(body.scopes, ['read:certificates']);
    assert.equal(body.mode, 'live');
    assert.equal(body.client_type, 'confidential');

    const got = await t.call(org.adminKey, 'GET', `/v1/oauth/clients/${body.id}`);
    assert.equal(got.statusCode, 200);
    assert.equal(got.json().client_secret, undefined);
    const list = await t.call(org.adminKey, 'GET', '/v1/oauth/clients');
    assert.ok(list.json().data.some((c: { id: string }) => c.id === body.id));
    assert.ok(!list.body.includes(body.client_secret) && !got.body.includes(body.client_secret));

    const row = await t.app.deps.db
      .selectFrom('oauth_clients')
      .selectAll()
      .where('id', '=', body.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.secret_hash, hashClientSecret(body.client_secret));
    assert.ok(!JSON.stringify(row).includes(body.client_secret));
  });

  test('public clients get no secret', async () => {
    const created = await t.call(org.adminKey, 'POST', '/v1/oauth/clients', {
      ...VALID,
      client_type: 'public',
    });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json().client_secret, null);
    assert.equal(created.json().secret_last4, null);
  });

  test('redirect URIs: absolute, https (http only for loopback), no fragment, no credentials', async () => {
    const accepted = [
      'https://app.example.com/cb',
      'http://127.0.0.1:5173/callback',
      'http://localhost:3000/cb',
      'http://[::1]:8080/cb',
      'https://app.example.com/cb?tenant=acme',
      'com.example.app:/oauth2redirect',
    ];
    for (const uri of accepted.slice(0, 5)) {
      const res = await t.call(org.adminKey, 'POST', '/v1/oauth/clients', { ...VALID, redirect_uris: [uri] });
      assert.equal(res.statusCode, 201, `${uri}: ${res.body}`);
      assert.deepEqual(res.json().redirect_uris, [uri], 'stored exactly as given');
    }
    const refused: Array<[string, RegExp]> = [
      ['http://app.example.com/cb', /https/],
      ['/callback', /absolute/],
      ['https://app.example.com/cb#frag', /fragment/],
      ['https://user:pass@app.example.com/cb', /credentials/],
      ['javascript:alert(1)', /https/],
      [accepted[5] as string, /https/],
    ];
    for (const [uri, message] of refused) {
      const res = await t.call(org.adminKey, 'POST', '/v1/oauth/clients', {
        ...VALID,
        redirect_uris: ['https://ok.example.com/cb', uri],
      });
      const problem = assertProblem(res, 400, 'validation_failed', 'body/redirect_uris/1');
      assert.match(problem.detail ?? '', message, uri);
    }
    assertProblem(
      await t.call(org.adminKey, 'POST', '/v1/oauth/clients', { ...VALID, redirect_uris: [] }),
      400,
      'validation_failed',
      'body/redirect_uris',
    );
  });

  test('bad input names the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...VALID, name: '   ' }, 'body/name'],
      [{ ...VALID, client_type: 'spa' }, 'body/client_type'],
      [{ ...VALID, scopes: ['read:everything'] }, 'body/scopes/0'],
      [{ ...VALID, scopes: [] }, 'body/scopes'],
      [{ ...VALID, extra: true }, 'body/extra'],
      [{ name: 'x', client_type: 'public', scopes: ['admin'] }, 'body/redirect_uris'],
    ];
    for (const [body, field] of cases) {
      assertProblem(
        await t.call(org.adminKey, 'POST', '/v1/oauth/clients', body),
        400,
        'validation_failed',
        field,
      );
    }
  });

  test('no escalation: a key cannot register an app with scopes it lacks; test keys make test apps only', async () => {
    const writer = await createKey(t.app, org, ['admin']);
    const reader = await createKey(t.app, org, ['read:*']);
    assertProblem(await t.call(reader, 'POST', '/v1/oauth/clients', VALID), 403, 'insufficient_scope');
    const testKey = await createKey(t.app, org, ['admin'], 'test');
    assertProblem(
      await t.call(testKey, 'POST', '/v1/oauth/clients', { ...VALID, mode: 'live' }),
      403,
      'forbidden',
    );
    const testApp = await t.call(testKey, 'POST', '/v1/oauth/clients', VALID);
    assert.equal(testApp.json().mode, 'test');
    // A test-mode key sees test apps only; a live admin key sees both.
    const fromTest = await t.call(testKey, 'GET', '/v1/oauth/clients?limit=100');
    assert.ok(fromTest.json().data.every((c: { mode: string }) => c.mode === 'test'));
    const live = await t.call(writer, 'POST', '/v1/oauth/clients', VALID);
    assertProblem(await t.call(testKey, 'GET', `/v1/oauth/clients/${live.json().id}`), 404, 'not_found');
  });

  test('another org can neither see, rotate nor delete an app', async () => {
    const mine = await registerClient(t, org.adminKey);
    for (const [method, url] of [
      ['GET', `/v1/oauth/clients/${mine.id}`],
      ['DELETE', `/v1/oauth/clients/${mine.id}`],
      ['POST', `/v1/oauth/clients/${mine.id}/rotate-secret`],
    ] as const) {
      assertProblem(await t.call(other.adminKey, method, url), 404, 'not_found');
    }
    const theirs = await t.call(other.adminKey, 'GET', '/v1/oauth/clients?limit=100');
    assert.ok(!theirs.json().data.some((c: { id: string }) => c.id === mine.id));
    assert.equal((await t.call(org.adminKey, 'GET', `/v1/oauth/clients/${mine.id}`)).statusCode, 200);
  });

  test('pagination: newest first, with a cursor', async () => {
    const fresh = await createOrg(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(1); // ids sort by their millisecond; this clock does not move by itself
      ids.push((await registerClient(t, fresh.adminKey, { name: `App ${i}` })).id);
    }
    const first = await t.call(fresh.adminKey, 'GET', '/v1/oauth/clients?limit=2');
    assert.deepEqual(
      first.json().data.map((c: { id: string }) => c.id),
      [ids[2], ids[1]],
    );
    const second = await t.call(
      fresh.adminKey,
      'GET',
      `/v1/oauth/clients?limit=2&cursor=${first.json().next_cursor}`,
    );
    assert.deepEqual(
      second.json().data.map((c: { id: string }) => c.id),
      [ids[0]],
    );
    assert.equal(second.json().next_cursor, null);
  });

  test('rotate-secret: the old secret works during the grace period, then only the new one', async () => {
    const app = await registerClient(t, org.adminKey);
    const tokens = await authorize(t, new Browser(t.baseUrl), org, app, ['read:certificates']);
    const rotated = await t.call(org.adminKey, 'POST', `/v1/oauth/clients/${app.id}/rotate-secret`, {
      grace_period_seconds: 600,
    });
    assert.equal(rotated.statusCode, 200, rotated.body);
    const secret = rotated.json().client_secret as string;
    assert.notEqual(secret, app.client_secret);
    assert.ok(rotated.json().previous_secret_expires_at);

    const withOld = await refreshRequest(t, app, tokens.refresh_token);
    assert.equal(withOld.status, 200, 'the old secret still authenticates during the grace period');
    const { refresh_token: next } = (await withOld.json()) as { refresh_token: string };

    clock.advance(601_000);
    const oldAfter = await postForm(
      t.as.token_endpoint as string,
      { grant_type: 'refresh_token', refresh_token: next },
      app,
    );
    assert.equal(oldAfter.status, 401, 'the old secret is refused after the grace period');
    const withNew = await postForm(
      t.as.token_endpoint as string,
      { grant_type: 'refresh_token', refresh_token: next },
      {
        client_id: app.client_id,
        client_secret: secret,
      },
    );
    assert.equal(withNew.status, 200, await withNew.clone().text());
  });

  test('rotate-secret with no grace ends the old secret at once; a public app has none to rotate', async () => {
    const app = await registerClient(t, org.adminKey);
    const tokens = await authorize(t, new Browser(t.baseUrl), org, app, ['read:certificates']);
    const rotated = await t.call(org.adminKey, 'POST', `/v1/oauth/clients/${app.id}/rotate-secret`, {
      grace_period_seconds: 0,
    });
    assert.equal(rotated.json().previous_secret_expires_at, null);
    assert.equal((await refreshRequest(t, app, tokens.refresh_token)).status, 401);
    const empty = await t.app.inject({
      method: 'POST',
      url: `/v1/oauth/clients/${app.id}/rotate-secret`,
      headers: { authorization: `Bearer ${org.adminKey}` },
    });
    assert.equal(empty.statusCode, 200, 'an empty body uses the default grace period');
    assertProblem(
      await t.call(org.adminKey, 'POST', `/v1/oauth/clients/${app.id}/rotate-secret`, {
        grace_period_seconds: 8 * 86_400,
      }),
      400,
      'validation_failed',
      'body/grace_period_seconds',
    );
    const spa = await registerClient(t, org.adminKey, { client_type: 'public' });
    assertProblem(
      await t.call(org.adminKey, 'POST', `/v1/oauth/clients/${spa.id}/rotate-secret`, {}),
      409,
      'conflict',
    );
  });

  test('delete: 204, then 404; every token of the app stops working at once', async () => {
    const app: RegisteredClient = await registerClient(t, org.adminKey);
    const tokens = await authorize(t, new Browser(t.baseUrl), org, app, ['read:certificates']);
    assert.equal((await t.call(tokens.access_token, 'GET', '/v1/certificates')).statusCode, 200);
    const deleted = await t.call(org.adminKey, 'DELETE', `/v1/oauth/clients/${app.id}`);
    assert.equal(deleted.statusCode, 204);
    assertProblem(await t.call(org.adminKey, 'GET', `/v1/oauth/clients/${app.id}`), 404, 'not_found');
    assertProblem(await t.call(org.adminKey, 'DELETE', `/v1/oauth/clients/${app.id}`), 404, 'not_found');
    assertProblem(await t.call(tokens.access_token, 'GET', '/v1/certificates'), 401, 'revoked_credential');
    const refresh = await refreshRequest(t, app, tokens.refresh_token);
    assert.equal(refresh.status, 401, 'the client itself is gone');
  });
});
