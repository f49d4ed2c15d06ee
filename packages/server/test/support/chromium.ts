/**
 * Debian's Chromium for the server's browser tests (OAuth sign-in and consent, framing), driven by
 * playwright-core. Playwright never downloads a browser here: the tests use /usr/bin/chromium, which CI
 * installs, and under CI=true a missing browser fails the run instead of skipping the tests.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Every wait in the browser: long enough for a slow CI machine, short enough that nothing hangs. */
export const WAIT_MS = 15_000;

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  // Belt and braces for "loopback only": no host name resolves, so nothing but 127.0.0.1 is reachable.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, timeout: 30_000 });
}

/**
 * Whether the browser suite named `what` can run. When Chromium is missing it registers, in its place, a
 * failing test under CI (CI must run the browser tests) or a skipped one locally, and answers false.
 */
export function chromiumAvailable(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const missing =
    `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); ` +
    'playwright never downloads a browser here';
  if (process.env.CI === 'true') {
    test(`Chromium is installed (CI must run ${what}, never skip it)`, () => assert.fail(missing));
  } else {
    test(what, { skip: missing }, () => {});
  }
  return false;
}
