/**
 * The device authorization grant (RFC 8628) for `cohera-cli`, on every engine: the test plays the CLI by
 * HTTP (device authorization, polling) and the person with the cookie-keeping browser of support/oauth.ts
 * (code entry, sign-in, consent); the Chromium suite plays the person in a real browser. Covered: the
 * response's shape and `interval`, `authorization_pending`, `slow_down`, approval → tokens that work at the
 * API, refresh with rotation and reuse detection, deny → `access_denied`, expiry → `expired_token`, user
 * codes in any case with or without the dash, wrong codes limited per IP, and the CLI client's limits (no
 * code flow; third-party apps cannot use the device grant).
 */
import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import { decodeJwt } from 'jose';
import type { BrowserContext, Browser as ChromiumBrowser } from 'playwright-core';
import { DEVICE_GRANT_TYPE } from '../../src/auth/oauth/device-flow.ts';
import { ManualClock } from '../../src/clock.ts';
import { capturedLogs, createMember, createOrg, type TestOrg } from '../support/app.ts';
import { chromiumAvailable, launchChromium, WAIT_MS } from '../support/chromium.ts';
import { type EngineHandle, forEachEngine, prepareEngine } from '../support/engines.ts';
import {
  Browser,
  consentToken,
  type OAuthTestServer,
  postForm,
  registerClient,
  startOAuthServer,
} from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';

const CLI = { client_id: 'cohera-cli', client_secret: null };
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

interface TokenAnswer {
  access_token?: string;
  refresh_token?: string;
  token_type?: string;
  scope?: string;
  error?: string;
  error_description?: string;
}

async function startDevice(t: OAuthTestServer, scope: string): Promise<DeviceAuthorization> {
  const response = await postForm(t.as.device_authorization_endpoint as string, { scope }, CLI);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as DeviceAuthorization;
}

async function poll(t: OAuthTestServer, deviceCode: string): Promise<{ status: number; body: TokenAnswer }> {
  const response = await postForm(
    t.as.token_endpoint as string,
    { grant_type: DEVICE_GRANT_TYPE, device_code: deviceCode },
    CLI,
  );
  return { status: response.status, body: (await response.json()) as TokenAnswer };
}

function xsrfOf(html: string): string {
  const match = /name="xsrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no code entry form on the page: ${html.slice(0, 400)}`);
  return match[1] as string;
}

/**
 * The person's side: open the verification page, enter the code, sign in when asked, answer the consent
 * page. Returns the last page (the success page, or the code page again with its message).
 */
async function enterCode(
  t: OAuthTestServer,
  browser: Browser,
  userCode: string,
  person: Pick<TestOrg, 'email' | 'password'>,
  decision: 'allow' | 'deny' | null = 'allow',
): Promise<{ status: number; html: string; consentHtml?: string }> {
  const page = await browser.navigate(`${t.baseUrl}/oauth/device`);
  let html = await page.response.text();
  let { response } = await browser.submit(`${t.baseUrl}/oauth/device`, {
    xsrf: xsrfOf(html),
    confirm: 'yes',
    user_code: userCode,
  });
  html = await response.text();
  if (html.includes('name="password"')) {
    const returnTo = /name="return_to" value="([^"]+)"/.exec(html)?.[1] as string;
    ({ response } = await browser.submit(`${t.baseUrl}/auth/login`, {
      email: person.email,
      password: person.password,
      return_to: returnTo,
    }));
    html = await response.text();
  }
  const action = /<form method="post" action="([^"]+\/decision)"/.exec(html)?.[1];
  if (!action || decision === null) return { status: response.status, html };
  const consentHtml = html;
  ({ response } = await browser.submit(new URL(action, t.baseUrl).href, {
    decision,
    csrf_token: consentToken(html),
  }));
  return { status: response.status, html: await response.text(), consentHtml };
}

forEachEngine('oauth: device authorization grant (RFC 8628)', (_engine, handle) => {
  // Wall time at the start; moved forward by the tests instead of waiting out the polling interval.
  const clock = new ManualClock(Date.now());
  let t: OAuthTestServer;
  let org: TestOrg;

  before(async () => {
    t = await startOAuthServer(handle(), { clock });
    org = await createOrg(t.app);
  });
  after(() => t.close());

  test('the metadata names the device endpoint and grant; scopes_supported lists the API scopes', () => {
    assert.equal(t.as.device_authorization_endpoint, `${t.baseUrl}/oauth/device/auth`);
    assert.ok(t.as.grant_types_supported?.includes(DEVICE_GRANT_TYPE));
    for (const scope of ['read:certificates', 'write:suppliers', 'admin']) {
      assert.ok(t.as.scopes_supported?.includes(scope), scope);
    }
  });

  test('the device authorization response: codes, verification URIs, expiry and interval', async () => {
    const device = await startDevice(t, 'read:certificates');
    assert.match(device.user_code, USER_CODE);
    assert.ok(device.device_code.length >= 32);
    assert.equal(device.verification_uri, `${t.baseUrl}/oauth/device`);
    assert.equal(
      device.verification_uri_complete,
      `${t.baseUrl}/oauth/device?user_code=${encodeURIComponent(device.user_code)}`,
    );
    assert.equal(device.expires_in, 600);
    assert.equal(device.interval, 5);
    // Stored hashed, like every artefact id: the user code lets its holder approve the device.
    const rows = await t.app.deps.db.selectFrom('oauth_artifacts').select(['id', 'user_code']).execute();
    const stored = JSON.stringify(rows);
    assert.ok(!stored.includes(device.user_code.replace('-', '')) && !stored.includes(device.device_code));
  });

  test('pending, slow_down when polling too fast, then approved: tokens that work at the API, and refresh', async () => {
    const device = await startDevice(t, 'read:certificates write:suppliers');
    assert.deepEqual((await poll(t, device.device_code)).body.error, 'authorization_pending');
    const tooSoon = await poll(t, device.device_code);
    assert.equal(tooSoon.status, 400);
    assert.equal(tooSoon.body.error, 'slow_down');
    clock.advance(5_000);
    assert.equal((await poll(t, device.device_code)).body.error, 'authorization_pending');

    const browser = new Browser(t.baseUrl);
    const page = await enterCode(t, browser, device.user_code, org);
    assert.equal(page.status, 200, page.html.slice(page.html.indexOf('<main>')));
    assert.match(page.html, /id="device-connected"/);
    // The consent page says which app, in words, and repeats the code to compare with the device.
    assert.match(page.consentHtml ?? '', /Authorize Cohera CLI/);
    assert.match(page.consentHtml ?? '', new RegExp(`id="user-code">${device.user_code}<`));
    assert.match(page.consentHtml ?? '', /Read certificate data/);

    clock.advance(5_000);
    const approved = await poll(t, device.device_code);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const { access_token: access, refresh_token: refresh } = approved.body;
    assert.ok(access && refresh);
    const claims = decodeJwt(access);
    assert.equal(claims.client_id, 'cohera-cli');
    assert.equal(claims.sub, org.userId);
    assert.equal(claims.org_id, org.orgId);
    assert.deepEqual(claims.scopes, ['read:certificates', 'write:suppliers']);
    assert.equal((await t.call(access, 'GET', '/v1/certificates')).statusCode, 200);
    assertProblem(await t.call(access, 'GET', '/v1/api-keys'), 403, 'insufficient_scope');

    // No code or token of the flow is in any log line (the verification URI's query is never logged).
    for (const value of [
      device.device_code,
      device.user_code,
      device.user_code.replace('-', ''),
      access,
      refresh,
    ]) {
      assert.equal(
        capturedLogs.find((line) => line.includes(value)),
        undefined,
        'a device-flow secret was logged',
      );
    }

    // Refresh: rotated on use, for device grants as for code grants.
    const refreshed = await postForm(
      t.as.token_endpoint as string,
      { grant_type: 'refresh_token', refresh_token: refresh },
      CLI,
    );
    assert.equal(refreshed.status, 200, await refreshed.clone().text());
    const next = (await refreshed.json()) as TokenAnswer;
    assert.ok(next.refresh_token && next.refresh_token !== refresh && next.access_token);
    assert.equal((await t.call(next.access_token, 'GET', '/v1/certificates')).statusCode, 200);

    // The device code works once: presented again, it is refused and ends what it issued (a replay).
    clock.advance(5_000);
    assert.equal((await poll(t, device.device_code)).body.error, 'invalid_grant');
    assertProblem(await t.call(next.access_token, 'GET', '/v1/certificates'), 401, 'revoked_credential');

    // A used refresh token presented again revokes the grant (reuse detection).
    const browser2 = new Browser(t.baseUrl);
    const again = await startDevice(t, 'read:certificates');
    await enterCode(t, browser2, again.user_code, org);
    clock.advance(5_000);
    const first = (await poll(t, again.device_code)).body;
    const rotated = await postForm(
      t.as.token_endpoint as string,
      { grant_type: 'refresh_token', refresh_token: first.refresh_token as string },
      CLI,
    );
    const rotatedTokens = (await rotated.json()) as TokenAnswer;
    assert.equal(rotated.status, 200);
    const reused = await postForm(
      t.as.token_endpoint as string,
      { grant_type: 'refresh_token', refresh_token: first.refresh_token as string },
      CLI,
    );
    assert.equal(reused.status, 400);
    assertProblem(
      await t.call(rotatedTokens.access_token as string, 'GET', '/v1/certificates'),
      401,
      'revoked_credential',
    );

    // `cohera logout`: the public client revokes its own refresh token with its client_id alone.
    const second = await startDevice(t, 'read:certificates');
    await enterCode(t, browser, second.user_code, org);
    clock.advance(5_000);
    const tokens = (await poll(t, second.device_code)).body;
    assert.equal(
      (await postForm(t.as.revocation_endpoint as string, { token: tokens.access_token as string }, CLI))
        .status,
      200,
    );
    assert.equal(
      (await postForm(t.as.revocation_endpoint as string, { token: tokens.refresh_token as string }, CLI))
        .status,
      200,
    );
    assertProblem(
      await t.call(tokens.access_token as string, 'GET', '/v1/certificates'),
      401,
      'revoked_credential',
    );
  });

  test('every login asks for consent again, and gets what the person’s role holds', async () => {
    const member = await createMember(t, org, 'member');
    const device = await startDevice(t, 'read:certificates admin');
    const page = await enterCode(t, new Browser(t.baseUrl), device.user_code, member);
    assert.match(page.html, /id="device-connected"/);
    assert.match(page.consentHtml ?? '', /not yours to grant/);
    clock.advance(5_000);
    const tokens = (await poll(t, device.device_code)).body;
    assert.deepEqual(decodeJwt(tokens.access_token as string).scopes, ['read:certificates']);
  });

  test('denied on the consent page: the device gets access_denied', async () => {
    const device = await startDevice(t, 'read:certificates');
    const page = await enterCode(t, new Browser(t.baseUrl), device.user_code, org, 'deny');
    assert.match(page.html, /You denied access/);
    clock.advance(5_000);
    const denied = await poll(t, device.device_code);
    assert.equal(denied.status, 400);
    assert.equal(denied.body.error, 'access_denied');
  });

  test('the complete verification URI: the code arrives filled in, and the person confirms it once', async () => {
    const device = await startDevice(t, 'read:certificates');
    const browser = new Browser(t.baseUrl);
    // The engine answers with a page that posts the code to the form (a script, or a button without one).
    const landing = await (await browser.navigate(device.verification_uri_complete)).response.text();
    const fields = Object.fromEntries(
      [...landing.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    assert.equal(fields.user_code, device.user_code);
    const confirm = await browser.submit(`${t.baseUrl}/oauth/device`, fields as Record<string, string>);
    const confirmHtml = await confirm.response.text();
    // Someone who did not type the code is shown it, with the app, and must confirm or cancel.
    assert.match(confirmHtml, /Is this your device\?/);
    assert.match(confirmHtml, new RegExp(`id="user-code">${device.user_code}<`));
    assert.match(confirmHtml, /name="abort" value="yes"/);
    const cancelled = await browser.submit(`${t.baseUrl}/oauth/device`, {
      xsrf: xsrfOf(confirmHtml),
      user_code: device.user_code,
      abort: 'yes',
    });
    assert.match(await cancelled.response.text(), /You denied access/);
    clock.advance(5_000);
    assert.equal((await poll(t, device.device_code)).body.error, 'access_denied');
  });

  test('a code posted without the page’s session (expired, or never opened) goes back to the form', async () => {
    const device = await startDevice(t, 'read:certificates');
    const browser = new Browser(t.baseUrl);
    const { response } = await browser.submit(`${t.baseUrl}/oauth/device`, {
      xsrf: 'forged',
      confirm: 'yes',
      user_code: device.user_code,
    });
    // Followed to the form (a fresh session), never a 500, and the code was not accepted.
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.match(html, /name="user_code"/);
    assert.equal((await poll(t, device.device_code)).body.error, 'authorization_pending');
    const bogusResume = await fetch(`${t.baseUrl}/oauth/device/not-an-interaction`, { redirect: 'manual' });
    assert.equal(bogusResume.status, 303);
    assert.equal(bogusResume.headers.get('location'), '/oauth/device');
  });

  test('a code in lower case or without its dash is the same code', async () => {
    const device = await startDevice(t, 'read:certificates');
    const typed = device.user_code.replace('-', '').toLowerCase();
    const page = await enterCode(t, new Browser(t.baseUrl), typed, org);
    assert.match(page.html, /id="device-connected"/);
  });

  test('expired: the device gets expired_token, the person "expired"', async () => {
    const device = await startDevice(t, 'read:certificates');
    const browser = new Browser(t.baseUrl);
    const form = xsrfOf(await (await browser.navigate(`${t.baseUrl}/oauth/device`)).response.text());
    // The engine judges expiry by its own clock (Date), ours by the injected one: move both past 10 min.
    clock.advance(601_000);
    mock.timers.enable({ apis: ['Date'], now: Date.now() + 601_000 });
    try {
      const expired = await poll(t, device.device_code);
      assert.equal(expired.status, 400);
      assert.equal(expired.body.error, 'expired_token');
      const { response } = await browser.submit(`${t.baseUrl}/oauth/device`, {
        xsrf: form,
        confirm: 'yes',
        user_code: device.user_code,
      });
      assert.match(await response.text(), /That code has expired/);
    } finally {
      mock.timers.reset();
    }
  });

  test('cohera-cli has no code flow; apps cannot use the device grant; no org sees or edits the CLI', async () => {
    const authorize = new URL(t.as.authorization_endpoint as string);
    authorize.search = new URLSearchParams({
      client_id: 'cohera-cli',
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1:9/callback',
      scope: 'read:certificates',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const refused = await fetch(authorize, { redirect: 'manual' });
    assert.equal(refused.status, 400, 'an error page, never a redirect');

    const app = await registerClient(t, org.adminKey, { name: 'TV app' });
    const byApp = await postForm(
      t.as.device_authorization_endpoint as string,
      { scope: 'read:certificates' },
      app,
    );
    const byAppBody = (await byApp.json()) as TokenAnswer;
    assert.equal(byApp.status, 400);
    assert.equal(byAppBody.error, 'invalid_request');
    assert.match(byAppBody.error_description ?? '', /device_code is not allowed for this client/);

    assertProblem(await t.call(org.adminKey, 'GET', '/v1/oauth/clients/cohera-cli'), 404, 'not_found');
    assertProblem(await t.call(org.adminKey, 'DELETE', '/v1/oauth/clients/cohera-cli'), 404, 'not_found');
    const listed = await t.call(org.adminKey, 'GET', '/v1/oauth/clients');
    assert.ok(!JSON.stringify(listed.json()).includes('cohera-cli'));
  });

  // Last: it spends this IP's budget of wrong codes.
  test('wrong user codes are limited per IP: then even the right code must wait', async () => {
    const device = await startDevice(t, 'read:certificates');
    const browser = new Browser(t.baseUrl);
    // The engine renews the form's anti-forgery token on every render: each attempt uses the last page's.
    let html = await (await browser.navigate(`${t.baseUrl}/oauth/device`)).response.text();
    for (let guess = 0; guess < 10; guess++) {
      const { response } = await browser.submit(`${t.baseUrl}/oauth/device`, {
        xsrf: xsrfOf(html),
        confirm: 'yes',
        user_code: `BCDF-${'GHJKLMNPQR'[guess]}BCD`,
      });
      assert.notEqual(response.status, 429, `guess ${guess + 1} was refused early`);
      html = await response.text();
      assert.match(html, /That code is not valid/, `guess ${guess + 1}`);
    }
    const { response } = await browser.submit(`${t.baseUrl}/oauth/device`, {
      xsrf: xsrfOf(html),
      confirm: 'yes',
      user_code: device.user_code,
    });
    assert.equal(response.status, 429);
    assert.ok(Number(response.headers.get('retry-after')) > 0);
    assert.match(await response.text(), /Too many codes were tried/);
    assert.equal((await poll(t, device.device_code)).body.error, 'authorization_pending');
  });
});

if (chromiumAvailable('the device flow in Chromium')) {
  describe('the device flow in Chromium [sqlite]', () => {
    let handle: EngineHandle | undefined;
    let t: OAuthTestServer | undefined;
    let chromium: ChromiumBrowser | undefined;
    let context: BrowserContext | undefined;
    let org: TestOrg;

    before(
      async () => {
        handle = await prepareEngine('sqlite');
        t = await startOAuthServer(handle);
        org = await createOrg(t.app);
        chromium = await launchChromium();
      },
      { timeout: 60_000 },
    );
    after(async () => {
      await context?.close().catch(() => {});
      await chromium?.close().catch(() => {});
      await t?.close();
      await handle?.cleanup();
    });

    test('a person connects the CLI: code page → sign-in → consent → success; the CLI gets its tokens', {
      timeout: 60_000,
    }, async () => {
      const server = t as OAuthTestServer;
      const device = await startDevice(server, 'read:certificates read:suppliers');
      context = await (chromium as ChromiumBrowser).newContext();
      context.setDefaultTimeout(WAIT_MS);
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });

      await page.goto(device.verification_uri);
      await page.locator('input[name=user_code]').fill(device.user_code.toLowerCase());
      await page.locator('button[type=submit]').click();
      await page.locator('input[name=password]').waitFor();
      await page.locator('input[name=email]').fill(org.email);
      await page.locator('input[name=password]').fill(org.password);
      await page.locator('button[type=submit]').click();
      await page.locator('ul#scopes').waitFor();
      assert.equal(await page.locator('#user-code').textContent(), device.user_code);
      const items = (await page.locator('ul#scopes > li').allTextContents()).map((text) =>
        text.replace(/\s+/g, ' ').trim(),
      );
      assert.deepEqual(items.sort(), [
        'Read certificate data read:certificates',
        'Read supplier data read:suppliers',
      ]);
      assert.equal(await poll(server, device.device_code).then((r) => r.body.error), 'authorization_pending');
      await page.locator('button[name=decision][value=allow]').click();
      await page.locator('#device-connected').waitFor();
      assert.deepEqual(violations, [], 'the pages broke their own Content-Security-Policy');

      // RFC 8628 §3.5: the CLI waits the interval before it polls again.
      await new Promise((resolve) => setTimeout(resolve, device.interval * 1000));
      const approved = await poll(server, device.device_code);
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(
        (await server.call(approved.body.access_token as string, 'GET', '/v1/suppliers')).statusCode,
        200,
      );
    });
  });
}
