/**
 * The published package, as a user gets it: `npm pack` (which builds with tsc), installed into an empty
 * folder exactly as the README's Install section says; the tarball's contents (the build, the README, the
 * LICENSE) and the README's links, which must work where the README is read outside this repository (on
 * a registry page, in node_modules); the README's examples, docs/getting-started.md's `.ts` examples and
 * the type tests compiled there with `tsc --strict` against the tarball's `.d.ts`; then every example, and
 * the getting-started page's plain-JavaScript `.mjs` twins, run there with Node against a real server
 * found through COHERA_BASE_URL, their output checked. Without COHERA_BASE_URL a script fails before
 * sending anything, naming the variable.
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
const GETTING_STARTED = join(ROOT, 'docs/getting-started.md');

/** The code blocks a Markdown page marks `<!-- example: <file name> -->`, by file name. */
function markedExamples(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const [, name, code] of markdown.matchAll(/<!-- example: (\S+) -->\n```(?:ts|js)\n([\s\S]*?)```/g)) {
    assert.ok(!found.has(name as string), `one example named ${name}`);
    found.set(name as string, code as string);
  }
  return found;
}

/** GitHub's (and npm's) heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const headings = markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm);
  return new Set(
    [...headings].map(([, text]) =>
      (text as string)
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}
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
    assert.equal(filename, 'cohera-0.1.0.tgz', 'the file name the README tells people to install');
    // An empty folder, as in the README: npm writes the package.json itself.
    await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(packDir, filename)], project);
    rmSync(packDir, { recursive: true, force: true });
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    assert.match(String(manifest.dependencies?.cohera), /^file:.*cohera-0\.1\.0\.tgz$/);
    // The .ts examples are ES modules: the README and the getting-started page say to set this.
    writeFileSync(join(project, 'package.json'), JSON.stringify({ ...manifest, type: 'module' }));
    cpSync(join(SDK, 'examples'), project, { recursive: true });
    for (const [name, code] of markedExamples(readFileSync(GETTING_STARTED, 'utf8'))) {
      writeFileSync(join(project, name), code);
    }
    cpSync(join(SDK, 'test/types/public-api.ts'), join(project, 'public-api.ts'));
    s = await startServer();
    const { COHERA_API_KEY: _k, COHERA_BASE_URL: _b, ...rest } = process.env;
    env = { ...rest, COHERA_API_KEY: s.org.adminKey, COHERA_BASE_URL: s.baseUrl };
  });
  after(async () => {
    await s?.close();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  test('the tarball holds the build, the README, the LICENSE and nothing else', async () => {
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules/cohera/package.json'), 'utf8'));
    assert.equal(pkg.name, 'cohera');
    assert.deepEqual(Object.keys(pkg.dependencies), ['jose'], 'at most one runtime dependency');
    const files = readdirSync(join(project, 'node_modules/cohera'), { recursive: true }).map(String);
    assert.ok(files.includes('README.md'));
    // The repository's Apache-2.0 text, travelling with the package; packages/sdk/LICENSE is a copy of it.
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    assert.match(license, /Apache License\s+Version 2\.0, January 2004/);
    assert.equal(pkg.license, 'Apache-2.0');
    assert.equal(readFileSync(join(project, 'node_modules/cohera/LICENSE'), 'utf8'), license);
    assert.equal(
      readFileSync(join(SDK, 'LICENSE'), 'utf8'),
      license,
      'packages/sdk/LICENSE is the root LICENSE',
    );
    assert.ok(files.includes(join('dist', 'index.js')) && files.includes(join('dist', 'index.d.ts')));
    assert.ok(
      files.includes(join('dist', 'auth', 'index.js')) && files.includes(join('dist', 'auth', 'index.d.ts')),
    );
    assert.ok(!files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), 'no sources');
    assert.ok(!files.some((f) => f.startsWith('test') || f.startsWith('examples')));
    assert.deepEqual(readdirSync(join(project, 'node_modules/cohera')).sort(), [
      'LICENSE',
      'README.md',
      'dist',
      'package.json',
    ]);
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

  test("the README's links work outside the repository", () => {
    const readme = readFileSync(join(project, 'node_modules/cohera/README.md'), 'utf8');
    const shipped = new Set(
      readdirSync(join(project, 'node_modules/cohera'), { recursive: true }).map(String),
    );
    const anchors = anchorsOf(readme);
    const prose = readme.replace(/```[\s\S]*?```/g, '');
    const targets = [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
    assert.ok(targets.length > 5);
    for (const target of targets) {
      if (/^https:\/\//.test(target)) continue;
      if (target.startsWith('#')) {
        assert.ok(anchors.has(target.slice(1)), `${target} is a heading of the README`);
        continue;
      }
      // A relative link only to a file the tarball itself carries.
      assert.ok(shipped.has(target.split('#')[0] as string), `${target} resolves inside the package`);
    }
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

  // Last: these create data of their own, which the examples above do not expect.
  test('a plain .mjs script needs COHERA_BASE_URL: without it, it fails naming the variable, unsent', async () => {
    const { COHERA_BASE_URL: _unset, ...noBaseUrl } = env;
    const failed = await run(process.execPath, ['first-calls-sdk.mjs'], {
      cwd: project,
      env: noBaseUrl,
    }).then(
      () => assert.fail('expected the script to fail'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /COHERA_BASE_URL/);
    assert.match(failed.stderr, /missing_base_url/);
    assert.ok(!failed.stderr.includes(s.org.adminKey.slice(8)), 'the key is not in the output');
    assert.match(failed.stderr, /at new Cohera /, 'thrown by the constructor: before any request');
  });

  for (const name of ['first-calls.mjs', 'first-calls.ts', 'first-calls-sdk.mjs', 'first-calls-sdk.ts']) {
    test(`docs/getting-started.md's ${name} runs as written against the server in COHERA_BASE_URL`, async () => {
      const { stdout } = await run(process.execPath, [name], { cwd: project, env });
      assert.match(stdout, /^ISO 14001 valid 2028-05-31T23:59:59Z$/m);
      if (name.includes('sdk'))
        assert.match(stdout, /^validation_failed \[[\s\S]*body\/country[\s\S]*\] req_\w+$/m);
    });
  }

  test('docs/getting-started.md gives every .ts example its .mjs twin', () => {
    const names = [...markedExamples(readFileSync(GETTING_STARTED, 'utf8')).keys()];
    assert.deepEqual(
      names
        .filter((n) => n.endsWith('.ts'))
        .map((n) => n.replace(/\.ts$/, '.mjs'))
        .sort(),
      names.filter((n) => n.endsWith('.mjs')).sort(),
    );
    const blocks = readFileSync(GETTING_STARTED, 'utf8').match(/^```ts$/gm) ?? [];
    assert.equal(
      blocks.length,
      names.filter((n) => n.endsWith('.ts')).length,
      'every ```ts block is a marked example',
    );
  });
});
