/**
 * Issue 21: the README's five-minute tour, run as written, so that it cannot rot or swallow an error.
 *
 * A fresh `cohera server` process runs in an empty directory, as after `npm start` (SQLite in ./.cohera,
 * on a free port, COHERA_PUBLIC_URL its own address). The tour's first ```sh block, the bootstrap, runs
 * in that directory; the two `export` lines it prints are what a person pastes, so they become the first
 * lines of the script. Every other ```sh block of the tour, in order (a block after
 * `<!-- not run: reason -->` is left out), follows in ONE `bash -euo pipefail` script, which must exit 0;
 * then the API must hold what the tour made. The same script must stop with a readable message, not carry
 * on, without COHERA_API_KEY, with a key the server does not know, and with nothing on COHERA_BASE_URL.
 */
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../server/test/support/oauth.ts';
import { runToEnd } from '../../server/test/support/server-process.ts';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/cohera.js', import.meta.url));
/** Only a hung server waits this long, and then the test fails instead of hanging. */
const START_TIMEOUT_MS = 30_000;

interface Block {
  code: string;
  /** The reason given in `<!-- not run: reason -->` just before the block, if any. */
  skip: string | null;
}

/** The ```sh blocks of the README's "A five-minute tour" section, in order. Output samples have no language. */
function tourBlocks(): Block[] {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf('\n## A five-minute tour\n');
  assert.notEqual(start, -1, 'README.md has a "## A five-minute tour" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/(?:<!-- not run: ([^\n]*?) -->\n)?```sh\n([\s\S]*?)```/g)].map((m) => ({
    code: m[2] as string,
    skip: m[1] ?? null,
  }));
}

/** The parent's environment without COHERA_* settings or the test runner's markers; `node` is the pinned one. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('COHERA_') && !name.startsWith('NODE_TEST'))
      env[name] = value;
  }
  env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;
  return { ...env, ...extra };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bash(script: string, cwd: string, env: Record<string, string>): Promise<Run> {
  return runToEnd('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: cleanEnv(env) });
}

/** `npx cohera …` is the repository's bin on the pinned Node: what npx resolves it to, without npm. */
const NPX_SHIM = `npx() {
  if [ "$1" = cohera ]; then shift; "${process.execPath}" "${BIN}" "$@"; else command npx "$@"; fi
}
`;

describe('the README tour, run as a script against a fresh server', () => {
  const home = mkdtempSync(join(tmpdir(), 'cohera-readme-tour-'));
  const blocks = tourBlocks();
  let server: ChildProcessByStdio<null, Readable, Readable> | undefined;
  let serverOutput = '';
  let baseUrl = '';
  /** The environment of the person's shells: the server's port and public URL, nothing else of Cohera's. */
  let serverEnv: Record<string, string> = {};
  let bootstrap: Run = { code: null, stdout: '', stderr: '' };
  let exportLines: string[] = [];
  let adminKey = '';

  before(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    serverEnv = { COHERA_PORT: String(port), COHERA_HOST: '127.0.0.1', COHERA_PUBLIC_URL: baseUrl };
    server = spawn(process.execPath, [BIN, 'server'], {
      cwd: home,
      env: cleanEnv({ ...serverEnv, COHERA_LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [server.stdout, server.stderr]) {
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        serverOutput += chunk;
      });
    }
    await waitForHealth(baseUrl, server, () => serverOutput);
    // What the person runs in their second terminal; every test below starts from its output.
    bootstrap = await bash(`${NPX_SHIM}${blocks[0]?.code ?? ''}`, home, serverEnv);
    exportLines = bootstrap.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => /^export COHERA_(BASE_URL|API_KEY)=/.test(line));
    adminKey = exportLines.find((line) => line.startsWith('export COHERA_API_KEY='))?.split('=')[1] ?? '';
  });

  after(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  });

  /** Every block after the bootstrap that is not marked "not run", in order, as one script. */
  function tourScript(): string {
    return blocks
      .slice(1)
      .filter((block) => block.skip === null)
      .map((block) => block.code)
      .join('\n');
  }

  async function api(path: string): Promise<{ data: Record<string, unknown>[] }> {
    const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as { data: Record<string, unknown>[] };
  }

  test('the tour starts with the bootstrap, whose output has the two export lines to paste', () => {
    assert.ok(blocks.length >= 10, `the tour's sh blocks were found (${blocks.length})`);
    assert.match(blocks[0]?.code ?? '', /^npx cohera admin bootstrap /, 'the first block is the bootstrap');
    assert.ok(
      blocks.some((block) => block.skip !== null && /export COHERA_API_KEY=ck_live_\.\.\./.test(block.code)),
      'the export block with the placeholder key is marked not run',
    );
    assert.equal(bootstrap.code, 0, bootstrap.stderr);
    assert.match(bootstrap.stdout, /^Database: SQLite at .*\/\.cohera\/cohera\.sqlite$/m);
    assert.deepEqual(exportLines, [`export COHERA_BASE_URL=${baseUrl}`, `export COHERA_API_KEY=${adminKey}`]);
    assert.match(adminKey, /^ck_live_[0-9A-Za-z]{38}$/);
    assert.equal(bootstrap.stdout.split(adminKey).length, 2, 'the key is printed once');
  });

  test('the rest of the tour runs in one bash -euo pipefail and makes what it says', async () => {
    assert.ok(adminKey, `the bootstrap printed a key: ${bootstrap.stderr}`);
    const run = await bash(`${exportLines.join('\n')}\n${tourScript()}`, home, {});
    assert.equal(run.code, 0, `the tour failed:\n${run.stderr}\n--- stdout:\n${run.stdout}`);
    // The two requests meant to fail did, with the codes the README shows.
    assert.match(run.stdout, /^validation_failed$/m);
    assert.match(run.stdout, /^insufficient_scope$/m);
    assert.match(run.stdout, /^x-ratelimit-limit: 60\r?$/m);

    const [supplier, ...others] = (await api('/v1/suppliers')).data;
    assert.deepEqual(others, [], 'exactly one supplier: the invalid and forbidden ones were refused');
    assert.equal(supplier?.name, 'Nordic Steel AB');
    const products = (await api('/v1/products')).data;
    assert.deepEqual(
      products.map((p) => [p.sku, p.supplier_id]),
      [['BOLT-M8-A4', supplier?.id]],
    );
    const certificates = (await api('/v1/certificates')).data;
    assert.deepEqual(
      certificates.map((c) => [c.number, c.status, c.supplier_id, c.product_ids]),
      [['QMS-2026-0042', 'valid', supplier?.id, [products[0]?.id]]],
    );
    const readers = (await api('/v1/api-keys')).data.filter((key) => key.name === 'Certificate reader');
    const byStatus = Object.fromEntries(readers.map((key) => [key.status, key]));
    assert.equal(readers.length, 2, 'the reader key and the key it was rolled into');
    assert.deepEqual(Object.keys(byStatus).sort(), ['active', 'revoked']);
    assert.equal(byStatus.active?.rolled_from, byStatus.revoked?.id, 'the active key is the rolled one');
    assert.deepEqual(byStatus.active?.scopes, ['read:certificates']);
  });

  test('without COHERA_API_KEY the tour stops at once and says what to set', async () => {
    const before = (await api('/v1/suppliers')).data.length;
    const run = await bash(tourScript(), home, { COHERA_BASE_URL: baseUrl });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /COHERA_API_KEY: set COHERA_API_KEY: paste the export lines/);
    assert.equal(run.stdout, '', 'no step ran');
    assert.equal((await api('/v1/suppliers')).data.length, before, 'nothing was created');
  });

  test('with a key the server does not know, the first call fails and shows the problem', async () => {
    const unknown = `ck_live_${'A'.repeat(38)}`;
    const run = await bash(tourScript(), home, { COHERA_BASE_URL: baseUrl, COHERA_API_KEY: unknown });
    assert.equal(run.code, 22, `curl's exit code for an HTTP error: ${run.stderr}`);
    assert.match(run.stderr, /curl: \(22\) The requested URL returned error: 401/);
    // --fail-with-body: the server's problem document is shown, not swallowed.
    const problem = JSON.parse(run.stdout) as { status: number; code: string };
    assert.equal(problem.status, 401);
    assert.match(problem.code, /^[a-z_]+$/);
  });

  test('with nothing listening on COHERA_BASE_URL, the first call fails with curl’s message', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const run = await bash(tourScript(), home, { COHERA_BASE_URL: nowhere, COHERA_API_KEY: adminKey });
    assert.equal(run.code, 7, `curl's exit code for "could not connect": ${run.stderr}`);
    assert.match(run.stderr, /curl: \(7\) Failed to connect to 127\.0\.0\.1 port \d+/);
    assert.equal(run.stdout, '');
  });
});

/** Resolves once the server answers `GET /health`; rejects if it exits first or takes too long. */
async function waitForHealth(
  baseUrl: string,
  server: ChildProcessByStdio<null, Readable, Readable>,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the server exited (${server.exitCode}):\n${output()}`);
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the server did not answer within ${START_TIMEOUT_MS} ms:\n${output()}`);
}
