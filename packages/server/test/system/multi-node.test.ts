/**
 * Revocation reaches every node within a second (DESIGN §5.1, §7): two real `cohera server` processes
 * share one PostgreSQL database and master key. A key is created on node A and used on node B, which
 * caches it (for 30 s, so without the fan-out B would keep accepting it); then A revokes or rolls it and
 * B is polled every 50 ms until it refuses the key. Run once with PostgreSQL LISTEN/NOTIFY as the only
 * transport, once with Redis pub/sub.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { tempDir } from '../support/config.ts';
import {
  createPostgresDatabase,
  POSTGRES_ADMIN_URL,
  postgresReachable,
  REDIS_TEST_URL,
  redisReachable,
} from '../support/engines.ts';

const CLI = fileURLToPath(new URL('../../../cli/bin/cohera.js', import.meta.url));
const REDIS_URL = REDIS_TEST_URL;
const PROPAGATION_BUDGET_MS = 1000;
const POLL_MS = 50;

/** The environment for a node: nothing of ours inherited from the caller, then the given settings. */
function nodeEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('COHERA_')) env[name] = value;
  return { ...env, ...settings };
}

interface Node {
  name: string;
  url: string;
  child: ChildProcess;
  output: string[];
}

/** Starts `cohera server` on a free port (port 0) and resolves with the URL it logs once ready. */
async function startNode(name: string, env: NodeJS.ProcessEnv): Promise<Node> {
  const child = spawn(process.execPath, [CLI, 'server'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output.join('\n')}`)), 30_000);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      output.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'cohera is ready' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => output.push(line));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output.join('\n')}`));
    });
  });
  const url = await ready;
  return { name, url, child, output };
}

async function stopNode(node: Node | undefined): Promise<void> {
  if (!node || node.child.exitCode !== null || node.child.signalCode !== null) return;
  const exited = once(node.child, 'exit');
  node.child.kill('SIGTERM');
  const result = await Promise.race([exited.then(() => 'exited'), sleep(5000).then(() => 'timeout')]);
  if (result === 'timeout') {
    node.child.kill('SIGKILL');
    await exited;
  }
}

interface Reply {
  status: number;
  body: { code?: string; id?: string; key?: string };
}

async function call(node: Node, key: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Reply['body'] };
}

/**
 * Polls `node` with `key` every 50 ms from `since` until it answers 401; returns the code and how long
 * after `since` the first 401 came. Gives up (returning the last status) well after the budget.
 */
async function pollUntilRejected(node: Node, key: string, since: number) {
  for (;;) {
    const res = await call(node, key, 'GET', '/v1/suppliers');
    const elapsed = performance.now() - since;
    if (res.status === 401) return { status: res.status, code: res.body.code, elapsed };
    if (elapsed > 3 * PROPAGATION_BUDGET_MS) return { status: res.status, code: res.body.code, elapsed };
    await sleep(POLL_MS);
  }
}

// Decided before any suite is defined: node:test binds hooks and tests to the suite whose callback is
// running, and an await inside a describe callback on a client library's promise can lose that binding.
const pgUp = await postgresReachable();
const redisUp = await redisReachable();
if (process.env.CI && !pgUp)
  throw new Error(`PostgreSQL is unreachable at ${POSTGRES_ADMIN_URL}; CI must run this`);
if (process.env.CI && !redisUp) throw new Error(`Redis is unreachable at ${REDIS_URL}; CI must run this`);

function fleet(title: string, available: boolean, transport: () => Record<string, string>) {
  describe(title, () => {
    if (!available) {
      test(`${pgUp ? 'Redis' : 'PostgreSQL'} unreachable: skipped`, { skip: true }, () => {});
      return;
    }
    const dirs = [tempDir(), tempDir(), tempDir()];
    let database: { url: string; drop(): Promise<void> } | undefined;
    let a: Node | undefined;
    let b: Node | undefined;
    let adminKey: string;

    before(async () => {
      database = await createPostgresDatabase();
      const shared = {
        COHERA_DATABASE_URL: database.url,
        COHERA_MASTER_KEY: randomBytes(32).toString('base64'),
        COHERA_HOST: '127.0.0.1',
        COHERA_PORT: '0',
        COHERA_LOG_LEVEL: 'info',
        ...transport(),
      };
      const email = `fleet.${randomBytes(4).toString('hex')}@example.com`;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [CLI, 'admin', 'bootstrap', '--org', 'Fleet', '--email', email, '--tier', 'pro', '--json'],
        { env: nodeEnv({ ...shared, COHERA_DATA_DIR: dirs[0]?.path ?? '' }) },
      );
      adminKey = (JSON.parse(stdout) as { api_key: string }).api_key;
      [a, b] = await Promise.all([
        startNode('node A', nodeEnv({ ...shared, COHERA_DATA_DIR: dirs[1]?.path ?? '' })),
        startNode('node B', nodeEnv({ ...shared, COHERA_DATA_DIR: dirs[2]?.path ?? '' })),
      ]);
    });

    after(async () => {
      await Promise.all([stopNode(a), stopNode(b)]);
      await database?.drop();
      for (const dir of dirs) dir.remove();
    });

    const nodes = () => {
      assert.ok(a && b, 'both nodes are running');
      return { a, b };
    };

    async function keyUsedOnB(name: string) {
      const { a, b } = nodes();
      const created = await call(a, adminKey, 'POST', '/v1/api-keys', { name, scopes: ['read:suppliers'] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const key = created.body.key as string;
      // Looked up once, then served from B's cache (whose entries live 30 s without an invalidation).
      for (let i = 0; i < 3; i++) assert.equal((await call(b, key, 'GET', '/v1/suppliers')).status, 200);
      return { id: created.body.id as string, key };
    }

    test('a key revoked on A is refused on B within 1 s', async (t) => {
      const { a, b } = nodes();
      const { id, key } = await keyUsedOnB('revoked across nodes');
      const revoked = await call(a, adminKey, 'POST', `/v1/api-keys/${id}/revoke`);
      const since = performance.now();
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));

      const onB = await pollUntilRejected(b, key, since);
      t.diagnostic(`B refused the revoked key ${Math.round(onB.elapsed)} ms after the revoke response`);
      assert.equal(
        onB.status,
        401,
        `B still accepted the key ${Math.round(onB.elapsed)} ms after the revoke`,
      );
      assert.equal(onB.code, 'revoked_credential');
      assert.ok(
        onB.elapsed <= PROPAGATION_BUDGET_MS,
        `B refused the key after ${Math.round(onB.elapsed)} ms (budget ${PROPAGATION_BUDGET_MS} ms)`,
      );
      assert.equal((await call(a, key, 'GET', '/v1/suppliers')).body.code, 'revoked_credential');
    });

    test('a key rolled on A with no grace is refused on B within 1 s; the new key works on B', async (t) => {
      const { a, b } = nodes();
      const { id, key } = await keyUsedOnB('rolled across nodes');
      const rolled = await call(a, adminKey, 'POST', `/v1/api-keys/${id}/roll`, { grace_period_seconds: 0 });
      const since = performance.now();
      assert.equal(rolled.status, 201, JSON.stringify(rolled.body));

      const onB = await pollUntilRejected(b, key, since);
      t.diagnostic(`B refused the rolled key ${Math.round(onB.elapsed)} ms after the roll response`);
      assert.equal(
        onB.status,
        401,
        `B still accepted the old key ${Math.round(onB.elapsed)} ms after the roll`,
      );
      assert.equal(onB.code, 'expired_credential');
      assert.ok(
        onB.elapsed <= PROPAGATION_BUDGET_MS,
        `B refused the old key after ${Math.round(onB.elapsed)} ms (budget ${PROPAGATION_BUDGET_MS} ms)`,
      );
      const fresh = await call(b, rolled.body.key as string, 'GET', '/health');
      assert.equal(fresh.status, 200);
    });
  });
}

// The two fleets are independent (own database, own Redis prefix): start them side by side.
describe('revocation across nodes', { concurrency: true }, () => {
  fleet('two nodes on PostgreSQL (LISTEN/NOTIFY)', pgUp, () => ({}));
  fleet('two nodes on PostgreSQL and Redis (pub/sub)', pgUp && redisUp, () => ({
    COHERA_REDIS_URL: REDIS_URL,
    COHERA_REDIS_PREFIX: `cohera-test:${randomBytes(6).toString('hex')}:`,
  }));
});
