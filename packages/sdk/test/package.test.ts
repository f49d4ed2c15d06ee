/**
 * The published package, as a user gets it: `npm pack` (which builds with tsc), installed into an empty
 * project; the README's examples and the type tests compiled there with `tsc --strict` against the
 * tarball's `.d.ts`; then every example run there with Node against a real server, its output checked.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Browser, freePort, runAuthorization } from '../../server/test/support/oauth.ts';
import { Cohera } from '../src/index.ts';
import { type SdkTestServer, startServer } from './support/server.ts';

const run = promisify(execFile);
const SDK = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(SDK, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const NPM_CLI = process.env.npm_execpath;

/** npm itself: the one that runs this suite when there is one, else the npm next to Node. */
async function npm(args: string[], cwd: string) {
  const [command, prefix] = NPM_CLI?.endsWith('.js') ? [process.execPath, [NPM_CLI]] : ['npm', []];
  return run(command, [...prefix, ...args], {
    cwd,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
}

/** JSON lines an example printed. */
function lines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the npm package', { timeout: 300_000 }, () => {
  let project: string;
  let s: SdkTestServer;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    project = mkdtempSync(join(tmpdir(), 'cohera-sdk-project-'));
    const packDir = mkdtempSync(join(tmpdir(), 'cohera-sdk-pack-'));
    const { stdout } = await npm(['pack', '--json', '--pack-destination', packDir], SDK);
    const [{ filename }] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [{ filename: string }];
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(packDir, filename)], project);
    rmSync(packDir, { recursive: true, force: true });
    cpSync(join(SDK, 'examples'), project, { recursive: true });
    cpSync(join(SDK, 'test/types/public-api.ts'), join(project, 'public-api.ts'));
    s = await startServer();
    const { COHERA_API_KEY: _k, COHERA_BASE_URL: _b, ...rest } = process.env;
    env = { ...rest, COHERA_API_KEY: s.org.adminKey, COHERA_BASE_URL: s.baseUrl };
  });
  after(async () => {
    await s?.close();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  test('the tarball holds the build, the README and nothing else', async () => {
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules/cohera/package.json'), 'utf8'));
    assert.equal(pkg.name, 'cohera');
    assert.deepEqual(Object.keys(pkg.dependencies), ['jose'], 'at most one runtime dependency');
    const files = readdirSync(join(project, 'node_modules/cohera'), { recursive: true }).map(String);
    assert.ok(files.includes('README.md'));
    assert.ok(files.includes(join('dist', 'index.js')) && files.includes(join('dist', 'index.d.ts')));
    assert.ok(
      files.includes(join('dist', 'auth', 'index.js')) && files.includes(join('dist', 'auth', 'index.d.ts')),
    );
    assert.ok(!files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), 'no sources');
    assert.ok(!files.some((f) => f.startsWith('test') || f.startsWith('examples')));
  });

  test('examples and type tests compile with tsc --strict against the published types', async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          skipLibCheck: false,
          typeRoots: [join(ROOT, 'node_modules/@types')],
          types: ['node'],
          lib: ['es2022', 'DOM'],
        },
        include: ['*.ts'],
      }),
    );
    const result = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project }).catch(
      (error: { stdout: string }) => error,
    );
    assert.equal('code' in result ? result.stdout : '', '', 'tsc reported errors');
  });

  test('the package loads with only its own dependency and the web platform', async () => {
    // Both entry points import without Node built-ins at load time (browsers, Deno, Bun).
    const dist = join(project, 'node_modules/cohera/dist');
    const sources = readdirSync(dist, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(dist, f), 'utf8'));
    for (const source of sources) {
      assert.doesNotMatch(source, /from ['"]node:|require\(/, 'no static import of a Node built-in');
    }
    const probe =
      "const m = await import('cohera'); const a = await import('cohera/auth');" +
      'console.log(typeof m.Cohera, typeof a.OAuth2, typeof a.ServiceAccount)';
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: project });
    assert.equal(stdout.trim(), 'function function function');
  });

  test('the README shows each example exactly as it is run here', () => {
    const readme = readFileSync(join(SDK, 'README.md'), 'utf8');
    const shown = [...readme.matchAll(/<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```/g)];
    const names = shown.map((m) => m[1]);
    assert.deepEqual(names.sort(), readdirSync(join(SDK, 'examples')).sort());
    for (const [, name, code] of shown) {
      assert.equal(code, readFileSync(join(SDK, 'examples', name as string), 'utf8'), `${name} in README.md`);
    }
  });

  test('quickstart.ts', async () => {
    const { stdout } = await run(process.execPath, ['quickstart.ts'], { cwd: project, env });
    const [created, firstPage, valid, invalid, rateLimit] = lines(stdout);
    assert.match(String(created?.created), /^cert_/);
    assert.equal(created?.status, 'valid');
    assert.equal(firstPage?.first_page, 1);
    assert.equal(valid?.valid, 1);
    assert.deepEqual(invalid?.invalid, ['body/country']);
    assert.equal((rateLimit?.rate_limit as { limit: number } | undefined)?.limit, 600);
  });

  test('service-account.ts', async () => {
    const admin = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl });
    const account = await admin.serviceAccounts.create({ name: 'example', scopes: ['read:certificates'] });
    const file = join(project, 'service-account.json');
    writeFileSync(file, JSON.stringify(await admin.serviceAccounts.createKey(account.id)), { mode: 0o600 });
    const { stdout } = await run(process.execPath, ['service-account.ts'], {
      cwd: project,
      env: { ...env, COHERA_API_KEY: '', COHERA_SERVICE_ACCOUNT_FILE: file },
    });
    const [withToken, managed] = lines(stdout);
    assert.equal(typeof withToken?.with_token, 'number');
    assert.deepEqual(managed, { kind: 'service_account', id: account.id, scopes: ['read:certificates'] });
  });

  test('rotate-key.ts', async () => {
    const admin = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl });
    const old = await admin.apiKeys.create({ name: 'to rotate', scopes: ['read:suppliers'] });
    const { stdout } = await run(process.execPath, ['rotate-key.ts', old.id], { cwd: project, env });
    const [rolled, previous] = lines(stdout);
    assert.equal(rolled?.works, true);
    assert.deepEqual(rolled?.scopes, ['read:suppliers']);
    assert.equal(previous?.old_key, old.id);
    const expiresIn = Date.parse(String(previous?.expires_at)) - Date.now();
    assert.ok(expiresIn > 3_000_000 && expiresIn <= 3_600_000, 'the old key lives on for the grace hour');
  });

  test('oauth-app.ts: a user signs in through the example app and sees their certificates', async () => {
    const port = await freePort();
    const admin = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl });
    const app = await admin.oauthClients.create({
      name: 'Example app',
      redirect_uris: [`http://127.0.0.1:${port}/callback`],
      client_type: 'confidential',
      scopes: ['read:certificates', 'read:suppliers'],
    });
    const child: ChildProcess = spawn(process.execPath, ['oauth-app.ts'], {
      cwd: project,
      env: {
        ...env,
        PORT: String(port),
        COHERA_CLIENT_ID: app.client_id,
        COHERA_CLIENT_SECRET: app.client_secret ?? '',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((ready, failed) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('listening')) ready();
        });
        child.once('exit', (code) => failed(new Error(`the example app exited with ${code}`)));
      });
      const appUrl = `http://127.0.0.1:${port}`;
      const login = await fetch(`${appUrl}/login`, { redirect: 'manual' });
      assert.equal(login.status, 302);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const authorizeUrl = new URL(login.headers.get('location') ?? '');
      assert.equal(authorizeUrl.origin, s.baseUrl);
      const { callback } = await runAuthorization(
        new Browser(s.baseUrl),
        { url: authorizeUrl, state: authorizeUrl.searchParams.get('state') ?? '', codeVerifier: '' },
        s.org,
      );
      assert.equal(callback.origin, appUrl);
      const back = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
      assert.equal(back.status, 302);
      const home = await fetch(appUrl, { headers: { cookie } });
      assert.equal(home.status, 200);
      const body = (await home.json()) as { certificates: string[] };
      assert.ok(body.certificates.includes('QMS-2026-0042'), 'the certificate quickstart.ts created');

      // A forged callback (another state) is refused by the app.
      const forged = await fetch(`${appUrl}/callback?code=x&state=forged`, { headers: { cookie } });
      assert.equal(forged.status, 400);
      assert.equal(await forged.text(), 'state_mismatch');
    } finally {
      child.kill();
    }
  });
});
