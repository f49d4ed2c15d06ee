/**
 * `cohera login` / `whoami` / `logout` end to end: a real server (COHERA_PUBLIC_URL = its base URL, as
 * the device flow needs), the CLI spawned and polling, and Chromium playing the person (code page,
 * sign-in, consent). Then: the credentials file (0600 in a 0700 directory, keyed by base URL), whoami
 * through the saved login, COHERA_API_KEY winning, a refresh once the saved token has expired (rotation
 * saved), logout revoking (the old access token gets 401), logout offline, and a denied sign-in.
 * No token ever appears in the CLI's output.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { createOrg, type TestOrg } from '../../../server/test/support/app.ts';
import { chromiumAvailable, launchChromium, WAIT_MS } from '../../../server/test/support/chromium.ts';
import { type EngineHandle, prepareEngine } from '../../../server/test/support/engines.ts';
import { type OAuthTestServer, startOAuthServer } from '../../../server/test/support/oauth.ts';
import { BIN, cleanEnv, cohera, hasScript, onTerminal, type Run, tempDir } from '../conventions/support.ts';

interface SavedFile {
  version: number;
  logins: Record<
    string,
    { access_token: string; refresh_token: string; expires_at: string; scopes: string[]; base_url: string }
  >;
}

/** Starts `cohera login ARGS`; resolves the device's URL and code once printed, and the run at exit. */
function startLogin(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'login', ...args], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let announce: (value: { url: string; code: string }) => void = () => {};
  const prompt = new Promise<{ url: string; code: string }>((resolve) => {
    announce = resolve;
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    const code = /shows the code\s+([A-Z]{4}-[A-Z]{4})/.exec(stderr)?.[1];
    const url = /or open (\S+) and enter the code/.exec(stderr)?.[1];
    if (code && url) announce({ url, code });
  });
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { prompt, done, child };
}

if (chromiumAvailable('cohera login in Chromium')) {
  describe('cohera login, whoami, logout [sqlite, Chromium]', () => {
    let handle: EngineHandle | undefined;
    let t: OAuthTestServer | undefined;
    let chromium: Browser | undefined;
    const contexts: BrowserContext[] = [];
    let org: TestOrg;
    const config = tempDir('cohera-login-');
    const file = join(config.path, 'cohera', 'credentials.json');
    let env: Record<string, string>;
    const outputs: string[] = [];

    before(
      async () => {
        handle = await prepareEngine('sqlite');
        t = await startOAuthServer(handle);
        org = await createOrg(t.app);
        chromium = await launchChromium();
        env = { XDG_CONFIG_HOME: config.path, COHERA_BASE_URL: t.baseUrl };
      },
      { timeout: 60_000 },
    );
    after(async () => {
      for (const context of contexts) await context.close().catch(() => {});
      await chromium?.close().catch(() => {});
      await t?.close();
      await handle?.cleanup();
      config.remove();
    });

    /** The person: the verification page, the code, sign-in, then allow or deny. */
    async function approve(url: string, code: string, decision: 'allow' | 'deny') {
      const context = await (chromium as Browser).newContext();
      contexts.push(context);
      context.setDefaultTimeout(WAIT_MS);
      const page = await context.newPage();
      await page.goto(url);
      await page.locator('input[name=user_code]').fill(code);
      await page.locator('button[type=submit]').click();
      await page.locator('input[name=password]').waitFor();
      await page.locator('input[name=email]').fill(org.email);
      await page.locator('input[name=password]').fill(org.password);
      await page.locator('button[type=submit]').click();
      await page.locator(`button[name=decision][value=${decision}]`).click();
      if (decision === 'allow') await page.locator('#device-connected').waitFor();
      else await page.getByText('You denied access').waitFor();
    }

    function saved(): SavedFile {
      return JSON.parse(readFileSync(file, 'utf8')) as SavedFile;
    }

    test('login: the device flow approved in Chromium; the identity on stdout; the file 0600', {
      timeout: 90_000,
    }, async () => {
      const server = t as OAuthTestServer;
      const login = startLogin(['--json'], env);
      const { url, code } = await login.prompt;
      assert.equal(url, `${server.baseUrl}/oauth/device`);
      await approve(url, code, 'allow');
      const run = await login.done;
      outputs.push(run.stdout, run.stderr);
      assert.equal(run.code, 0, run.stderr);
      const identity = JSON.parse(run.stdout) as Record<string, unknown>;
      assert.equal(identity.base_url, server.baseUrl);
      assert.equal(identity.source, 'saved login');
      assert.equal(identity.org_id, org.orgId);
      assert.equal(identity.client_id, 'cohera-cli');
      assert.ok((identity.scopes as string[]).includes('admin'), 'the owner holds admin');

      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(join(config.path, 'cohera')).mode & 0o777, 0o700);
      const entry = saved().logins[server.baseUrl];
      assert.ok(entry?.access_token && entry.refresh_token, 'tokens saved under the base URL');
      assert.ok(Date.parse(entry.expires_at) > Date.now());
      assert.equal(entry.base_url, server.baseUrl);
      for (const output of outputs) {
        assert.ok(
          !output.includes(entry.access_token) && !output.includes(entry.refresh_token),
          'no token printed',
        );
      }
    });

    test('whoami uses the saved login; COHERA_API_KEY wins when set', async () => {
      const [viaLogin, viaKey, plain] = await Promise.all([
        cohera(['whoami', '--json'], env),
        cohera(['whoami', '--json'], { ...env, COHERA_API_KEY: org.adminKey }),
        cohera(['whoami'], env),
      ]);
      assert.equal(viaLogin.code, 0, viaLogin.stderr);
      const login = JSON.parse(viaLogin.stdout) as Record<string, unknown>;
      assert.equal(login.source, 'saved login');
      assert.equal(login.org_id, org.orgId);
      assert.equal(login.id, org.userId);
      assert.equal(viaKey.code, 0, viaKey.stderr);
      const key = JSON.parse(viaKey.stdout) as Record<string, unknown>;
      assert.equal(key.source, 'COHERA_API_KEY');
      assert.equal(key.kind, 'api_key');
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /from\s+the saved login/);
      assert.ok(!plain.stdout.includes('\u001b['), 'no escape codes in a pipe');
      outputs.push(viaLogin.stdout, plain.stdout, viaKey.stdout, viaKey.stderr);
    });

    test('an expired saved token is refreshed, and the rotated refresh token saved', async () => {
      const server = t as OAuthTestServer;
      const before = saved();
      const old = before.logins[server.baseUrl];
      assert.ok(old);
      old.expires_at = new Date(Date.now() - 1000).toISOString();
      writeFileSync(file, JSON.stringify(before));
      const run = await cohera(['whoami', '--json'], env);
      assert.equal(run.code, 0, run.stderr);
      outputs.push(run.stdout, run.stderr);
      const fresh = saved().logins[server.baseUrl];
      assert.ok(fresh);
      assert.notEqual(fresh.access_token, old.access_token, 'a new access token');
      assert.notEqual(fresh.refresh_token, old.refresh_token, 'the rotated refresh token is saved');
      assert.ok(Date.parse(fresh.expires_at) > Date.now());
      assert.equal(statSync(file).mode & 0o777, 0o600, 'still 0600 after the rewrite');
      // The old refresh token is spent: presenting it again would be reuse (and revoke the grant).
    });

    test('on a terminal whoami has colour, never with NO_COLOR or --no-color', {
      skip: hasScript ? false : 'util-linux script is not installed',
    }, async () => {
      const [coloured, noColor, flag] = await Promise.all([
        onTerminal(['whoami'], env),
        onTerminal(['whoami'], { ...env, NO_COLOR: '1' }),
        onTerminal(['whoami', '--no-color'], env),
      ]);
      assert.equal(coloured.code, 0, coloured.output);
      assert.ok(coloured.output.includes('\u001b['), 'colour on a terminal');
      for (const run of [noColor, flag]) {
        assert.equal(run.code, 0, run.output);
        assert.ok(!run.output.includes('\u001b['), 'no escape sequence');
        assert.match(run.output, /the saved login/);
      }
    });

    test('logout revokes both tokens (the old access token then gets 401) and deletes the entry', async () => {
      const server = t as OAuthTestServer;
      const entry = saved().logins[server.baseUrl];
      assert.ok(entry);
      assert.equal((await server.call(entry.access_token, 'GET', '/v1/certificates')).statusCode, 200);
      const run = await cohera(['logout'], env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /tokens revoked, saved login deleted/);
      assert.equal(saved().logins[server.baseUrl], undefined);
      assert.equal((await server.call(entry.access_token, 'GET', '/v1/certificates')).statusCode, 401);
      const refreshed = await fetch(`${server.baseUrl}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: entry.refresh_token,
          client_id: 'cohera-cli',
        }),
      });
      assert.equal(refreshed.status, 400, 'the refresh token is revoked too');
      const whoami = await cohera(['whoami'], env);
      assert.equal(whoami.code, 1);
      assert.match(whoami.stderr, /not signed in/);
      for (const output of outputs)
        assert.ok(!output.includes(entry.access_token) && !output.includes(entry.refresh_token));
    });

    test('logout offline deletes the entry with a warning', async () => {
      const offline = 'http://127.0.0.1:9';
      const file_ = saved();
      file_.logins[offline] = {
        access_token: 'not-a-real-token',
        refresh_token: 'not-a-real-refresh-token',
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        scopes: [],
        base_url: offline,
      };
      writeFileSync(file, JSON.stringify(file_));
      const run = await cohera(['logout', '--base-url', offline, '--json'], env);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), {
        base_url: offline,
        signed_in: true,
        revoked: false,
        deleted: true,
      });
      assert.match(run.stderr, /could not revoke the tokens/);
      assert.ok(!run.stderr.includes('not-a-real-token'));
      assert.equal(saved().logins[offline], undefined);
    });

    test('a sign-in denied in the browser: exit 1 with a sentence, nothing saved', {
      timeout: 90_000,
    }, async () => {
      const server = t as OAuthTestServer;
      const login = startLogin([], env);
      const { url, code } = await login.prompt;
      await approve(url, code, 'deny');
      const run = await login.done;
      assert.equal(run.code, 1);
      assert.match(run.stderr, /sign-in was denied in the browser; nothing was saved/);
      assert.equal(saved().logins[server.baseUrl], undefined);
    });
  });
}
