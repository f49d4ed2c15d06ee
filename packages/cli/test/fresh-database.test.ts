/**
 * Issue 21: an operator command run in another directory than the server's must not quietly create a
 * second database. `cohera admin bootstrap` refuses (exit 2, nothing created) when its database does not
 * exist yet while a Cohera server answers on the configured port, asks on a terminal, and goes ahead with
 * `--yes`, with nothing on the port, or with another program there; set-tier, audit-reseal and
 * rotate-signing-key never create a database. The probe sends no credential.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/src/app.ts';
import { logCapture } from '../../server/test/support/app.ts';
import { testConfig } from '../../server/test/support/config.ts';
import { freePort } from '../../server/test/support/oauth.ts';
import { BIN, cohera, hasScript, tempDir } from './conventions/support.ts';
import { PTY_ENV, scriptArgs } from './pty.ts';

const BOOTSTRAP = ['admin', 'bootstrap', '--org', 'Elsewhere', '--email', 'elsewhere@example.com'];

describe('an operator command whose database does not exist yet', () => {
  const root = tempDir('cohera-fresh-');
  let app: FastifyInstance;
  let servedPort = '';
  let unservedPort = '';
  let serverDir = '';
  /** A directory that does not exist: where a command run in the wrong place would create its database. */
  let fresh = 0;
  const elsewhere = () => join(root.path, `elsewhere-${++fresh}`, '.cohera');

  before(async () => {
    serverDir = join(root.path, 'server');
    app = await buildApp(testConfig({}, serverDir), { logDestination: logCapture() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    servedPort = String((app.server.address() as AddressInfo).port);
    unservedPort = String(await freePort());
  });
  after(async () => {
    await app?.close();
    root.remove();
  });

  test('bootstrap refuses while a Cohera server answers on the port, says why and what to do, creates nothing', async () => {
    const dataDir = elsewhere();
    const run = await cohera(BOOTSTRAP, { COHERA_DATA_DIR: dataDir, COHERA_PORT: servedPort });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, '');
    const message = run.stderr.split('\n\nUsage:')[0] ?? '';
    for (const part of [
      `a Cohera server is already running on 127.0.0.1:${servedPort}, but it does not use ${dataDir}`,
      `would create the directory ${dataDir} with a new database and master key`,
      'nothing was created',
      'where you started the server (`npm start`)',
      'COHERA_DATA_DIR',
      'COHERA_DATABASE_URL',
      '--yes',
    ]) {
      assert.ok(message.includes(part), `the message says "${part}":\n${message}`);
    }
    assert.ok(!existsSync(join(dataDir, '..')), 'not even the parent directory was created');
  });

  test('with --json the refusal is the one JSON document, with a stable code', async () => {
    const dataDir = elsewhere();
    const run = await cohera([...BOOTSTRAP, '--json'], { COHERA_DATA_DIR: dataDir, COHERA_PORT: servedPort });
    assert.equal(run.code, 2);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    assert.equal(error.code, 'server_uses_another_database');
    assert.ok(error.message.includes(dataDir), error.message);
    assert.ok(!existsSync(dataDir));
  });

  test('a server bound to every address (COHERA_HOST=0.0.0.0) is looked for on loopback', async () => {
    const dataDir = elsewhere();
    const run = await cohera(BOOTSTRAP, {
      COHERA_DATA_DIR: dataDir,
      COHERA_PORT: servedPort,
      COHERA_HOST: '0.0.0.0',
    });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`already running on 127\\.0\\.0\\.1:${servedPort}`));
    assert.ok(!existsSync(dataDir));
  });

  test('an existing data dir: the message names the files it would add, not the directory', async () => {
    // A configured master key: only the database would be new.
    const run = await cohera(BOOTSTRAP, {
      COHERA_DATA_DIR: root.path,
      COHERA_PORT: servedPort,
      COHERA_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    assert.equal(run.code, 2, run.stderr);
    assert.ok(
      run.stderr.includes(`would create a new database ${join(root.path, 'cohera.sqlite')},`),
      run.stderr,
    );
    assert.ok(!existsSync(join(root.path, 'cohera.sqlite')));
  });

  test('--yes creates the new database anyway', async () => {
    const dataDir = elsewhere();
    const run = await cohera([...BOOTSTRAP, '--yes'], { COHERA_DATA_DIR: dataDir, COHERA_PORT: servedPort });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes(`Database: SQLite at ${join(dataDir, 'cohera.sqlite')}`), run.stdout);
    assert.ok(existsSync(join(dataDir, 'cohera.sqlite')));
    assert.ok(existsSync(join(dataDir, 'master.key')));
  });

  test('with nothing on the port, bootstrap creates the database (a first install)', async () => {
    const dataDir = elsewhere();
    const run = await cohera([...BOOTSTRAP, '--json'], {
      COHERA_DATA_DIR: dataDir,
      COHERA_PORT: unservedPort,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match((JSON.parse(run.stdout) as { api_key: string }).api_key, /^ck_live_/);
    assert.ok(existsSync(join(dataDir, 'cohera.sqlite')));
  });

  test("the server's own database: bootstrap goes ahead while the server runs", async () => {
    const run = await cohera([...BOOTSTRAP, '--json'], {
      COHERA_DATA_DIR: serverDir,
      COHERA_PORT: servedPort,
    });
    assert.equal(run.code, 0, run.stderr);
    const { org_id } = JSON.parse(run.stdout) as { org_id: string };
    const org = await app.deps.db
      .selectFrom('orgs')
      .select('name')
      .where('id', '=', org_id)
      .executeTakeFirst();
    assert.equal(org?.name, 'Elsewhere');
  });

  describe('another program on the port', () => {
    let other: Server;
    let otherPort = '';
    const seen: { url: string | undefined; headers: IncomingHttpHeaders }[] = [];
    before(async () => {
      // It answers like many programs do (200, JSON), but not as Cohera's /health.
      other = createServer((req, res) => {
        seen.push({ url: req.url, headers: req.headers });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"running"}');
      });
      await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
      otherPort = String((other.address() as AddressInfo).port);
    });
    after(() => new Promise<void>((resolve) => other.close(() => resolve())));

    test('is not a Cohera server: bootstrap goes ahead; the probe was one GET /health with no credential', async () => {
      const dataDir = elsewhere();
      const run = await cohera([...BOOTSTRAP, '--json'], {
        COHERA_DATA_DIR: dataDir,
        COHERA_PORT: otherPort,
        // Set in the same shell as a client's key; the probe must never send it.
        COHERA_API_KEY: `ck_live_${'B'.repeat(38)}`,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(existsSync(join(dataDir, 'cohera.sqlite')));
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.url, '/health');
      assert.equal(seen[0]?.headers.authorization, undefined);
      assert.equal(seen[0]?.headers.cookie, undefined);
    });
  });

  test('set-tier, audit-reseal and rotate-signing-key never create a database (exit 78)', async () => {
    for (const args of [
      ['admin', 'set-tier', '--org', 'org_1111111111111111111111', '--tier', 'pro'],
      ['admin', 'audit-reseal', '--all'],
      ['admin', 'rotate-signing-key'],
    ]) {
      const dataDir = elsewhere();
      // With no server on the port as well: these refuse a missing database whatever runs.
      for (const port of [servedPort, unservedPort]) {
        const run = await cohera([...args, '--json'], { COHERA_DATA_DIR: dataDir, COHERA_PORT: port });
        assert.equal(run.code, 78, `${args.join(' ')}: ${run.stderr}`);
        const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
        assert.equal(error.code, 'database_not_found');
        assert.ok(error.message.includes(`no Cohera database at ${join(dataDir, 'cohera.sqlite')}`));
        assert.match(error.message, /COHERA_DATA_DIR/);
        assert.ok(!existsSync(join(dataDir, '..')), `${args.join(' ')} created nothing`);
      }
    }
  });

  test('on a terminal, bootstrap asks first: no (the default) creates nothing, yes creates it', {
    skip: hasScript ? false : 'util-linux script is not installed',
  }, async () => {
    const dataDir = elsewhere();
    const env = { COHERA_DATA_DIR: dataDir, COHERA_PORT: servedPort, NO_COLOR: '1' };
    const declined = await onTerminalAnswering(BOOTSTRAP, env, '\n');
    assert.equal(declined.code, 1, declined.output);
    assert.match(declined.output, /already running on 127\.0\.0\.1:\d+/);
    assert.ok(declined.output.includes(`Create a new database at ${dataDir} anyway? [y/N]`), declined.output);
    assert.match(declined.output, /cancelled: nothing was created/);
    assert.ok(!existsSync(join(dataDir, '..')));

    const accepted = await onTerminalAnswering(BOOTSTRAP, env, 'y\n');
    assert.equal(accepted.code, 0, accepted.output);
    assert.match(accepted.output, /export COHERA_API_KEY=ck_live_/);
    assert.deepEqual(
      readdirSync(dataDir)
        .filter((f) => !f.startsWith('cohera.sqlite-'))
        .sort(),
      ['cohera.sqlite', 'master.key'],
    );
  });
});

/** Runs `cohera ARGS` on a pseudo-terminal and types `answer` once the question is on the screen. */
function onTerminalAnswering(
  args: string[],
  env: Record<string, string>,
  answer: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (!name.startsWith('COHERA_') && !name.startsWith('NODE_TEST')) clean[name] = value;
    }
    const child = spawn('script', scriptArgs([process.execPath, BIN, ...args]), {
      env: { ...clean, ...PTY_ENV, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let output = '';
    let typed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (!typed && output.includes('[y/N]')) {
        typed = true;
        child.stdin.write(answer);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: output.replaceAll('\r', '') }));
  });
}
