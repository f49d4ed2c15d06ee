/**
 * No page of ours can be framed by another origin (issue 14: clickjacking a signed-in owner into granting an
 * app `admin`). Two layers:
 * - every HTML response of every route (the route table, crawled with no credential, and the forms'
 *   answers) carries `X-Frame-Options: DENY` and a CSP that starts with `frame-ancestors 'none'`;
 * - in Chromium, an attacker page on another loopback port frames `/auth/login?return_to=<interaction>`,
 *   the consent page of a flow for an app whose redirect URIs were written straight into the database to
 *   smuggle a `frame-ancestors` of the attacker's origin into the policy, and the OAuth engine's error page.
 *   Each frame must be blocked (its document is Chromium's error page, not ours). A control frame of a page
 *   without protection shows that the frames load at all.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { newId } from '@cohera/shared';
import { sql } from 'kysely';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { createMember, createOrg, startTestApp, type TestApp } from '../support/app.ts';
import { chromiumAvailable, launchChromium, WAIT_MS } from '../support/chromium.ts';
import { assertStrictCsp, directivesOf } from '../support/csp.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';
import {
  authorizationRequest,
  Browser as FetchBrowser,
  type OAuthTestServer,
  startOAuthServer,
} from '../support/oauth.ts';

const TEST_TIMEOUT_MS = 90_000;
function assertFrameProof(headers: Record<string, unknown>, where: string, strictSources = true): void {
  assert.equal(headers['x-frame-options'], 'DENY', `${where}: X-Frame-Options`);
  const csp = String(headers['content-security-policy'] ?? '');
  if (strictSources) {
    assertStrictCsp(csp, where);
    return;
  }
  // The dashboard's own policy also names `data:` images; what matters here is the first directive.
  const directives = directivesOf(csp);
  assert.deepEqual(directives[0], ['frame-ancestors', ["'none'"]], `${where}: ${csp}`);
  const names = directives.map(([name]) => name);
  assert.deepEqual(names, [...new Set(names)], `${where}: ${csp}`);
}

describe('every HTML response carries the anti-framing headers [sqlite]', () => {
  let handle: EngineHandle;
  let t: TestApp;
  before(async () => {
    handle = await prepareEngine('sqlite');
    t = await startTestApp(handle);
  });
  after(async () => {
    await t?.close();
    await handle?.cleanup();
  });

  test('each GET route of the route table, and the HTML answers of the sign-in and consent forms', async () => {
    const html: string[] = [];
    const check = async (method: 'GET' | 'POST', url: string, payload?: string) => {
      const res = await t.inject({
        method,
        url,
        ...(payload === undefined
          ? {}
          : { payload, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      });
      if (!String(res.headers['content-type'] ?? '').startsWith('text/html')) return;
      html.push(`${method} ${url}`);
      assertFrameProof(res.headers, `${method} ${url} (${res.statusCode})`, !url.startsWith('/dashboard'));
    };
    const gets = [...new Set(t.app.routeTable.filter((r) => r.method === 'GET').map((r) => r.url))];
    for (const url of gets) {
      const concrete = url.replace(/:[A-Za-z_]+/g, 'x1').replace(/\*/g, 'anything');
      await check('GET', concrete);
    }
    await check('GET', '/auth/login?return_to=/oauth/interaction/unknown');
    await check('GET', '/oauth/authorize?client_id=cli_unknown&response_type=code');
    await check('GET', '/dashboard/settings/api-keys');
    await check('POST', '/auth/login', 'email=nobody%40example.com&password=wrong&return_to=%2F');
    await check('POST', '/oauth/interaction/x1/decision', 'decision=allow&csrf_token=x');
    for (const expected of [
      'GET /auth/login',
      'GET /oauth/authorize',
      'GET /oauth/interaction/x1',
      'GET /dashboard/settings/api-keys',
      'POST /auth/login',
      'POST /oauth/interaction/x1/decision',
    ]) {
      assert.ok(
        html.some((seen) => seen.startsWith(expected)),
        `expected HTML from ${expected}; HTML came from ${html.join(', ')}`,
      );
    }
  });
});

/** A loopback HTTP server answering one fixed page at every path. */
async function serve(
  page: string,
  headers: Record<string, string> = {},
): Promise<{ origin: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(page);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function close(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

/** Whether a frame shows one of our documents (anything on our origin with our markup). */
async function frameShowsOurPage(frame: Frame, ourOrigin: string): Promise<boolean> {
  if (!frame.url().startsWith(ourOrigin)) return false;
  const content = await frame.content().catch(() => '');
  return /Cohera|name="password"|name="decision"|Authorization failed/.test(content);
}

if (chromiumAvailable('framing in Chromium')) {
  describe('another origin cannot frame our pages, in Chromium [sqlite]', () => {
    let handle: EngineHandle | undefined;
    let server: OAuthTestServer | undefined;
    let app: { origin: string; server: Server } | undefined;
    let attacker: { origin: string; server: Server } | undefined;
    let browser: Browser | undefined;
    let context: BrowserContext | undefined;
    let owner: { email: string; password: string };
    let hostileClient: string;
    const frames: Record<string, string> = {};
    let attackerPage = '';

    before(
      async () => {
        handle = await prepareEngine('sqlite');
        server = await startOAuthServer(handle);
        // The app's callback page: deliberately unprotected, so the control frame shows framing works.
        app = await serve('<!doctype html><title>App</title><h1 id="app">The app</h1>');
        // The attacker's page is served from its own port; it is filled in once the frame URLs are known.
        attacker = await serve('');
        attacker.server.removeAllListeners('request');
        attacker.server.on('request', (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
          res.end(attackerPage);
        });

        // The victim: an owner of their org, signed in to Cohera in this browser.
        const org = await createOrg(server.app);
        owner = await createMember(server, org, 'owner');
        // The attacker's app, written straight into the database (as an older release let it be
        // registered): next to a real redirect URI, one whose host ends form-action and starts a
        // frame-ancestors directive, followed by the attacker's own origin.
        hostileClient = newId('oauth_client', Date.now());
        const now = new Date().toISOString();
        const uris = [`${app.origin}/callback`, 'https://x;frame-ancestors/cb', `${attacker.origin}/cb`];
        await sql`
          insert into oauth_clients (id, org_id, mode, name, client_type, redirect_uris, scopes, secret_hash,
            secret_last4, previous_secret_hash, previous_secret_expires_at, created_by_kind, created_by_id,
            created_at, updated_at, deleted_at)
          values (${hostileClient}, ${org.orgId}, 'live', 'Totally legit', 'public', ${JSON.stringify(uris)},
            ${JSON.stringify(['admin'])}, null, null, null, null, 'user', ${org.userId}, ${now}, ${now}, null)
        `.execute(server.app.deps.db);

        // An interaction for the sign-in frame, started outside the browser (its uid is all the page needs).
        const started = await authorizationRequest(
          server.as,
          { client_id: hostileClient },
          ['admin'],
          {},
          {
            redirectUri: `${app.origin}/callback`,
          },
        );
        const { response } = await new FetchBrowser(server.baseUrl).navigate(started.url.href);
        const interaction = new URL(response.url || started.url).pathname;
        assert.match(interaction, /^\/oauth\/interaction\/[A-Za-z0-9_-]+$/);
        const consent = await authorizationRequest(
          server.as,
          { client_id: hostileClient },
          ['admin'],
          {},
          {
            redirectUri: `${app.origin}/callback`,
          },
        );
        frames.login = `${server.baseUrl}/auth/login?return_to=${encodeURIComponent(interaction)}`;
        frames.consent = consent.url.href;
        frames.engineError = `${server.baseUrl}/oauth/authorize?client_id=cli_unknown&response_type=code`;
        frames.control = `${app.origin}/callback`;
        attackerPage = `<!doctype html><html><head><title>Win a prize</title></head><body>
${Object.entries(frames)
  .map(
    ([name, url]) =>
      `<iframe name="${name}" src="${url.replace(/&/g, '&amp;')}" width="600" height="400"></iframe>`,
  )
  .join('\n')}
</body></html>`;

        browser = await launchChromium();
        context = await browser.newContext();
        context.setDefaultTimeout(WAIT_MS);
        context.setDefaultNavigationTimeout(WAIT_MS);
        const signIn = await context.request.post(`${server.baseUrl}/auth/login`, {
          data: { email: owner.email, password: owner.password },
        });
        assert.equal(signIn.status(), 200, await signIn.text());
      },
      { timeout: TEST_TIMEOUT_MS },
    );

    after(async () => {
      const errors: unknown[] = [];
      const attempt = async (step: () => Promise<void> | void) => {
        try {
          await step();
        } catch (error) {
          errors.push(error);
        }
      };
      await attempt(() => context?.close());
      await attempt(() => browser?.close());
      await attempt(() => close(attacker?.server));
      await attempt(() => close(app?.server));
      await attempt(() => server?.close());
      await attempt(() => handle?.cleanup());
      if (errors.length) throw new AggregateError(errors, 'closing the framing suite failed');
    });

    test('opened top-level, the consent page is there (what the frame would have shown)', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const page = await (context as BrowserContext).newPage();
      await page.goto(frames.consent as string);
      await page.locator('button[name=decision][value=allow]').waitFor();
      assert.equal(new URL(page.url()).origin, server?.baseUrl);
      await page.close();
    });

    test('framed by the attacker: sign-in, consent and the engine’s error page are all blocked', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const page: Page = await (context as BrowserContext).newPage();
      const refusals: string[] = [];
      page.on('console', (message) => {
        if (/frame-ancestors|X-Frame-Options/i.test(message.text())) refusals.push(message.text());
      });
      await page.goto(`${attacker?.origin}/prize`, { waitUntil: 'load' });
      const ours = server?.baseUrl as string;

      const control = page.frame({ name: 'control' });
      assert.ok(control, 'the control frame exists');
      assert.equal(
        await control.locator('#app').textContent(),
        'The app',
        'an unprotected page can be framed',
      );

      for (const name of ['login', 'consent', 'engineError']) {
        const frame = page.frame({ name });
        assert.ok(frame, `the ${name} frame exists`);
        assert.equal(
          await frameShowsOurPage(frame, ours),
          false,
          `the ${name} frame shows our page (${frame.url()}): it must be blocked`,
        );
        assert.doesNotMatch(frame.url(), new RegExp(`^${ours}`), `${name}: ${frame.url()}`);
      }
      assert.ok(
        refusals.some((text) => /frame-ancestors 'none'/.test(text)),
        `Chromium reports the refused frames: ${refusals.join('\n')}`,
      );
      await page.close();
    });
  });
}
