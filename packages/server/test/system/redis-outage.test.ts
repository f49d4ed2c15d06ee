/**
 * Redis outages on a real fleet (issue 22, items 3, 5 and 7): three `cohera server` processes on one
 * PostgreSQL database and a `redis-server` this test owns, which it freezes (SIGSTOP: the port stays open
 * and nothing answers), thaws, kills (SIGKILL) and restarts on the same port, empty.
 *
 * - Healthy, a burst of three times the limit across the three nodes allows the limit (at most one more
 *   per node) and no node falls back to local limiting.
 * - Frozen: no request waits longer than the Redis command timeout, a revoke and a PATCH answer at once
 *   (their announcements go out in the background, and over PostgreSQL too, so the other nodes still
 *   refuse the revoked key within a second), and `cohera_redis_fallback` turns 1 on every node.
 * - Thawed: `cohera_redis_fallback` is 0 again on every node, by itself.
 * - Killed and restarted: no 5xx meanwhile, and the restart does not hand out a second day budget (the
 *   day windows come back from the usage table).
 *
 * Upper bounds on response times are bounds on a hang (a wait as long as the freeze), with slack for a
 * loaded machine, not performance assertions.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '@cohera/shared';
import pg from 'pg';
import { tempDir } from '../support/config.ts';
import { createPostgresDatabase, POSTGRES_ADMIN_URL, postgresReachable } from '../support/engines.ts';
import { RedisServer } from '../support/redis-server.ts';
import { freePort, runCli, ServerProcess } from '../support/server-process.ts';

const METRICS_TOKEN = randomBytes(16).toString('hex');
const COMMAND_TIMEOUT_MS = 500;
/** The longest a request may take while Redis is frozen: the command timeout, with slack for load. */
const ANSWER_BOUND_MS = COMMAND_TIMEOUT_MS + 2_500;
const NODES = 3;
const BURST_LIMIT = 600;

const pgUp = await postgresReachable();
if (process.env.CI && !pgUp)
  throw new Error(`PostgreSQL is unreachable at ${POSTGRES_ADMIN_URL}; CI must run this`);

interface Answer {
  status: number;
  ms: number;
  body: Record<string, unknown>;
}

async function call(node: ServerProcess, key: string, method: string, path: string, body?: unknown) {
  const started = performance.now();
  const res = await fetch(`${node.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    ms: performance.now() - started,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  } satisfies Answer;
}

async function metric(node: ServerProcess, name: string): Promise<number> {
  const res = await fetch(`${node.baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  const text = await res.text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(match, `no ${name} in /metrics`);
  return Number(match[1]);
}

async function eventually(
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  for (const started = Date.now(); !(await condition()); await sleep(100)) {
    if (Date.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
  }
}

describe('a three-node fleet while its Redis is frozen, thawed, killed and restarted', {
  skip: !pgUp,
}, () => {
  const dirs = Array.from({ length: NODES + 1 }, () => tempDir('cohera-redis-fleet-'));
  let database: { url: string; drop(): Promise<void> } | undefined;
  let redis: RedisServer | undefined;
  let nodes: ServerProcess[] = [];
  let key: string;
  let burstKey: string;
  let burstOrg: string;
  let shared: Record<string, string>;

  const fallbackOnEveryNode = async (value: number) =>
    (await Promise.all(nodes.map((n) => metric(n, 'cohera_redis_fallback')))).every((v) => v === value);

  before(async () => {
    database = await createPostgresDatabase();
    redis = await RedisServer.start(dirs[0]?.path as string);
    shared = {
      COHERA_DATABASE_URL: database.url,
      COHERA_MASTER_KEY: randomBytes(32).toString('base64'),
      COHERA_REDIS_URL: redis.url,
      COHERA_REDIS_PREFIX: `cohera-test:${randomBytes(6).toString('hex')}:`,
      COHERA_REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      COHERA_METRICS_TOKEN: METRICS_TOKEN,
      COHERA_DATA_DIR: dirs[0]?.path as string,
    };
    const bootstrap = async (name: string, tier: string) => {
      const email = `${name}.${randomBytes(4).toString('hex')}@example.com`;
      const out = await runCli(
        ['admin', 'bootstrap', '--org', name, '--email', email, '--tier', tier, '--json'],
        shared,
      );
      assert.equal(out.code, 0, out.stderr);
      return JSON.parse(out.stdout) as { org_id: string; api_key: string };
    };
    key = (await bootstrap('Fleet', 'pro')).api_key;
    const burst = await bootstrap('Burst', 'enterprise');
    burstKey = burst.api_key;
    burstOrg = burst.org_id;
    // The day window as the limit under test: a burst is then never split by a minute boundary.
    const tier = await runCli(
      [
        'admin',
        'set-tier',
        '--org',
        burstOrg,
        '--tier',
        'enterprise',
        '--per-minute',
        '100000',
        '--per-day',
        String(BURST_LIMIT),
      ],
      shared,
    );
    assert.equal(tier.code, 0, tier.stderr);
    nodes = await Promise.all(
      dirs
        .slice(1)
        .map(async (dir) => new ServerProcess({ ...shared, COHERA_DATA_DIR: dir.path }, await freePort())),
    );
    await Promise.all(nodes.map((n) => n.ready()));
    await eventually('every node on Redis', () => fallbackOnEveryNode(0));
  });

  after(async () => {
    redis?.thaw();
    for (const node of nodes) node.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.exit().catch(() => n.kill())));
    await redis?.kill();
    await database?.drop();
    for (const dir of dirs) dir.remove();
  });

  test('healthy: a 3× burst across the nodes allows the limit (±1 per node) and nobody falls back', async (t) => {
    const missing = `/v1/suppliers/${newId('supplier')}`;
    const statuses = new Map<number, number>();
    let next = 0;
    const total = 3 * BURST_LIMIT;
    await Promise.all(
      Array.from({ length: 30 }, async () => {
        for (let i = next++; i < total; i = next++) {
          const { status } = await call(nodes[i % NODES] as ServerProcess, burstKey, 'GET', missing);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    const allowed = statuses.get(404) ?? 0;
    t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.deepEqual([...statuses.keys()].sort(), [404, 429], 'only answers and 429s');
    assert.ok(allowed >= BURST_LIMIT, `${allowed} allowed of a limit of ${BURST_LIMIT}`);
    assert.ok(allowed <= BURST_LIMIT + NODES - 1, `${allowed} allowed of a limit of ${BURST_LIMIT}`);
    assert.ok(await fallbackOnEveryNode(0), 'a burst is not an outage');
  });

  test('frozen: nothing waits past the timeout, committed changes answer at once, the flag turns 1', async () => {
    const [a, b, c] = nodes as [ServerProcess, ServerProcess, ServerProcess];
    const created = await call(a, key, 'POST', '/v1/api-keys', {
      name: 'doomed',
      scopes: ['read:suppliers'],
    });
    assert.equal(created.status, 201);
    const doomed = created.body.key as string;
    assert.equal((await call(b, doomed, 'GET', '/v1/suppliers')).status, 200); // cached on B
    const supplier = await call(a, key, 'POST', '/v1/suppliers', { name: 'Acme', country: 'DE' });
    assert.equal(supplier.status, 201);

    redis?.freeze();
    for (const node of [a, b, c]) {
      for (let i = 0; i < 3; i++) {
        const res = await call(node, key, 'GET', '/v1/suppliers');
        assert.equal(res.status, 200);
        assert.ok(res.ms < ANSWER_BOUND_MS, `a request waited ${Math.round(res.ms)} ms on a frozen Redis`);
      }
    }
    const revoke = await call(a, key, 'POST', `/v1/api-keys/${created.body.id as string}/revoke`);
    assert.equal(revoke.status, 200);
    assert.ok(revoke.ms < ANSWER_BOUND_MS, `the revoke answered after ${Math.round(revoke.ms)} ms`);
    const patch = await call(a, key, 'PATCH', `/v1/suppliers/${supplier.body.id as string}`, {
      name: 'Acme AG',
    });
    assert.equal(patch.status, 200);
    assert.ok(patch.ms < ANSWER_BOUND_MS, `the PATCH answered after ${Math.round(patch.ms)} ms`);

    // PostgreSQL carries the revocation while Redis cannot: B refuses the key within a second.
    const since = performance.now();
    let refused = await call(b, doomed, 'GET', '/v1/suppliers');
    while (refused.status === 200 && performance.now() - since < 3_000) {
      await sleep(50);
      refused = await call(b, doomed, 'GET', '/v1/suppliers');
    }
    assert.equal(refused.status, 401);
    assert.ok(performance.now() - since < 1_500, 'the revocation reached B over PostgreSQL');
    await eventually('every node limits locally', () => fallbackOnEveryNode(1));
    for (const node of nodes)
      assert.equal(await metric(node, 'cohera_invalidation_bus_up'), 1, 'PostgreSQL still delivers');
  });

  test('thawed: the flag clears on every node by itself', async () => {
    redis?.thaw();
    await eventually('every node back on Redis', () => fallbackOnEveryNode(0));
    const res = await call(nodes[2] as ServerProcess, key, 'GET', '/v1/suppliers');
    assert.equal(res.status, 200);
  });

  test('killed and restarted: no 5xx meanwhile, and the day budget is not handed out again', async () => {
    // The burst's requests reach the usage table (flushed every few seconds) before Redis loses them.
    const client = new pg.Client({ connectionString: database?.url });
    await client.connect();
    try {
      await eventually('the burst is in the usage table', async () => {
        const { rows } = await client.query<{ n: string }>(
          'select coalesce(sum(requests - rate_limited), 0) as n from org_usage where org_id = $1',
          [burstOrg],
        );
        return Number(rows[0]?.n) >= BURST_LIMIT;
      });
    } finally {
      await client.end();
    }

    await redis?.kill();
    for (const node of nodes) {
      const res = await call(node, key, 'GET', '/v1/suppliers');
      assert.equal(res.status, 200, 'limited locally, never a 5xx');
    }
    await eventually('every node limits locally', () => fallbackOnEveryNode(1));
    await redis?.restart();
    await eventually('every node back on Redis', () => fallbackOnEveryNode(0));
    for (const node of nodes) {
      const res = await call(node, burstKey, 'GET', '/v1/suppliers');
      assert.equal(res.status, 429, 'the day budget spent before the restart is still spent');
    }
  });
});
