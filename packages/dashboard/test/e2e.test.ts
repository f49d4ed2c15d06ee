/**
 * The dashboard end to end in a real browser: Debian's Chromium driven by playwright-core against a real
 * listening server on loopback serving the real build (packages/dashboard/dist, made by `npm install`; built
 * here if missing). A person signs in on the shared sign-in page, creates a key with scopes and an expiry,
 * copies it and uses it with the API, rolls it, revokes it and sees the API refuse it; registers an OAuth
 * app; creates a service account, generates a key and downloads service-account.json, then uses it; sees
 * usage and audit entries appear; works the security checklist; adds a webhook endpoint pointing at a
 * receiver on loopback, sends it a test event and retries it, and edits, disables, enables, rotates and
 * deletes the endpoint. Dialogs are checked for focus handling,
 * and every page for CSP violations and for requests leaving loopback.
 *
 * Screenshots of the main pages are written to test-artifacts/dashboard/ (kept out of git) for review.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { ServiceAccount } from '../../sdk/src/auth/index.ts';
import { Cohera } from '../../sdk/src/index.ts';
import { createMember, createOrg, type TestOrg } from '../../server/test/support/app.ts';
import { type EngineHandle, prepareEngine } from '../../server/test/support/engines.ts';
import {
  authorizationRequest,
  Browser as FetchBrowser,
  type OAuthTestServer,
  registerClient,
  runAuthorization,
  startOAuthServer,
} from '../../server/test/support/oauth.ts';
import { newId } from '../../shared/src/ids.ts';

const CHROMIUM = '/usr/bin/chromium';
const WAIT_MS = 15_000;
const DASHBOARD = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(DASHBOARD, '../..');
const DIST = join(DASHBOARD, 'dist');
const SHOTS = join(ROOT, 'test-artifacts', 'dashboard');

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

interface PageLog {
  foreign: string[];
  cspViolations: string[];
  errors: string[];
  /** Requests for the pages' own files (not API calls) that failed or found nothing: a favicon, say. */
  missing: string[];
}

function watch(page: Page): PageLog {
  const log: PageLog = { foreign: [], cspViolations: [], errors: [], missing: [] };
  const ownFile = (url: string) => !/^\/(v1|oauth|\.well-known)\//.test(new URL(url).pathname);
  page.on('response', (response) => {
    if (response.status() === 404 && ownFile(response.url())) log.missing.push(response.url());
  });
  page.on('requestfailed', (request) => {
    // A navigation away cancels what the page was loading: only real failures count.
    const failure = request.failure()?.errorText ?? '';
    if (ownFile(request.url()) && !/ERR_ABORTED/.test(failure))
      log.missing.push(`${request.url()} (${failure})`);
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol !== 'blob:' && url.protocol !== 'data:' && url.hostname !== '127.0.0.1')
      log.foreign.push(request.url());
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) log.cspViolations.push(message.text());
  });
  page.on('pageerror', (error) => log.errors.push(error.message));
  return log;
}

const missing = existsSync(CHROMIUM)
  ? null
  : `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); playwright never downloads a browser here`;

if (missing && process.env.CI === 'true') {
  test('Chromium is installed (CI must run the dashboard browser tests, never skip them)', () => {
    assert.fail(missing);
  });
} else if (missing) {
  test('the dashboard in Chromium', { skip: missing }, () => {});
} else {
  describe('the dashboard in Chromium [sqlite]', { timeout: 240_000 }, () => {
    let handle: EngineHandle;
    let server: OAuthTestServer;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let log: PageLog;
    let org: TestOrg;
    let admin: Cohera;

    before(async () => {
      if (!existsSync(join(DIST, 'index.html'))) {
        // `npm install` builds it (the root `prepare` script); a checkout without scripts builds it here.
        execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build'], {
          cwd: DASHBOARD,
          stdio: 'ignore',
        });
      }
      mkdirSync(SHOTS, { recursive: true });
      handle = await prepareEngine('sqlite');
      // The webhook receiver below listens on 127.0.0.1: only a server that allows private addresses
      // (development and tests) delivers there. A short retry schedule keeps a failed attempt quick.
      server = await startOAuthServer(handle, {
        dashboardDir: DIST,
        env: { COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true', COHERA_WEBHOOK_RETRY_SCHEDULE: '1,1,1' },
      });
      org = await createOrg(server.app, 'pro');
      admin = new Cohera({ apiKey: org.adminKey, baseUrl: server.baseUrl });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
      context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.baseUrl });
      context.setDefaultTimeout(WAIT_MS);
      context.setDefaultNavigationTimeout(WAIT_MS);
      page = await context.newPage();
      log = watch(page);
    });

    after(async () => {
      await context?.close();
      await browser?.close();
      await server?.close();
      await handle?.cleanup();
    });

    // The tests share one page: a test that fails with a dialog open would leave it covering the page, and
    // every later test would fail on a click it intercepts. Escape closes it (as a person would), so a
    // failure stays one failure.
    afterEach(async () => {
      if (!page || page.isClosed()) return;
      for (let tries = 0; tries < 3 && (await page.locator('dialog[open]').count()) > 0; tries++) {
        await page.keyboard.press('Escape');
      }
    });

    const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    const heading = () => page.locator('main h1');
    /** Every form control on the page has an accessible name (a label, aria-label or aria-labelledby). */
    async function assertLabelled() {
      const unlabelled = await page.evaluate(() =>
        Array.from(document.querySelectorAll<HTMLInputElement>('input, select, textarea'))
          .filter((el) => el.type !== 'hidden' && el.checkVisibility())
          .filter(
            (el) =>
              el.labels?.length === 0 &&
              !el.getAttribute('aria-label') &&
              !el.getAttribute('aria-labelledby'),
          )
          .map((el) => el.outerHTML.slice(0, 120)),
      );
      assert.deepEqual(unlabelled, [], 'form controls without a label');
    }
    async function go(nav: string) {
      await page
        .getByRole('navigation', { name: 'Dashboard' })
        .getByRole('link', { name: nav, exact: true })
        .click();
      await heading().filter({ hasText: nav }).waitFor();
      // The heading takes the focus on a page change, for keyboard and screen-reader users.
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
      await page.waitForLoadState('networkidle');
      await assertLabelled();
    }
    /** The rows of the keys called `name` (after a roll, the old and the new: the lineage follows the name). */
    const keyRow = (name: string) =>
      page.locator('tr', {
        has: page.getByRole('rowheader', {
          name: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`),
        }),
      });

    test('/ sends an unsigned visitor to the shared sign-in page, and back after signing in', async () => {
      await page.goto(`${server.baseUrl}/`);
      await page.locator('input[name=password]').waitFor();
      assert.equal(new URL(page.url()).pathname, '/auth/login');
      assert.equal(new URL(page.url()).searchParams.get('return_to'), '/dashboard/');
      await page.locator('input[name=email]').fill(org.email);
      await page.locator('input[name=password]').fill(org.password);
      await page.locator('button[type=submit]').click();
      await heading().filter({ hasText: 'Overview' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/dashboard/');
      // The org, the role and the tier are always in view.
      const top = page.locator('header.topbar');
      assert.match((await top.textContent()) ?? '', /Org \d+/);
      assert.match((await top.textContent()) ?? '', /owner/);
      assert.match((await top.textContent()) ?? '', /pro/);
      // The first call names this server: the SDK and the CLI have no default base URL.
      const firstCall = page.locator('section', {
        has: page.getByRole('heading', { name: 'Make a first call' }),
      });
      assert.ok(
        ((await firstCall.textContent()) ?? '').includes(`export COHERA_BASE_URL=${server.baseUrl}`),
        (await firstCall.textContent()) ?? '',
      );
      await shot('overview');
    });

    let key = '';
    const KEY_NAME = 'ERP certificate sync';

    test('Settings › API Keys: create a key with scopes and an expiry; it is shown once and copied', async () => {
      await go('API keys');
      const create = page.getByRole('button', { name: 'Create new key' });
      await create.click();
      const dialog = page.getByRole('dialog', { name: 'Create new key' });
      await dialog.waitFor();
      // The first field has the focus; Escape closes and gives the focus back to the opener.
      assert.equal(
        await page.evaluate(() => document.activeElement?.id),
        await dialog.getByLabel('Name').getAttribute('id'),
      );
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Create new key');

      await create.click();
      // Submitting empty names each problem instead of sending anything.
      await dialog.getByRole('button', { name: 'Create key' }).click();
      await dialog.getByText('Give the key a name').waitFor();
      await dialog.getByText('Choose at least one scope.').waitFor();
      // Said once, as the field's error (the picker's hint says something else).
      assert.equal(await dialog.getByText('Choose at least one scope.').count(), 1);

      await dialog.getByLabel('Name').fill(KEY_NAME);
      await dialog.getByRole('checkbox', { name: 'read:certificates' }).check();
      await dialog.getByRole('checkbox', { name: 'write:suppliers' }).check();
      // write includes read: shown checked and locked.
      assert.equal(await dialog.getByRole('checkbox', { name: /^read:suppliers/ }).isChecked(), true);
      assert.equal(await dialog.getByRole('checkbox', { name: /^read:suppliers/ }).isDisabled(), true);
      await dialog.getByLabel('Expiration').selectOption('never');
      await dialog.getByText('A key that never expires').waitFor();
      await dialog.getByLabel('Expiration').selectOption('30');
      await shot('create-key-dialog');
      await dialog.getByRole('button', { name: 'Create key' }).click();

      const result = page.getByRole('dialog', { name: 'Your new API key' });
      await result.getByText('you will not see it again').waitFor();
      const field = result.getByLabel(/API key “/);
      key = await field.inputValue();
      assert.match(key, /^ck_live_[0-9A-Za-z]{38}$/);
      // The secret takes the focus when it replaces the form.
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('readonly')), '');
      await result.getByRole('button', { name: 'Copy' }).click();
      await result.getByText('Copied to the clipboard.').waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
      await shot('key-shown-once');
      await result.getByRole('button', { name: 'Done' }).click();

      const row = keyRow(KEY_NAME);
      await row.waitFor();
      const text = (await row.textContent()) ?? '';
      assert.ok(text.includes(`${key.slice(0, 12)}…${key.slice(-4)}`), text);
      assert.ok(!text.includes(key), 'the table never shows the key');
      assert.match(text, /read:certificates/);
      assert.match(text, /write:suppliers/);
      const expires = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
      assert.ok(text.includes(expires), `expires ${expires}: ${text}`);
      // Nothing of the key is kept in the browser's storage.
      const stored = await page.evaluate(
        () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
      );
      assert.ok(!stored.includes(key.slice(8)));
      await shot('api-keys');
    });

    test('a custom expiry date, typed as ISO 8601, comes back as that day (the end of it, UTC)', async () => {
      await page.getByRole('button', { name: 'Create new key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Create new key' });
      await dialog.getByLabel('Name').fill('Custom date key');
      await dialog.getByRole('checkbox', { name: 'read:products' }).check();
      await dialog.getByLabel('Expiration').selectOption('custom');
      const field = dialog.getByLabel('Expires at the end of (UTC)');
      // A text field with an ISO hint, not the browser's locale date picker.
      assert.equal(await field.getAttribute('type'), 'text');
      await field.fill('2027-02-31');
      await dialog.getByText('2027-02-31 is not a date in the calendar.').waitFor();
      const day = new Date(Date.now() + 45 * 86_400_000).toISOString().slice(0, 10);
      await field.fill(day);
      await dialog.getByRole('button', { name: 'Create key' }).click();
      const result = page.getByRole('dialog', { name: 'Your new API key' });
      await result.getByText(`Expires ${day} 23:59:59 UTC.`).waitFor();
      await result.getByRole('button', { name: 'Done' }).click();
      const row = keyRow('Custom date key');
      await row.waitFor();
      assert.ok(((await row.textContent()) ?? '').includes(day), (await row.textContent()) ?? '');
    });

    test('the copied key works with the API, within its scopes', async () => {
      const client = new Cohera({ apiKey: key, baseUrl: server.baseUrl });
      await client.certificates.list();
      await client.suppliers.create({ name: 'Made with the dashboard key', country: 'DE' });
      await assert.rejects(client.products.list(), /insufficient_scope/);
    });

    let rolled = '';
    test('Roll: a new key shown once; with no grace the old key stops at once', async () => {
      await keyRow(KEY_NAME)
        .first()
        .getByRole('button', { name: `Roll ${KEY_NAME}` })
        .click();
      const dialog = page.getByRole('dialog', { name: `Roll “${KEY_NAME}”` });
      await dialog.getByRole('radio', { name: 'Immediately' }).check();
      await dialog.getByRole('button', { name: 'Roll key' }).click();
      const result = page.getByRole('dialog', { name: 'Your new API key' });
      rolled = await result.getByLabel(/New key for/).inputValue();
      assert.match(rolled, /^ck_live_/);
      assert.notEqual(rolled, key);
      await result.getByRole('button', { name: 'Done' }).click();
      await assert.rejects(
        new Cohera({ apiKey: key, baseUrl: server.baseUrl }).certificates.list(),
        /expired_credential|revoked_credential/,
      );
      await new Cohera({ apiKey: rolled, baseUrl: server.baseUrl }).certificates.list();
    });

    test('Revoke, confirmed: the status says revoked and the API refuses the key', async () => {
      const rows = keyRow(KEY_NAME);
      // The rolled key is the active one.
      const active = rows.filter({ hasText: 'active' });
      await active.getByRole('button', { name: `Revoke ${KEY_NAME}` }).click();
      const confirm = page.getByRole('dialog', { name: `Revoke “${KEY_NAME}”?` });
      // Cancel is the safe default.
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel');
      await confirm.getByRole('button', { name: 'Revoke key' }).click();
      await confirm.waitFor({ state: 'hidden' });
      await rows.filter({ hasText: 'revoked' }).first().waitFor();
      const refused = await new Cohera({ apiKey: rolled, baseUrl: server.baseUrl }).certificates
        .list()
        .catch((e: unknown) => e);
      assert.match(String(refused), /revoked_credential/);
    });

    test('Roll with a grace period: lineage, the exact end and a countdown; revoking the old key leaves the new one working', async () => {
      const NAME = 'Warehouse sync';
      const old = await admin.apiKeys.create({ name: NAME, scopes: ['read:certificates'] });
      await go('Overview');
      await go('API keys');
      const rows = () => keyRow(NAME);
      await page.getByRole('button', { name: `Roll ${NAME}` }).click();
      const dialog = page.getByRole('dialog', { name: `Roll “${NAME}”` });
      await dialog.getByRole('radio', { name: '1 hour' }).check();
      await dialog.getByRole('button', { name: 'Roll key' }).click();
      const result = page.getByRole('dialog', { name: 'Your new API key' });
      const next = await result.getByLabel(/New key for/).inputValue();
      const oldLabel = `${old.key.slice(0, 12)}…${old.key.slice(-4)}`;
      const newLabel = `${next.slice(0, 12)}…${next.slice(-4)}`;
      // The result says when the old key stops, to the second.
      const said = (await result.textContent()) ?? '';
      assert.ok(said.includes(`old key ${oldLabel} stops at `), said);
      assert.match(said, /stops at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/, said);
      await result.getByRole('button', { name: 'Done' }).click();
      for (let i = 0; i < 100 && (await rows().count()) < 2; i++) await page.waitForTimeout(50);
      assert.equal(await rows().count(), 2);

      const oldRow = page.locator(`tr[data-key-id="${old.id}"]`);
      const newRow = rows().filter({ hasText: `replaces ${oldLabel}` });
      await newRow.waitFor();
      const oldText = (await oldRow.textContent()) ?? '';
      assert.ok(oldText.includes(`replaced by ${newLabel}`), oldText);
      assert.match(oldText, /stops in (59 minutes|1 hour)/);
      const ends = (await admin.apiKeys.get(old.id)).expires_at ?? '';
      assert.ok(oldText.includes(`${ends.slice(0, 19).replace('T', ' ')} UTC`), `${ends}: ${oldText}`);
      await shot('api-keys-rolled');

      // Revoke the old key from its own row: the new key is untouched.
      await oldRow.getByRole('button', { name: `Revoke ${NAME}` }).click();
      const confirm = page.getByRole('dialog', { name: `Revoke “${NAME}”?` });
      assert.ok(((await confirm.textContent()) ?? '').includes(oldLabel), 'the dialog names the old key');
      await confirm.getByRole('button', { name: 'Revoke key' }).click();
      await confirm.waitFor({ state: 'hidden' });
      await oldRow.filter({ hasText: 'revoked' }).waitFor();
      await assert.rejects(
        new Cohera({ apiKey: old.key, baseUrl: server.baseUrl }).certificates.list(),
        /revoked_credential/,
      );
      await new Cohera({ apiKey: next, baseUrl: server.baseUrl }).certificates.list();
      assert.match((await newRow.textContent()) ?? '', /active/);
    });

    test('a leaked key (notify policy) is unmistakable on the overview and the key list; Roll and revoke ends it', async () => {
      const LEAKED = 'Leaked deploy key';
      // The policy, from the API keys page: flag leaked keys instead of revoking them. (The test before
      // ends on that page, and following the link to the page already shown moves no focus.)
      await go('Overview');
      await go('API keys');
      const policy = page.getByRole('form', { name: 'When a key leaks' });
      await policy.getByLabel('Leaked keys are').selectOption('notify');
      await policy.getByRole('button', { name: 'Save' }).click();
      for (
        let i = 0;
        i < 100 && (await admin.organization.retrieve()).policy.leaked_key_action !== 'notify';
        i++
      ) {
        await page.waitForTimeout(50);
      }
      assert.equal((await admin.organization.retrieve()).policy.leaked_key_action, 'notify');

      const created = await admin.apiKeys.create({ name: LEAKED, scopes: ['read:certificates'] });
      // Someone finds it and reports it to the public endpoint.
      const reported = await fetch(`${server.baseUrl}/v1/credentials/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ credentials: [created.key] }),
      });
      assert.equal(reported.status, 202);
      for (let i = 0; i < 100 && (await admin.apiKeys.get(created.id)).leaked_at === null; i++) {
        await page.waitForTimeout(50);
      }
      assert.ok((await admin.apiKeys.get(created.id)).leaked_at, 'the worker flagged the key');

      await go('Overview');
      const alert = page.getByRole('alert').filter({ hasText: 'A leaked API key still works' });
      await alert.waitFor();
      assert.match((await alert.textContent()) ?? '', /Leaked/);
      // When and where (the origin comes from the audit log, a moment later).
      await alert.getByText(/reported .* by a public report/).waitFor();
      await shot('overview-leaked-key');
      // At 390 px the alert and its remedy are in view without sideways scrolling.
      await page.setViewportSize({ width: 390, height: 844 });
      const remedy = alert.getByRole('button', { name: `Roll and revoke ${LEAKED}` });
      assert.ok(await remedy.isVisible());
      const box = await remedy.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
      assert.equal(
        await alert.evaluate((el) => el.scrollWidth - el.clientWidth),
        0,
        'the alert scrolls sideways',
      );
      await shot('overview-leaked-key-390');
      await page.setViewportSize({ width: 1280, height: 900 });

      // The key list says it too, in the key's row.
      await go('API keys');
      const row = keyRow(LEAKED);
      assert.equal(await row.getAttribute('data-leaked'), 'true');
      assert.match((await row.textContent()) ?? '', /Leaked/);
      await page.getByRole('alert').filter({ hasText: 'A leaked key still works' }).waitFor();
      await shot('api-keys-leaked');

      await page.getByRole('button', { name: `Roll and revoke ${LEAKED}` }).click();
      const dialog = page.getByRole('dialog', { name: `Roll and revoke “${LEAKED}”` });
      await dialog.getByRole('button', { name: 'Roll and revoke' }).click();
      const result = page.getByRole('dialog', { name: 'Your new API key' });
      const replacement = await result.getByLabel(/New key for/).inputValue();
      assert.match(replacement, /^ck_live_/);
      await result.getByRole('button', { name: 'Done' }).click();
      await page.getByRole('alert').filter({ hasText: 'leaked key' }).waitFor({ state: 'detached' });
      const old = await admin.apiKeys.get(created.id);
      assert.equal(old.status, 'revoked');
      await assert.rejects(
        new Cohera({ apiKey: created.key, baseUrl: server.baseUrl }).certificates.list(),
        /revoked_credential/,
      );
      await new Cohera({ apiKey: replacement, baseUrl: server.baseUrl }).certificates.list();
      await keyRow(LEAKED).filter({ hasText: 'revoked' }).first().waitFor();

      // Back to the default for the tests that follow.
      await page
        .getByRole('form', { name: 'When a key leaks' })
        .getByLabel('Leaked keys are')
        .selectOption('revoke');
      await page
        .getByRole('form', { name: 'When a key leaks' })
        .getByRole('button', { name: 'Save' })
        .click();
      for (
        let i = 0;
        i < 100 && (await admin.organization.retrieve()).policy.leaked_key_action !== 'revoke';
        i++
      ) {
        await page.waitForTimeout(50);
      }
    });

    test('Usage: the organization’s chart and standing, and the key’s own chart, show the traffic', async () => {
      await go('Usage');
      const orgChart = page.locator('figure', { hasText: 'Requests per day' }).first();
      await orgChart.waitFor();
      const caption = (await orgChart.locator('figcaption').textContent()) ?? '';
      const total = Number(/([\d,]+) requests/.exec(caption)?.[1]?.replace(/,/g, ''));
      assert.ok(total >= 4, caption);
      // Today's bar is labelled, and the numbers list the newest day first.
      await orgChart.locator('svg text', { hasText: 'today' }).waitFor();
      const today = new Date().toISOString().slice(0, 10);
      assert.equal(await orgChart.locator('details tbody th').first().textContent(), today);
      await page.getByText('This minute').waitFor();
      const [active] = (await admin.apiKeys.list().toArray()).filter(
        (k) => k.name === KEY_NAME && k.status !== 'revoked',
      );
      const chosen = active ?? (await admin.apiKeys.list().toArray()).find((k) => k.name === KEY_NAME);
      assert.ok(chosen);
      await page.getByLabel('API key').selectOption(chosen.id);
      assert.match(new URL(page.url()).search, new RegExp(`key_id=${chosen.id}`));
      await page.locator('figure', { hasText: `${KEY_NAME}: requests per day` }).waitFor();
      // The URL is a link to share or reload: the server serves it (no parameter that looks like a credential).
      await page.reload();
      await page.locator('figure', { hasText: `${KEY_NAME}: requests per day` }).waitFor();
      await shot('usage');
    });

    test('Developer console: register an app; the client ID and the secret (once) are shown', async () => {
      await go('Developer console');
      await page.getByRole('button', { name: 'Register app' }).click();
      const dialog = page.getByRole('dialog', { name: 'Register app' });
      await dialog.getByLabel('Name').fill('Supplier portal');
      await dialog.getByLabel('Redirect URIs').fill('http://supplier-portal.example/callback');
      await dialog.getByText(/must use https/).waitFor();
      await dialog.getByLabel('Redirect URIs').fill('https://supplier-portal.example/callback');
      await dialog.getByRole('checkbox', { name: 'read:certificates' }).check();
      await dialog.getByRole('button', { name: 'Register app' }).click();
      const result = page.getByRole('dialog', { name: '“Supplier portal” is registered' });
      const secret = await result.getByLabel('Client secret').inputValue();
      assert.match(secret, /^cs_/);
      const clientId = await result.getByLabel('Client ID').inputValue();
      await shot('app-registered');
      await result.getByRole('button', { name: 'Done' }).click();
      const apps = await admin.oauthClients.list().toArray();
      const app = apps.find((a) => a.client_id === clientId);
      assert.ok(app, 'the app exists');
      assert.deepEqual(app.redirect_uris, ['https://supplier-portal.example/callback']);
      assert.ok(!JSON.stringify(apps).includes(secret));
      await page.getByRole('rowheader', { name: 'Supplier portal' }).waitFor();
      await shot('developer-console');
    });

    test('Developer console: an app registered before the redirect-URI rules is flagged, in words', async () => {
      // Written straight into the database, as an older release let it be registered (issue 14).
      const id = newId('oauth_client', Date.now());
      const now = new Date().toISOString();
      const uris = ['https://legacy-portal.example/callback', 'https://x;frame-ancestors/cb'];
      await sql`
        insert into oauth_clients (id, org_id, mode, name, client_type, redirect_uris, scopes, secret_hash,
          secret_last4, previous_secret_hash, previous_secret_expires_at, created_by_kind, created_by_id,
          created_at, updated_at, deleted_at)
        values (${id}, ${org.orgId}, 'live', 'Legacy portal', 'public', ${JSON.stringify(uris)},
          ${JSON.stringify(['read:certificates'])}, null, null, null, null, 'user', ${org.userId}, ${now}, ${now}, null)
      `.execute(server.app.deps.db);
      await go('Overview');
      await go('Developer console');
      const notice = page.locator('#refused-redirect-uris');
      await notice.waitFor();
      const text = ((await notice.textContent()) ?? '').replace(/\s+/g, ' ');
      assert.match(text, /redirect URIs that Cohera refuses/);
      assert.match(text, /Legacy portal: https:\/\/x;frame-ancestors\/cb\. This redirect URI has a host/);
      assert.match(text, /semicolon/);
      assert.match(text, /Edit the app and replace it/);
      assert.doesNotMatch(text, /legacy-portal\.example/, 'the good URI is not listed as refused');
      const row = page.locator('tr', { has: page.getByRole('rowheader', { name: 'Legacy portal' }) });
      assert.equal(await row.locator('li[data-refused]').count(), 1);
      await shot('developer-console-refused-uri');
      await admin.oauthClients.delete(id);
    });

    test('Authorized apps: an app the user authorized is listed and can be revoked', async () => {
      const client = await registerClient(server, org.adminKey, {
        name: 'Audit helper',
        scopes: ['read:certificates'],
      });
      const request = await authorizationRequest(server.as, client, ['read:certificates']);
      await runAuthorization(new FetchBrowser(server.baseUrl), request, org);
      await go('Authorized apps');
      const row = page.locator('tr', { hasText: 'Audit helper' });
      await row.waitFor();
      await row.getByRole('button', { name: /Revoke/ }).click();
      await page
        .getByRole('dialog')
        .getByRole('button', { name: /Revoke/ })
        .click();
      await row.waitFor({ state: 'detached' });
    });

    test('Service accounts: create one, generate a key, download service-account.json and use it', async () => {
      await go('Service accounts');
      await page.getByRole('button', { name: 'Create service account' }).click();
      const dialog = page.getByRole('dialog', { name: /service account/i });
      await dialog.getByLabel('Name').fill('inventory-sync');
      await dialog.getByRole('checkbox', { name: 'read:certificates' }).check();
      await dialog.getByRole('button', { name: /^Create/ }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.getByRole('button', { name: 'Generate key for inventory-sync' }).click();
      const generate = page.getByRole('dialog', { name: 'Generate a key for “inventory-sync”' });
      // Service-account keys get the same proposal as API keys: 90 days, not "never".
      assert.equal(await generate.getByLabel('Expires after (days)').inputValue(), '90');
      await generate.getByRole('button', { name: 'Generate key' }).click();
      const fileDialog = page.getByRole('dialog', { name: 'Download service-account.json' });
      // Closing before saving is named for what it loses.
      await fileDialog.getByRole('button', { name: 'Close without saving' }).waitFor();
      const download = page.waitForEvent('download');
      await fileDialog.getByRole('button', { name: /^Download service-account/ }).click();
      const file = await download;
      assert.equal(file.suggestedFilename(), 'service-account.json');
      const json = JSON.parse(readFileSync(await file.path(), 'utf8'));
      assert.equal(json.type, 'service_account');
      await shot('service-account-key');
      await fileDialog.getByRole('button', { name: 'Done' }).click();
      await fileDialog.waitFor({ state: 'hidden' });
      const sa = await ServiceAccount.fromJSON(json);
      const client = new Cohera({
        serviceAccount: sa,
        scopes: ['read:certificates'],
        baseUrl: server.baseUrl,
      });
      assert.equal((await client.whoami()).id, json.service_account_id);
      await shot('service-accounts');
    });

    test('Audit log: the actions taken above are there, filterable, exportable and verified', async () => {
      await go('Audit log');
      await page.getByText('api_key.created').first().waitFor();
      // Actors in people's words: the owner's e-mail (the keys made in the dashboard), not `user:usr_…`.
      await page.locator('td[data-actor-id]', { hasText: org.email }).first().waitFor();
      // Every API write is also an `api.request` event: hidden until asked for.
      assert.equal(await page.getByRole('cell', { name: 'api.request', exact: true }).count(), 0);
      const requests = page.getByRole('checkbox', { name: /Show API requests/ });
      await requests.check();
      await page.getByRole('cell', { name: 'api.request', exact: true }).first().waitFor();
      await requests.uncheck();
      await page.getByLabel(/Action/).fill('api_key.revoked');
      await page.getByRole('button', { name: /Apply/ }).click();
      await page.getByRole('cell', { name: 'api_key.revoked' }).first().waitFor();
      assert.equal(await page.getByRole('cell', { name: 'api_key.created' }).count(), 0);
      const exportLink = page.getByRole('link', { name: /Export NDJSON/ });
      assert.match(
        (await exportLink.getAttribute('href')) ?? '',
        /^\/v1\/audit-events\/export\?.*action=api_key\.revoked/,
      );
      await page.getByRole('button', { name: /Verify/ }).click();
      await page.getByText(/not been altered/).waitFor();
      await shot('audit-log');
    });

    test('every page fits the screen at 1280 and 390 px: the document never scrolls sideways', async () => {
      // Every page of the navigation (read from it, so a new page is covered), filled with the data made
      // above: keys with lineage, an app, a service account, audit events.
      const nav = page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link');
      const paths = await nav.evaluateAll((links) => links.map((a) => (a as HTMLAnchorElement).pathname));
      assert.ok(paths.length >= 10, paths.join(' '));
      const wide = () =>
        page.evaluate(() => {
          const width = document.documentElement.clientWidth;
          // The widest culprits, for the message: elements reaching past the right edge.
          const clipped = (el: Element) => {
            for (let up = el.parentElement; up; up = up.parentElement) {
              if (getComputedStyle(up).overflowX !== 'visible') return up !== document.documentElement;
            }
            return false;
          };
          const culprits = Array.from(document.querySelectorAll('body *'))
            .filter(
              (el) =>
                el.getBoundingClientRect().right > width + 1 &&
                (!clipped(el) || getComputedStyle(el).position === 'absolute'),
            )
            .slice(0, 3)
            .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
          return { overflow: document.documentElement.scrollWidth - width, culprits };
        });
      const problems: string[] = [];
      try {
        for (const [width, height] of [
          [1280, 900],
          [390, 844],
        ] as const) {
          await page.setViewportSize({ width, height });
          for (const path of paths) {
            await page.goto(`${server.baseUrl}${path}`);
            await heading().waitFor();
            await page.waitForLoadState('networkidle');
            const { overflow, culprits } = await wide();
            if (overflow > 0)
              problems.push(`${path} at ${width} px is ${overflow} px too wide: ${culprits.join(', ')}`);
            if (width === 390)
              await shot(`mobile-${path.replace('/dashboard/', '').replace(/\//g, '-') || 'overview'}`);
          }
        }
      } finally {
        await page.setViewportSize({ width: 1280, height: 900 });
        // Back on the overview, so the tests that follow open their page from another one.
        await page.goto(`${server.baseUrl}/dashboard/`);
        await heading().filter({ hasText: 'Overview' }).waitFor();
      }
      assert.deepEqual(problems, []);
    });

    test('Security: the checklist flags the key without expiry, and "Set an expiration" fixes it', async () => {
      await go('Security');
      const fix = page.getByRole('button', { name: /^Set an expiration for / }).first();
      await fix.waitFor();
      await shot('security');
      const before = (await admin.apiKeys.list().toArray()).filter(
        (k) => k.status === 'active' && !k.expires_at,
      );
      assert.ok(before.length >= 1, 'the bootstrap admin key has no expiry');
      await fix.click();
      const dialog = page.getByRole('dialog', { name: /^Roll “/ });
      await dialog.getByText('expires in 90 days').first().waitFor();
      await dialog.getByRole('button', { name: 'Roll key' }).click();
      const result = page.getByRole('dialog', { name: 'Your new API key' });
      const next = await result.getByLabel(/New key for/).inputValue();
      await result.getByRole('button', { name: 'Done' }).click();
      const who = await new Cohera({ apiKey: next, baseUrl: server.baseUrl }).whoami();
      const days = (Date.parse(who.expires_at ?? '') - Date.now()) / 86_400_000;
      assert.ok(days > 89 && days <= 90, `the new key expires in ${days} days`);
    });

    // --- Settings › Webhooks --------------------------------------------------------------------------
    interface Received {
      headers: Record<string, string | string[] | undefined>;
      body: string;
    }
    /** A webhook receiver on loopback: records every request, answers 200 with a small JSON body. */
    const received: Received[] = [];
    let receiver: Server | undefined;
    let hookUrl = '';
    let endpointId = '';
    let hookSecret = '';
    after(() => new Promise<void>((done) => (receiver ? receiver.close(() => done()) : done())));

    async function adminApi(method: string, path: string): Promise<{ status: number; body: unknown }> {
      const response = await fetch(`${server.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${org.adminKey}`, accept: 'application/json' },
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    }
    /** Standard Webhooks 1.0: a `v1,` entry of webhook-signature is the HMAC-SHA256 of "id.timestamp.body". */
    function signedWith(secret: string, delivery: Received): boolean {
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      const content = `${delivery.headers['webhook-id']}.${delivery.headers['webhook-timestamp']}.${delivery.body}`;
      const expected = createHmac('sha256', key).update(content).digest();
      return String(delivery.headers['webhook-signature'])
        .split(' ')
        .filter((entry) => entry.startsWith('v1,'))
        .map((entry) => Buffer.from(entry.slice(3), 'base64'))
        .some((mac) => mac.length === expected.length && timingSafeEqual(mac, expected));
    }
    async function receivedMessage(id: string): Promise<Received> {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const found = received.find((r) => r.headers['webhook-id'] === id);
        if (found) return found;
        if (Date.now() > deadline) assert.fail(`the receiver never got ${id}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const endpointPanel = () => page.locator(`article[data-endpoint-id="${endpointId}"]`);
    /** Sends a test event from the page and returns its message id (from the page's announcement). */
    async function sendTestEvent(): Promise<string> {
      const announcer = page.locator('main p[role=status][tabindex="-1"]');
      const before = (await announcer.textContent()) ?? '';
      await endpointPanel()
        .getByRole('button', { name: `Send a test event to ${hookUrl}` })
        .click();
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const text = (await announcer.textContent()) ?? '';
        const id = /^Test event (msg_\S+) sent/.exec(text)?.[1];
        if (id && text !== before) return id;
        if (Date.now() > deadline) assert.fail(`no test event was announced: ${text}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }

    test('Settings › Webhooks: add an endpoint (URL rules explained, events by resource); the secret is shown once', async () => {
      receiver = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
          response.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
        });
      });
      await new Promise<void>((ready) => receiver?.listen(0, '127.0.0.1', ready));
      hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/cohera`;

      await go('Webhooks');
      await page.getByText('No live webhook endpoints yet').waitFor();
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add endpoint' });
      await dialog.waitFor();
      assert.equal(
        await page.evaluate(() => document.activeElement?.id),
        await dialog.getByLabel('Endpoint URL').getAttribute('id'),
      );
      // Submitting empty names each problem instead of sending anything.
      await dialog.getByRole('button', { name: 'Add endpoint' }).click();
      await dialog.getByText('Enter the URL Cohera sends events to.').waitFor();
      await dialog.getByText('Choose at least one event, or All events.').waitFor();
      await dialog.getByLabel('Endpoint URL').fill('erp.example.com/hooks');
      await dialog.getByText(/not a complete URL/).waitFor();
      // A loopback http:// URL is explained: only a server that allows private addresses takes it.
      await dialog.getByLabel('Endpoint URL').fill(hookUrl);
      await dialog.getByText(/127\.0\.0\.1 is a private or loopback address/).waitFor();
      await dialog.getByText('COHERA_WEBHOOKS_ALLOW_PRIVATE=true').waitFor();

      // All events locks every type as checked; off again, types are chosen one by one or a group at once.
      const certCreated = dialog.getByRole('checkbox', { name: /^certificate\.created/ });
      await dialog.getByRole('checkbox', { name: /^All events/ }).check();
      assert.equal(await certCreated.isChecked(), true);
      assert.equal(await certCreated.isDisabled(), true);
      await dialog.getByRole('checkbox', { name: /^All events/ }).uncheck();
      await certCreated.check();
      await dialog.getByRole('checkbox', { name: 'Suppliers: every event' }).check();
      assert.equal(await dialog.getByRole('checkbox', { name: /^supplier\.deleted/ }).isChecked(), true);
      assert.equal(await dialog.getByRole('checkbox', { name: /^product\.created/ }).isChecked(), false);
      await dialog.getByLabel(/^Description/).fill('ERP receiver');
      await assertLabelled();
      await shot('add-webhook-dialog');
      await dialog.getByRole('button', { name: 'Add endpoint' }).click();

      const result = page.getByRole('dialog', { name: 'Your endpoint’s signing secret' });
      await result.getByText('you will not see it again').waitFor();
      hookSecret = await result.getByLabel(/^Signing secret for /).inputValue();
      assert.match(hookSecret, /^whsec_[A-Za-z0-9+/]{43}=?$/);
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('readonly')), '');
      await result.getByRole('button', { name: 'Copy' }).click();
      await result.getByText('Copied to the clipboard.').waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), hookSecret);
      await result.getByRole('button', { name: 'Done' }).click();
      await result.waitFor({ state: 'hidden' });

      const listed = (await adminApi('GET', '/v1/webhook-endpoints')).body as {
        data: { id: string; url: string; events: string[] }[];
      };
      const [endpoint] = listed.data.filter((e) => e.url === hookUrl);
      assert.ok(endpoint, 'the endpoint exists');
      endpointId = endpoint.id;
      assert.deepEqual(endpoint.events, [
        'certificate.created',
        'supplier.created',
        'supplier.updated',
        'supplier.deleted',
      ]);
      assert.ok(
        !JSON.stringify(listed).includes(hookSecret.slice(6)),
        'the API never shows the secret again',
      );
      const panel = endpointPanel();
      await panel.getByRole('heading', { name: hookUrl }).waitFor();
      const text = (await panel.textContent()) ?? '';
      assert.match(text, /enabled/);
      assert.match(text, /ERP receiver/);
      assert.match(text, /supplier\.deleted/);
      assert.ok(
        !(await page.content()).includes(hookSecret.slice(6)),
        'the page never shows the secret again',
      );
    });

    test('Webhooks: a test event reaches the receiver, signed, and the delivery log shows 200', async () => {
      const id = await sendTestEvent();
      const delivery = await receivedMessage(id);
      assert.equal(delivery.headers['content-type'], 'application/json');
      assert.ok(signedWith(hookSecret, delivery), 'signed with the secret shown once');
      const event = JSON.parse(delivery.body) as { id: string; type: string };
      assert.equal(event.id, id);
      assert.equal(event.type, 'webhook.test');

      // The log opened by itself, and reads itself again until the delivery is done.
      const row = endpointPanel().locator(`tr[data-message-id="${id}"][data-status="succeeded"]`);
      await row.waitFor();
      const cells = ((await row.textContent()) ?? '').replace(/\s+/g, ' ');
      assert.match(cells, /webhook\.test/);
      assert.match(cells, /Delivered/);
      assert.equal(await row.locator('.response-code').textContent(), '200');
      assert.match(cells, /\{"received":true\}/, 'the first bytes of the response');
      // Retry sends the same message again (same webhook-id, so a receiver can skip what it has handled).
      await row.getByRole('button', { name: `Retry webhook.test ${id}` }).click();
      await page.getByText(`webhook.test ${id} will be sent again now.`).waitFor();
      const deadline = Date.now() + WAIT_MS;
      while (received.filter((r) => r.headers['webhook-id'] === id).length < 2) {
        if (Date.now() > deadline) assert.fail(`Retry did not send ${id} again`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await row.waitFor();
      await assertLabelled();
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      assert.equal(overflow, 0, 'the page scrolls sideways at 1280 px');
      const logOverflow = await endpointPanel()
        .locator('.delivery-wrap')
        .evaluate((el) => el.scrollWidth - el.clientWidth);
      assert.equal(logOverflow, 0, 'the delivery log scrolls sideways at 1280 px');
      await shot('webhooks');
    });

    test('Webhooks: disable and enable, with the reason in words', async () => {
      const panel = endpointPanel();
      await panel.getByRole('button', { name: `Disable ${hookUrl}` }).click();
      await panel.getByText(/Disabled by a person/).waitFor();
      assert.equal(await panel.locator('.badge-disabled').count(), 1);
      const disabled = (await adminApi('GET', `/v1/webhook-endpoints/${endpointId}`)).body as {
        status: string;
        disabled_reason: string | null;
      };
      assert.deepEqual([disabled.status, disabled.disabled_reason], ['disabled', 'manual']);

      await panel.getByRole('button', { name: `Enable ${hookUrl}` }).click();
      await panel.getByText(/^Enabled: receives new events/).waitFor();
      const enabled = (await adminApi('GET', `/v1/webhook-endpoints/${endpointId}`)).body as {
        status: string;
      };
      assert.equal(enabled.status, 'enabled');
    });

    test('Webhooks: edit the events and the description', async () => {
      await endpointPanel()
        .getByRole('button', { name: `Edit ${hookUrl}` })
        .click();
      const dialog = page.getByRole('dialog', { name: 'Edit endpoint' });
      // The form starts from the endpoint as it is.
      assert.equal(await dialog.getByLabel('Endpoint URL').inputValue(), hookUrl);
      assert.equal(await dialog.getByRole('checkbox', { name: /^supplier\.updated/ }).isChecked(), true);
      await dialog.getByRole('checkbox', { name: 'Suppliers: every event' }).uncheck();
      await dialog.getByRole('checkbox', { name: /^product\.deleted/ }).check();
      await dialog.getByLabel(/^Description/).fill('ERP receiver (products)');
      await dialog.getByRole('button', { name: 'Save changes' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await endpointPanel().getByText('ERP receiver (products)').waitFor();
      const saved = (await adminApi('GET', `/v1/webhook-endpoints/${endpointId}`)).body as {
        events: string[];
        description: string;
      };
      assert.deepEqual(saved.events, ['certificate.created', 'product.deleted']);
      assert.equal(saved.description, 'ERP receiver (products)');
    });

    test('Webhooks: rotate the secret with a grace period; both secrets sign until it ends', async () => {
      await endpointPanel()
        .getByRole('button', { name: `Rotate the signing secret of ${hookUrl}` })
        .click();
      const dialog = page.getByRole('dialog', { name: 'Rotate the signing secret' });
      await dialog.getByRole('radio', { name: '1 hour' }).check();
      await dialog.getByRole('button', { name: 'Rotate secret' }).click();
      const result = page.getByRole('dialog', { name: 'Your endpoint’s new signing secret' });
      await result.getByText('you will not see it again').waitFor();
      const next = await result.getByLabel(/^New signing secret for /).inputValue();
      assert.match(next, /^whsec_/);
      assert.notEqual(next, hookSecret);
      await result.getByText(/signed with both secrets until/).waitFor();
      await result.getByRole('button', { name: 'Done' }).click();

      const id = await sendTestEvent();
      const delivery = await receivedMessage(id);
      assert.ok(signedWith(next, delivery), 'signed with the new secret');
      assert.ok(signedWith(hookSecret, delivery), 'and, during the grace period, with the previous one');
      hookSecret = next;
    });

    test('Webhooks: no horizontal scrolling at 390 px, the dialog included', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        const overflow = () =>
          page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        await endpointPanel().getByRole('heading', { name: hookUrl }).waitFor();
        assert.equal(await overflow(), 0, 'the page scrolls sideways at 390 px');
        await shot('webhooks-mobile');
        await page.getByRole('button', { name: 'Add endpoint' }).click();
        const dialog = page.getByRole('dialog', { name: 'Add endpoint' });
        await dialog.waitFor();
        assert.equal(await overflow(), 0, 'the page scrolls sideways with the dialog open');
        const dialogOverflow = await dialog.evaluate((el) => el.scrollWidth - el.clientWidth);
        assert.equal(dialogOverflow, 0, 'the dialog scrolls sideways at 390 px');
        await page.keyboard.press('Escape');
        await dialog.waitFor({ state: 'hidden' });
      } finally {
        await page.setViewportSize({ width: 1280, height: 900 });
      }
    });

    test('Webhooks: delete, confirmed; the endpoint is gone', async () => {
      await endpointPanel()
        .getByRole('button', { name: `Delete ${hookUrl}` })
        .click();
      const confirm = page.getByRole('dialog', { name: 'Delete this endpoint?' });
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel');
      await confirm.getByRole('button', { name: 'Delete endpoint' }).click();
      await confirm.waitFor({ state: 'hidden' });
      await endpointPanel().waitFor({ state: 'detached' });
      await page.getByText('No live webhook endpoints yet').waitFor();
      assert.equal((await adminApi('GET', `/v1/webhook-endpoints/${endpointId}`)).status, 404);
    });

    test('test mode shows test data only', async () => {
      // The overview's checklist card and the Security page agree, in test mode too.
      await go('Overview');
      await page.getByRole('button', { name: 'Test', exact: true }).click();
      await page.getByText('Test mode').first().waitFor();
      const card = page.locator('.card', { hasText: 'Security checklist' }).locator('.big');
      await card.filter({ hasNotText: '…' }).waitFor();
      await page.waitForLoadState('networkidle');
      const said = (await card.textContent()) ?? '';
      await go('Security');
      await page.getByText('for test keys only').waitFor();
      const counts = (await page.getByRole('status').filter({ hasText: 'fail' }).textContent()) ?? '';
      const open = Number(/(\d+) fail/.exec(counts)?.[1]) + Number(/(\d+) warn/.exec(counts)?.[1]);
      assert.equal(
        said,
        open === 0 ? 'All clear' : `${open} to review`,
        `overview "${said}", security "${counts}"`,
      );
      await page.getByRole('button', { name: 'Live', exact: true }).click();
      await go('API keys');
      await page.getByRole('button', { name: 'Test', exact: true }).click();
      await page.getByText('Test mode').first().waitFor();
      await page.getByText('No test API keys yet').waitFor();
      // The Create dialog follows the switch: in test mode it makes test keys only.
      await page.getByRole('button', { name: 'Create new key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Create new key' });
      assert.equal(await dialog.getByRole('radio', { name: /^Test/ }).isChecked(), true);
      assert.equal(await dialog.getByRole('radio', { name: /^Live/ }).isDisabled(), true);
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Live', exact: true }).click();
      await keyRow(KEY_NAME).first().waitFor();
    });

    test('on a narrow screen the navigation collapses behind a Menu button', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      const menu = page.getByRole('button', { name: 'Menu' });
      assert.equal(await menu.getAttribute('aria-expanded'), 'false');
      await menu.click();
      assert.equal(await menu.getAttribute('aria-expanded'), 'true');
      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Usage' }).click();
      await heading().filter({ hasText: 'Usage' }).waitFor();
      await shot('mobile-usage');
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    test('a member sees their role’s limits, not broken pages', async () => {
      const member = await createMember(server, org, 'member');
      const memberContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      try {
        const memberPage = await memberContext.newPage();
        await memberPage.goto(`${server.baseUrl}/dashboard/settings/api-keys`);
        await memberPage.locator('input[name=email]').fill(member.email);
        await memberPage.locator('input[name=password]').fill(member.password);
        await memberPage.locator('button[type=submit]').click();
        await memberPage.locator('main h1').filter({ hasText: 'API keys' }).waitFor();
        assert.match((await memberPage.locator('header.topbar').textContent()) ?? '', /member/);
        // A member manages the keys they created, never with admin.
        await memberPage.getByText('As a member you see and manage the keys you created').waitFor();
        await memberPage.getByRole('button', { name: 'Create new key' }).click();
        const dialog = memberPage.getByRole('dialog', { name: 'Create new key' });
        await dialog.getByRole('checkbox', { name: 'read:certificates' }).waitFor();
        assert.equal(await dialog.getByRole('checkbox', { name: /^admin/ }).count(), 0);
        await memberPage.keyboard.press('Escape');
        // Organization-wide pages say the role does not allow them, instead of breaking.
        await memberPage.getByRole('link', { name: 'Service accounts' }).click();
        await memberPage
          .getByText(/Your role does not allow this|owners and admins|owner or admin/)
          .first()
          .waitFor();
        await memberPage.getByRole('link', { name: 'Authorized apps' }).click();
        await memberPage.getByText('You have not authorized any apps.').waitFor();
      } finally {
        await memberContext.close();
      }
    });

    test('no page broke its CSP, threw, or reached beyond loopback', () => {
      assert.deepEqual(log.cspViolations, []);
      assert.deepEqual(log.errors, []);
      assert.deepEqual(log.foreign, []);
    });

    test('every page has its icon: no request for a missing file (a favicon 404), on the sign-in page too', async () => {
      // The sign-in page was shown at the start (and the dashboard's pages since): nothing was missing.
      assert.deepEqual(log.missing, []);
      const icon = await page.request.get(`${server.baseUrl}/dashboard/favicon.svg`);
      assert.equal(icon.status(), 200);
      assert.match(icon.headers()['content-type'] ?? '', /image\/svg\+xml/);
      assert.equal(
        await page.locator('link[rel=icon]').getAttribute('href'),
        '/dashboard/favicon.svg',
        'the dashboard names its icon',
      );
    });

    test('sign out ends the session, says so, and offers the sign-in page', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
      // Nothing of the organization stays on the screen.
      assert.equal(await page.locator('header.topbar').count(), 0);
      const response = await page.request.get(`${server.baseUrl}/auth/session`);
      assert.equal(response.status(), 401);
      await shot('signed-out');
      await page.getByRole('link', { name: 'Sign in again' }).click();
      await page.locator('input[name=password]').waitFor();
      assert.equal(new URL(page.url()).pathname, '/auth/login');
    });
  });
}
