/**
 * The OAuth sign-in and consent pages in a real browser (DESIGN §5.3): Debian's Chromium driven by
 * playwright-core, against a listening server on loopback, with a tiny loopback HTTP server as the app's
 * redirect URI and oauth4webapi as the app. A real browser enforces what the fetch-based browser of
 * support/oauth.ts cannot: the pages' CSP (browsers apply `form-action` to the redirects after a form post,
 * so a missing client origin there strands the user on our page), SameSite cookies across the redirect
 * chain, and the forms' own markup (a button outside its form, a wrong field name) rather than a
 * hand-built POST.
 *
 * SQLite only: the flow is the same on both engines, and each browser run costs seconds.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createOrg, type TestOrg } from '../support/app.ts';
import { chromiumAvailable, launchChromium, WAIT_MS } from '../support/chromium.ts';
import { tempDir } from '../support/config.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';
import {
  type AuthorizationRequest,
  authorizationRequest,
  exchangeCode,
  type OAuthTestServer,
  type RegisteredClient,
  registerClient,
  startOAuthServer,
} from '../support/oauth.ts';
import type { ProblemBody } from '../support/problem.ts';

const TEST_TIMEOUT_MS = 60_000;

/** Written here rather than taken from SCOPE_DESCRIPTIONS, so a page that shows the wrong words fails. */
const WORDS = {
  'read:certificates': 'Read certificate data',
  'read:suppliers': 'Read supplier data',
  'write:suppliers': 'Create and update suppliers',
} as const;
type Requested = keyof typeof WORDS;

const PORTAL_NAME = 'Supplier portal';
const OTHER_NAME = 'Audit helper';
const FIRST_SCOPES: Requested[] = ['read:certificates', 'read:suppliers'];
const WIDER_SCOPES: Requested[] = [...FIRST_SCOPES, 'write:suppliers'];

interface CallbackApp {
  redirectUri: string;
  origin: string;
  /** Every callback the app received, as full URLs. */
  received: URL[];
  close(): Promise<void>;
}

/** The app's side of the redirect: records each callback and answers a page, as a real app would. */
async function startCallbackApp(): Promise<CallbackApp> {
  const received: URL[] = [];
  let origin = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (req.method === 'GET' && url.pathname === '/callback') {
      received.push(url);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end('<!doctype html><html lang="en"><title>App</title><h1 id="back">Back in the app</h1></html>');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    redirectUri: `${origin}/callback`,
    origin,
    received,
    close: () =>
      new Promise((resolve, reject) => {
        // The browser may keep a connection alive; close() alone would wait for it.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** What the page did: main-frame documents (to tell which pages were shown) and any non-loopback request. */
interface PageLog {
  documents: { url: URL; status: number }[];
  foreign: string[];
  cspViolations: string[];
}

function watch(page: Page): PageLog {
  const log: PageLog = { documents: [], foreign: [], cspViolations: [] };
  page.on('request', (request) => {
    if (new URL(request.url()).hostname !== '127.0.0.1') log.foreign.push(request.url());
  });
  page.on('response', (response) => {
    const request = response.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
      log.documents.push({ url: new URL(response.url()), status: response.status() });
    }
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) log.cspViolations.push(message.text());
  });
  return log;
}

function assertClean(log: PageLog): void {
  assert.deepEqual(log.foreign, [], 'the browser requested something other than loopback');
  assert.deepEqual(log.cspViolations, [], 'the page broke its own Content-Security-Policy');
}

if (chromiumAvailable('OAuth sign-in and consent in Chromium')) {
  describe('OAuth sign-in and consent in Chromium [sqlite]', () => {
    let handle: EngineHandle | undefined;
    let server: OAuthTestServer | undefined;
    let callbackApp: CallbackApp | undefined;
    let browser: Browser | undefined;
    const contexts: BrowserContext[] = [];
    const shots = tempDir('cohera-browser-');
    let org: TestOrg;
    let portal: RegisteredClient;
    let other: RegisteredClient;
    /** Signed in by the full-flow test and kept: the remembered-consent test continues in it. */
    let signedIn: BrowserContext | undefined;

    const api = () => server as OAuthTestServer;
    const app = () => callbackApp as CallbackApp;

    async function newContext(): Promise<BrowserContext> {
      const context = await (browser as Browser).newContext({ viewport: { width: 800, height: 900 } });
      context.setDefaultTimeout(WAIT_MS);
      context.setDefaultNavigationTimeout(WAIT_MS);
      contexts.push(context);
      return context;
    }

    function authorize(client: RegisteredClient, scopes: readonly string[]): Promise<AuthorizationRequest> {
      return authorizationRequest(api().as, client, [...scopes], {}, { redirectUri: app().redirectUri });
    }

    /** The page is on our sign-in form (not the dashboard's or anyone else's). */
    async function assertLoginPage(page: Page): Promise<void> {
      await page.locator('input[name=password]').waitFor();
      const url = new URL(page.url());
      assert.equal(url.origin, api().baseUrl);
      assert.match(url.pathname, /^\/oauth\/interaction\/[A-Za-z0-9_-]+$/);
      assert.equal(await page.locator('h1').textContent(), 'Sign in to Cohera');
    }

    /** Types the credentials and presses the form's own submit button, as a person (or a manager) would. */
    async function signIn(page: Page): Promise<void> {
      await page.locator('input[name=email]').fill(org.email);
      await page.locator('input[name=password]').fill(org.password);
      await page.locator('button[type=submit]').click();
    }

    /** Opens the authorization URL and, signing in when asked, stops on the consent page. */
    async function reachConsent(page: Page, request: AuthorizationRequest): Promise<void> {
      await page.goto(request.url.href);
      const first = page.locator('ul#scopes, input[name=password]').first();
      await first.waitFor();
      if ((await first.getAttribute('name')) === 'password') await signIn(page);
      await page.locator('ul#scopes').waitFor();
      assert.equal(new URL(page.url()).origin, api().baseUrl);
    }

    /** The consent page names the app and says each scope in words, with nothing listed as not grantable. */
    async function assertConsentFor(page: Page, appName: string, scopes: readonly Requested[]) {
      assert.equal(await page.locator('h1').textContent(), `Authorize ${appName}`);
      const items = (await page.locator('ul#scopes > li').allTextContents()).map((text) =>
        text.replace(/\s+/g, ' ').trim(),
      );
      assert.deepEqual(
        [...items].sort(),
        scopes.map((scope) => `${WORDS[scope]} ${scope}`).sort(),
        `scopes on the consent page: ${JSON.stringify(items)}`,
      );
      assert.equal(await page.locator('ul.scopes.muted').count(), 0, 'no scope should be ungrantable');
    }

    /** Waits until the browser is back at the app; returns the URL it landed on (which the app received). */
    async function backAtApp(page: Page, request: AuthorizationRequest): Promise<URL> {
      await page.waitForURL((url) => url.origin === app().origin && url.pathname === '/callback');
      const landed = new URL(page.url());
      const received = app().received.filter((url) => url.searchParams.get('state') === request.state);
      assert.equal(received.length, 1, 'the app should receive exactly one callback for this state');
      assert.equal(received[0]?.href, landed.href);
      assert.equal(landed.searchParams.get('state'), request.state);
      assert.equal(landed.searchParams.get('iss'), api().baseUrl, 'RFC 9207: iss is the issuer URL');
      return landed;
    }

    /** The API over the real listener, with the access token as a bearer credential. */
    async function callApi(token: string, method: 'GET' | 'POST', path: string, body?: unknown) {
      const response = await fetch(`${api().baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(WAIT_MS),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        text,
        json: (): unknown => JSON.parse(text),
      };
    }

    before(
      async () => {
        handle = await prepareEngine('sqlite');
        server = await startOAuthServer(handle);
        callbackApp = await startCallbackApp();
        org = await createOrg(server.app);
        portal = await registerClient(server, org.adminKey, {
          name: PORTAL_NAME,
          redirect_uris: [callbackApp.redirectUri],
          scopes: ['read:certificates', 'read:suppliers', 'write:suppliers'],
        });
        other = await registerClient(server, org.adminKey, {
          name: OTHER_NAME,
          redirect_uris: [callbackApp.redirectUri],
          scopes: ['read:certificates'],
        });
        browser = await launchChromium();
      },
      { timeout: TEST_TIMEOUT_MS },
    );

    after(async () => {
      // Each step runs even if an earlier one fails, so no browser process or listener outlives the suite.
      const errors: unknown[] = [];
      const attempt = async (step: () => Promise<void> | void) => {
        try {
          await step();
        } catch (error) {
          errors.push(error);
        }
      };
      for (const context of contexts) await attempt(() => context.close());
      await attempt(() => browser?.close());
      await attempt(() => callbackApp?.close());
      await attempt(() => server?.close());
      await attempt(() => handle?.cleanup());
      await attempt(() => shots.remove());
      if (errors.length) throw new AggregateError(errors, 'closing the browser suite failed');
    });

    test('sign in, consent and back to the app; the token reads certificates and cannot write suppliers', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      signedIn = await newContext();
      const page = await signedIn.newPage();
      const log = watch(page);
      const request = await authorize(portal, FIRST_SCOPES);

      await page.goto(request.url.href);
      await assertLoginPage(page);
      await signIn(page);
      await page.locator('ul#scopes').waitFor();
      await assertConsentFor(page, PORTAL_NAME, FIRST_SCOPES);

      await page.locator('button[name=decision][value=allow]').click();
      const callback = await backAtApp(page, request);
      assert.ok(callback.searchParams.get('code'), `no code in ${callback.href}`);
      assert.equal(callback.searchParams.get('error'), null);
      assertClean(log);

      const tokens = await exchangeCode(api().as, portal, request, callback, app().redirectUri);
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.deepEqual(String(tokens.scope).split(' ').sort(), [...FIRST_SCOPES].sort());

      const list = await callApi(tokens.access_token, 'GET', '/v1/certificates');
      assert.equal(list.status, 200, list.text);
      assert.deepEqual(list.json(), { data: [], next_cursor: null });

      const write = await callApi(tokens.access_token, 'POST', '/v1/suppliers', {
        name: 'Nordic Steel AB',
        country: 'SE',
      });
      assert.equal(write.status, 403, write.text);
      assert.match(String(write.headers.get('content-type')), /^application\/problem\+json/);
      assert.equal((write.json() as ProblemBody).code, 'insufficient_scope');
      assert.match(String(write.headers.get('www-authenticate')), /error="insufficient_scope"/);
      await page.close();
    });

    test('deny: the app gets access_denied with its state, and no code', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const context = await newContext();
      const page = await context.newPage();
      const log = watch(page);
      const request = await authorize(other, ['read:certificates']);

      await reachConsent(page, request);
      await assertConsentFor(page, OTHER_NAME, ['read:certificates']);
      await page.locator('button[name=decision][value=deny]').click();

      const callback = await backAtApp(page, request);
      assert.equal(callback.searchParams.get('error'), 'access_denied');
      assert.equal(callback.searchParams.get('code'), null);
      // The app's library sees the same: a valid (state, iss) error response, not a forgery.
      assert.throws(
        () => oauth.validateAuthResponse(api().as, { client_id: other.client_id }, callback, request.state),
        (error: unknown) =>
          error instanceof oauth.AuthorizationResponseError && error.error === 'access_denied',
      );
      assertClean(log);
      await page.close();
    });

    test('remembered consent: the same scopes skip the consent page, an added scope asks again', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      assert.ok(signedIn, 'needs the signed-in browser of the full-flow test');
      const page = await signedIn.newPage();
      const log = watch(page);

      const again = await authorize(portal, FIRST_SCOPES);
      await page.goto(again.url.href);
      const callback = await backAtApp(page, again);
      assert.ok(callback.searchParams.get('code'), `no code in ${callback.href}`);
      // Redirects through our endpoints are expected; a document we rendered (2xx, 4xx) is a page shown.
      const shown = log.documents.filter(
        (document) =>
          document.url.origin === api().baseUrl && (document.status < 300 || document.status >= 400),
      );
      assert.deepEqual(
        shown.map((document) => document.url.pathname),
        [],
        'no page of ours (sign-in or consent) should be shown for a remembered consent',
      );
      const tokens = await exchangeCode(api().as, portal, again, callback, app().redirectUri);
      assert.equal((await callApi(tokens.access_token, 'GET', '/v1/certificates')).status, 200);

      const wider = await authorize(portal, WIDER_SCOPES);
      await page.goto(wider.url.href);
      await page.locator('ul#scopes').waitFor();
      assert.equal(new URL(page.url()).origin, api().baseUrl);
      assert.equal(await page.locator('input[name=password]').count(), 0, 'still signed in');
      await assertConsentFor(page, PORTAL_NAME, WIDER_SCOPES);
      await page.locator('button[name=decision][value=allow]').click();
      const widened = await backAtApp(page, wider);
      const widerTokens = await exchangeCode(api().as, portal, wider, widened, app().redirectUri);
      const write = await callApi(widerTokens.access_token, 'POST', '/v1/suppliers', {
        name: 'Nordic Steel AB',
        country: 'SE',
      });
      assert.equal(write.status, 201, write.text);
      assertClean(log);
      await page.close();
    });

    test('screenshot of the consent page is a non-empty PNG', { timeout: TEST_TIMEOUT_MS }, async () => {
      const context = await newContext();
      const page = await context.newPage();
      const log = watch(page);
      // This app is only ever denied, never allowed, so its consent page shows whichever tests ran first.
      await reachConsent(page, await authorize(other, ['read:certificates']));
      const path = join(shots.path, 'consent.png');
      await page.screenshot({ path, fullPage: true, timeout: WAIT_MS });

      const png = readFileSync(path);
      assert.ok(png.length > 1000, `the screenshot has only ${png.length} bytes`);
      assert.deepEqual(
        [...png.subarray(0, 8)],
        [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
        'PNG signature',
      );
      assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
      assert.equal(png.readUInt32BE(16), 800, 'width of the viewport');
      assert.ok(png.readUInt32BE(20) > 0, 'a height');
      assertClean(log);
      await page.close();
    });
  });
}
