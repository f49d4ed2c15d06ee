/**
 * The operator commands (DESIGN §9), run as real processes: `cohera admin bootstrap` prints its secrets
 * once (exactly one JSON object with --json), refuses an existing email, and `cohera admin set-tier`
 * changes limits; bad usage exits 2, bad configuration 78. Works on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/src/app.ts';
import { findOrg, TIER_LIMITS } from '../../server/src/orgs/repository.ts';
import { openDatabase } from '../../server/src/storage/database.ts';
import { logCapture } from '../../server/test/support/app.ts';
import { tempDir, testConfig } from '../../server/test/support/config.ts';
import {
  createPostgresDatabase,
  POSTGRES_ADMIN_URL,
  postgresReachable,
} from '../../server/test/support/engines.ts';
import { freePort } from '../../server/test/support/oauth.ts';
import { runToEnd } from '../../server/test/support/server-process.ts';

const BIN = fileURLToPath(new URL('../bin/cohera.js', import.meta.url));
const API_KEY = /^ck_live_[0-9A-Za-z]{38}$/;
const BOOTSTRAP_KEYS = ['api_key', 'email', 'org_id', 'password', 'user_id'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A port no Cohera server answers on. Bootstrap into a new data dir refuses while one answers on
 * COHERA_PORT (fresh-database.ts), and a developer's own `npm start` may hold the default 8080.
 */
const UNSERVED_PORT = String(await freePort());

/** The parent's environment without any COHERA_* setting (nor the test runner's own marker). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('COHERA_') && !name.startsWith('NODE_TEST')) env[name] = value;
  }
  return { ...env, COHERA_PORT: UNSERVED_PORT, ...extra };
}

function cohera(args: string[], env: Record<string, string>): Promise<Run> {
  return runToEnd(process.execPath, [BIN, ...args], { env: cleanEnv(env) });
}

interface BootstrapOutput {
  org_id: string;
  user_id: string;
  email: string;
  password: string;
  api_key: string;
}

/** Checks the --json contract and returns the object. */
function parseBootstrap(run: Run): BootstrapOutput {
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.stdout.endsWith('\n'), 'one terminated line');
  const lines = run.stdout.slice(0, -1).split('\n');
  assert.equal(lines.length, 1, `exactly one line on stdout, got ${JSON.stringify(run.stdout)}`);
  const parsed: unknown = JSON.parse(lines[0] ?? '');
  assert.ok(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed), 'a JSON object');
  assert.deepEqual(Object.keys(parsed).sort(), BOOTSTRAP_KEYS);
  for (const value of Object.values(parsed)) assert.equal(typeof value, 'string');
  const result = parsed as BootstrapOutput;
  assert.match(result.api_key, API_KEY);
  assert.match(result.org_id, /^org_/);
  assert.match(result.user_id, /^usr_/);
  return result;
}

function assertUsage(run: Run, message: string | RegExp): void {
  assert.equal(run.code, 2, `exit code 2, got ${run.code}: ${run.stderr}`);
  assert.equal(run.stdout, '');
  // The message, then the help of the command it concerns (commander's, with the conventions of §9.1).
  assert.match(run.stderr, /^cohera: /);
  assert.match(run.stderr, /Usage: cohera admin/);
  if (typeof message === 'string') assert.ok(run.stderr.includes(message), run.stderr);
  else assert.match(run.stderr, message);
}

describe('cohera admin (SQLite)', () => {
  const dir = tempDir();
  const env = { COHERA_DATA_DIR: dir.path };
  let app: FastifyInstance;
  let first: BootstrapOutput;

  /** The same data dir, served in-process: what a running server would see. */
  before(async () => {
    first = parseBootstrap(
      await cohera(['admin', 'bootstrap', '--org', 'Acme', '--email', 'A@Example.com', '--json'], env),
    );
    app = await buildApp(testConfig({}, dir.path), { logDestination: logCapture() });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    dir.remove();
  });

  async function counts() {
    const orgs = await app.deps.db.selectFrom('orgs').select('id').execute();
    const users = await app.deps.db.selectFrom('users').select('id').execute();
    return { orgs: orgs.length, users: users.length };
  }

  test('bootstrap --json prints one object whose key and password work', async () => {
    assert.equal(first.email, 'a@example.com', 'the email is stored lower-cased');
    const health = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { authorization: `Bearer ${first.api_key}` },
    });
    assert.equal(health.statusCode, 200, health.body);
    const auth = health.json().auth;
    assert.equal(auth.kind, 'api_key');
    assert.equal(auth.org_id, first.org_id);
    assert.deepEqual(auth.scopes, ['admin']);
    assert.equal(auth.mode, 'live');

    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: first.email, password: first.password },
    });
    assert.equal(login.statusCode, 200, login.body);
    const body = login.json();
    assert.deepEqual(body.user, { id: first.user_id, email: first.email });
    assert.deepEqual(body.org, { id: first.org_id, name: 'Acme', tier: 'free' });
    assert.equal(body.role, 'owner');
  });

  test('bootstrap without --json prints the secrets once, for a person', async () => {
    const run = await cohera(
      ['admin', 'bootstrap', '--org', 'Beta GmbH', '--email', 'b@example.com', '--tier', 'pro'],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const keys = run.stdout.match(/ck_live_[0-9A-Za-z]{38}/g) ?? [];
    assert.equal(keys.length, 1, run.stdout);
    assert.throws(() => JSON.parse(run.stdout), 'not JSON');
    assert.match(run.stdout, /b@example\.com/);
    const orgId = /\b(org_[0-9A-Za-z]+)\b/.exec(run.stdout)?.[1];
    assert.ok(orgId, 'names the org');
    const org = await findOrg(app.deps.db, orgId);
    assert.equal(org?.name, 'Beta GmbH');
    assert.equal(org?.tier, 'pro');
    const health = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { authorization: `Bearer ${keys[0]}` },
    });
    assert.equal(health.json().auth?.org_id, orgId);
  });

  test('bootstrap refuses an email that exists, whatever its case, and creates nothing', async () => {
    const initial = await counts();
    const runs = await Promise.all([
      cohera(['admin', 'bootstrap', '--org', 'Again', '--email', 'a@example.com', '--json'], env),
      cohera(['admin', 'bootstrap', '--org', 'Again', '--email', 'A@EXAMPLE.COM'], env),
    ]);
    // With --json the error is also the one JSON document on stdout (DESIGN §9.1).
    assert.deepEqual(JSON.parse(runs[0]?.stdout ?? ''), {
      error: {
        code: 'email_exists',
        message: 'a user with email a@example.com already exists',
        request_id: null,
      },
    });
    assert.equal(runs[1]?.stdout, '');
    for (const run of runs) {
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /a@example\.com already exists/);
      assert.doesNotMatch(run.stderr, /ck_live_/);
    }
    assert.deepEqual(await counts(), initial);
  });

  test('bad usage exits 2 with the usage text and creates nothing', async () => {
    const initial = await counts();
    const email = 'usage@example.com';
    const [noOrg, badTier, unknownFlag, unknownCommand] = await Promise.all([
      cohera(['admin', 'bootstrap', '--email', email], env),
      cohera(['admin', 'bootstrap', '--org', 'X', '--email', email, '--tier', 'gold'], env),
      cohera(['admin', 'bootstrap', '--org', 'X', '--email', email, '--colour', 'red'], env),
      cohera(['admin', 'delete-everything'], env),
    ]);
    assertUsage(noOrg, '--org is required');
    assertUsage(badTier, '--tier must be one of free, pro, enterprise');
    assertUsage(unknownFlag, '--colour');
    assertUsage(unknownCommand, "unknown command 'delete-everything'");
    assert.deepEqual(await counts(), initial);
  });

  test('an invalid email is refused without a stack trace', async () => {
    const run = await cohera(['admin', 'bootstrap', '--org', 'X', '--email', 'not-an-email'], env);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /--email must be an email address/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });

  test('set-tier sets enterprise limits, refuses custom limits on other tiers, and clears them', async () => {
    const enterprise = await cohera(
      [
        'admin',
        'set-tier',
        '--org',
        first.org_id,
        '--tier',
        'enterprise',
        '--per-minute',
        '1000',
        '--per-day',
        '200000',
        '--json',
      ],
      env,
    );
    assert.equal(enterprise.code, 0, enterprise.stderr);
    assert.deepEqual(JSON.parse(enterprise.stdout), {
      id: first.org_id,
      name: 'Acme',
      tier: 'enterprise',
      rate_limits: { per_minute: 1000, per_day: 200000 },
    });
    const stored = await findOrg(app.deps.db, first.org_id);
    assert.equal(stored?.tier, 'enterprise');
    assert.equal(stored?.rate_limit_per_minute, 1000);
    assert.equal(stored?.rate_limit_per_day, 200000);

    const custom = await cohera(
      ['admin', 'set-tier', '--org', first.org_id, '--tier', 'pro', '--per-minute', '5'],
      env,
    );
    assertUsage(custom, /only the enterprise tier/);
    assert.equal((await findOrg(app.deps.db, first.org_id))?.rate_limit_per_minute, 1000, 'unchanged');

    const pro = await cohera(['admin', 'set-tier', '--org', first.org_id, '--tier', 'pro'], env);
    assert.equal(pro.code, 0, pro.stderr);
    const { perMinute, perDay } = TIER_LIMITS.pro;
    assert.ok(
      pro.stdout.includes(`${first.org_id} (Acme) is now pro: ${perMinute}/min, ${perDay}/day`),
      pro.stdout,
    );
    const cleared = await findOrg(app.deps.db, first.org_id);
    assert.equal(cleared?.tier, 'pro');
    assert.equal(cleared?.rate_limit_per_minute, null);
    assert.equal(cleared?.rate_limit_per_day, null);
  });

  test('rotate-signing-key: a running node signs with the new key, and the old key stays published', async () => {
    // This node shares the data dir's master key with the CLI, as a real deployment does.
    const masterKey = readFileSync(join(dir.path, 'master.key'), 'utf8').trim();
    const node = await buildApp(testConfig({ COHERA_MASTER_KEY: masterKey }, dir.path), {
      logDestination: logCapture(),
    });
    try {
      await node.ready();
      const before = (await node.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
      const run = await cohera(['admin', 'rotate-signing-key', '--json'], env);
      assert.equal(run.code, 0, run.stderr);
      const { kid } = JSON.parse(run.stdout) as { kid: string };
      assert.match(kid, /^osk_/);
      assert.equal(await node.deps.oauth.reloadKeys(), true, 'the node notices the new key');
      const jwks = (await node.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
      const kids = jwks.keys.map((key: { kid: string }) => key.kid);
      assert.equal(kids[0], kid, 'the new key first');
      for (const old of before.keys) assert.ok(kids.includes(old.kid), 'the previous key is still published');
      assert.equal(await node.deps.oauth.reloadKeys(), false, 'nothing more to pick up');
    } finally {
      await node.close();
    }
  });

  test('set-tier on an unknown org fails with a clear message', async () => {
    const missing = 'org_1111111111111111111111';
    const run = await cohera(['admin', 'set-tier', '--org', missing, '--tier', 'pro'], env);
    assert.notEqual(run.code, 0);
    assert.equal(run.stdout, '');
    assert.ok(run.stderr.includes(`no organization with id ${missing}`), run.stderr);
  });
});

describe('cohera admin (PostgreSQL)', async () => {
  if (!(await postgresReachable())) {
    if (process.env.CI)
      throw new Error(`PostgreSQL is unreachable at ${POSTGRES_ADMIN_URL}; CI must run these tests`);
    test('PostgreSQL unreachable: skipped (set COHERA_TEST_POSTGRES_URL)', { skip: true }, () => {});
    return;
  }
  const dir = tempDir();
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  before(async () => {
    database = await createPostgresDatabase();
  });
  after(async () => {
    await database?.drop();
    dir.remove();
  });

  test('bootstrap writes to PostgreSQL, and needs the master key there', async () => {
    const env = { COHERA_DATA_DIR: dir.path, COHERA_DATABASE_URL: database.url };
    const noKey = await cohera(['admin', 'bootstrap', '--org', 'Pg', '--email', 'pg@example.com'], env);
    assert.equal(noKey.code, 78, noKey.stderr);
    assert.match(noKey.stderr, /COHERA_MASTER_KEY is required with PostgreSQL/);

    const result = parseBootstrap(
      await cohera(['admin', 'bootstrap', '--org', 'Pg', '--email', 'pg@example.com', '--json'], {
        ...env,
        COHERA_MASTER_KEY: randomBytes(32).toString('base64'),
      }),
    );
    assert.ok(!existsSync(join(dir.path, 'cohera.sqlite')), 'nothing went to SQLite');
    const opened = await openDatabase({ databaseUrl: database.url, dataDir: dir.path });
    try {
      const org = await findOrg(opened.db, result.org_id);
      assert.equal(org?.name, 'Pg');
      const user = await opened.db
        .selectFrom('users')
        .select(['id', 'password_hash'])
        .where('email', '=', 'pg@example.com')
        .executeTakeFirst();
      assert.equal(user?.id, result.user_id);
      assert.notEqual(user?.password_hash, result.password, 'the password is not stored in the clear');
      const keys = await opened.db
        .selectFrom('api_keys')
        .selectAll()
        .where('org_id', '=', result.org_id)
        .execute();
      assert.equal(keys.length, 1);
      assert.ok(!JSON.stringify(keys).includes(result.api_key), 'the key is not stored in the clear');
    } finally {
      await opened.destroy();
    }
  });
});

describe('cohera admin audit-reseal (SQLite)', () => {
  const dir = tempDir();
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');
  let org: BootstrapOutput;

  before(async () => {
    // The chain is written under one master key (org.created, in the bootstrap's transaction).
    org = parseBootstrap(
      await cohera(['admin', 'bootstrap', '--org', 'Sealed', '--email', 'seal@example.com', '--json'], {
        COHERA_DATA_DIR: dir.path,
        COHERA_MASTER_KEY: oldKey,
      }),
    );
  });
  after(() => dir.remove());

  /** The org's verify answer from a server on the data dir, under the given master key. */
  async function verify(masterKey: string): Promise<{ ok: boolean; reason: string | null }> {
    const app = await buildApp(testConfig({ COHERA_MASTER_KEY: masterKey }, dir.path), {
      logDestination: logCapture(),
    });
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/v1/audit-events/verify',
        headers: { authorization: `Bearer ${org.api_key}` },
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    } finally {
      await app.close();
    }
  }

  test('needs exactly one of --org and --all, and an org that exists', async () => {
    const env = { COHERA_DATA_DIR: dir.path, COHERA_MASTER_KEY: newKey };
    assertUsage(await cohera(['admin', 'audit-reseal'], env), 'give either --org ORG_ID or --all');
    assertUsage(await cohera(['admin', 'audit-reseal', '--org', org.org_id, '--all'], env), /either/);
    const unknown = await cohera(['admin', 'audit-reseal', '--org', 'org_nosuchorg'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no organization with id org_nosuchorg/);
  });

  test('after a master-key change, --drop-unverifiable brings the chain back to verifying', async () => {
    assert.equal((await verify(oldKey)).ok, true);
    assert.equal((await verify(newKey)).reason, 'head_unauthenticated');
    const run = await cohera(['admin', 'audit-reseal', '--all', '--drop-unverifiable', '--json'], {
      COHERA_DATA_DIR: dir.path,
      COHERA_MASTER_KEY: newKey,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      resealed: [
        {
          org_id: org.org_id,
          head: { seq: 1, was_authentic: false },
          purge_marker: { seq: 0, was_authentic: false },
          dropped_events: 1,
        },
      ],
    });
    assert.deepEqual(await verify(newKey), {
      ok: true,
      checked: 1,
      first_bad: null,
      reason: null,
      head_seq: 2,
      digest: null,
    });
  });
});
