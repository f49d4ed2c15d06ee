/**
 * The Team page in Chromium (docs/team.md): an owner invites a person and copies the link shown once; the
 * person opens it in a second browser context, chooses a password and lands in the dashboard signed in to
 * the org; the owner changes their role, then removes them, and the person's session follows each change.
 * Both the Team page and the invitation page are checked at 1280 px and 390 px for sideways scrolling.
 *
 * The dashboard is built from the current sources into a temporary directory, so the test never runs
 * against a stale build.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createOrg, type TestOrg } from '../support/app.ts';
import { chromiumAvailable, launchChromium, WAIT_MS } from '../support/chromium.ts';
import { tempDir } from '../support/config.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';
import { type OAuthTestServer, startOAuthServer } from '../support/oauth.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const DASHBOARD = join(ROOT, 'packages/dashboard');
/** Screenshots for a person to look at (ignored by git), beside the dashboard suite's. */
const SHOTS = join(ROOT, 'test-artifacts', 'dashboard');

async function sidewaysScroll(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

if (chromiumAvailable('the Team page in Chromium')) {
  describe('the Team page in Chromium [sqlite]', { timeout: 240_000 }, () => {
    let handle: EngineHandle;
    let dist: { path: string; remove(): void };
    let server: OAuthTestServer;
    let browser: Browser;
    let ownerContext: BrowserContext;
    let inviteeContext: BrowserContext;
    let owner: Page;
    let invitee: Page;
    let org: TestOrg;
    const errors: string[] = [];

    before(async () => {
      dist = tempDir('cohera-dashboard-');
      execFileSync(
        process.execPath,
        [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', dist.path, '--emptyOutDir'],
        { cwd: DASHBOARD, stdio: 'ignore' },
      );
      handle = await prepareEngine('sqlite');
      server = await startOAuthServer(handle, { dashboardDir: dist.path });
      org = await createOrg(server.app);
      browser = await launchChromium();
      ownerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      inviteeContext = await browser.newContext({ viewport: { width: 390, height: 844 } });
      for (const context of [ownerContext, inviteeContext]) {
        context.setDefaultTimeout(WAIT_MS);
        context.setDefaultNavigationTimeout(WAIT_MS);
      }
      owner = await ownerContext.newPage();
      invitee = await inviteeContext.newPage();
      for (const page of [owner, invitee]) {
        page.on('pageerror', (error) => errors.push(error.message));
        page.on('console', (message) => {
          if (/Content Security Policy/i.test(message.text())) errors.push(message.text());
        });
      }
    });
    after(async () => {
      await ownerContext?.close();
      await inviteeContext?.close();
      await browser?.close();
      await server?.close();
      await handle?.cleanup();
      dist?.remove();
    });

    const row = (page: Page, email: string) =>
      page.locator('tr', {
        has: page.getByRole('rowheader', { name: new RegExp(email.replace(/\./g, '\\.')) }),
      });
    const memberRole = async (userEmail: string) => {
      const res = await server.call(org.adminKey, 'GET', '/v1/organization/members?limit=100');
      return res
        .json<{ data: { email: string; role: string; user_id: string }[] }>()
        .data.find((m) => m.email === userEmail);
    };

    const shot = async (page: Page, name: string) => {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    };

    test('invite → accept in a second browser → change role → remove', async () => {
      await owner.goto(`${server.baseUrl}/dashboard/settings/team`);
      await owner.locator('input[name=email]').fill(org.email);
      await owner.locator('input[name=password]').fill(org.password);
      await owner.locator('button[type=submit]').click();
      await owner.locator('main h1', { hasText: 'Team' }).waitFor();
      await row(owner, org.email).waitFor();
      assert.equal(await sidewaysScroll(owner), 0, 'no sideways scroll at 1280 px');

      const email = `browser.${Date.now()}@example.com`;
      await owner.getByRole('button', { name: 'Invite a person' }).click();
      const dialog = owner.getByRole('dialog');
      await dialog.getByLabel('E-mail').fill(email);
      await dialog.getByLabel('Role').selectOption('member');
      await dialog.getByRole('button', { name: 'Invite', exact: true }).click();
      const link = await dialog.getByLabel('Invitation link').inputValue();
      await shot(owner, 'team-invitation-link');
      assert.ok(link.startsWith(`${server.baseUrl}/invitations/accept?token=`), link);
      await dialog.getByRole('button', { name: 'Done' }).click();
      await row(owner, email).waitFor();

      // The invitee, in another browser context (no shared cookies), at phone width.
      await invitee.goto(link);
      await invitee.locator('h1', { hasText: 'Join' }).waitFor();
      assert.equal(await sidewaysScroll(invitee), 0, 'the invitation page fits 390 px');
      await shot(invitee, 'team-accept-390');
      assert.equal(await invitee.locator('input[name=email]').inputValue(), email);
      const password = 'a long and memorable passphrase';
      await invitee.locator('input[name=password]').fill(password);
      await invitee.locator('input[name=password_confirmation]').fill(password);
      await invitee.locator('button[type=submit]').click();
      await invitee.locator('main h1', { hasText: 'Overview' }).waitFor();
      assert.equal(new URL(invitee.url()).pathname, '/dashboard/');
      await invitee.locator('header.topbar .badge', { hasText: 'member' }).waitFor();
      assert.equal((await memberRole(email))?.role, 'member');

      // The owner sees the new member (the pending invitation is gone) and makes them a viewer.
      await owner.reload();
      const memberRow = row(owner, email).first();
      await memberRow.waitFor();
      await memberRow.getByRole('button', { name: /Change the role/ }).click();
      const change = owner.getByRole('dialog');
      await change.getByLabel('New role').selectOption('viewer');
      await change.getByRole('button', { name: 'Change role' }).click();
      await change.waitFor({ state: 'hidden' });
      assert.equal((await memberRole(email))?.role, 'viewer');
      await invitee.reload();
      await invitee.locator('header.topbar .badge', { hasText: 'viewer' }).waitFor();
      await shot(owner, 'team');

      // At 390 px the Team page does not scroll sideways either.
      await owner.setViewportSize({ width: 390, height: 844 });
      assert.equal(await sidewaysScroll(owner), 0, 'no sideways scroll at 390 px');
      await shot(owner, 'team-390');
      await owner.setViewportSize({ width: 1280, height: 900 });

      await memberRow.getByRole('button', { name: /^Remove / }).click();
      const remove = owner.getByRole('dialog');
      await remove.getByRole('button', { name: 'Remove', exact: true }).click();
      await remove.waitFor({ state: 'hidden' });
      assert.equal(await memberRole(email), undefined);
      // The removed person's session has ended: the dashboard sends them to the sign-in page.
      await invitee.reload();
      await invitee.locator('input[name=password]').waitFor();
      assert.equal(new URL(invitee.url()).pathname, '/auth/login');
      assert.deepEqual(errors, []);
    });
  });
}
