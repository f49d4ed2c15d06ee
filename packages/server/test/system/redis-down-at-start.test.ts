/**
 * A node started while its Redis is down (a restart or a scale-out during a Redis incident) serves anyway,
 * as a node whose Redis went down later does (issue 22): it is ready within the bus's bounded wait, limits
 * requests locally, logs the outage once rather than at every reconnect attempt, and goes back to Redis
 * (both the limiter and the invalidation bus) when Redis comes up. A real server process and a real
 * redis-server of the test's own, on free ports.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '@cohera/shared';
import { tempDir } from '../support/config.ts';
import { RedisServer } from '../support/redis-server.ts';
import { freePort, runCli, ServerProcess } from '../support/server-process.ts';

const METRICS_TOKEN = randomBytes(16).toString('hex');

async function metric(node: ServerProcess, name: string): Promise<number> {
  const res = await fetch(`${node.baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(await res.text());
  assert.ok(match, `no ${name} in /metrics`);
  return Number(match[1]);
}

async function eventually(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  for (const started = Date.now(); !(await condition()); await sleep(100)) {
    if (Date.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
  }
}

describe('a node started while its Redis is down', () => {
  const dir = tempDir('cohera-redis-down-');
  const redisDir = tempDir('cohera-redis-down-redis-');
  let redis: RedisServer;
  let node: ServerProcess;
  let key: string;

  before(async () => {
    // Started once for a port of its own, then stopped: the node's COHERA_REDIS_URL points at nothing.
    redis = await RedisServer.start(redisDir.path);
    await redis.kill();
    const env = {
      COHERA_DATA_DIR: dir.path,
      COHERA_MASTER_KEY: randomBytes(32).toString('base64'),
      COHERA_REDIS_URL: redis.url,
      COHERA_REDIS_PREFIX: `cohera-test:${randomBytes(6).toString('hex')}:`,
      COHERA_REDIS_COMMAND_TIMEOUT_MS: '500',
      COHERA_METRICS_TOKEN: METRICS_TOKEN,
    };
    const boot = await runCli(
      ['admin', 'bootstrap', '--org', 'Down', '--email', 'down@example.com', '--json'],
      env,
    );
    assert.equal(boot.code, 0, boot.stderr);
    key = (JSON.parse(boot.stdout) as { api_key: string }).api_key;
    node = new ServerProcess(env, await freePort());
  });

  after(async () => {
    node?.child.kill('SIGTERM');
    await node?.exit().catch(() => node.kill());
    await redis?.kill();
    dir.remove();
    redisDir.remove();
  });

  test('it becomes ready and serves, limiting locally', async () => {
    await node.ready();
    const res = await fetch(`${node.baseUrl}/v1/suppliers/${newId('supplier')}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(res.status, 404);
    assert.ok(res.headers.get('x-ratelimit-remaining'), 'rate-limited, locally');
    assert.equal(await metric(node, 'cohera_redis_fallback'), 1);
    assert.ok(
      node.lines.some((line) => /invalidation bus not connected yet: serving anyway/.test(String(line.msg))),
      node.stdout,
    );
  });

  test('the outage is logged once, not at every reconnect attempt', async () => {
    // ioredis retries with a growing backoff: several attempts happen in these seconds.
    await sleep(3_000);
    const errors = node.lines.filter((line) => line.msg === 'redis invalidation bus error');
    assert.equal(errors.length, 1, node.stdout);
    assert.equal(
      node.lines.filter((line) => /redis invalidation bus unhealthy/.test(String(line.msg))).length,
      1,
    );
  });

  test('when Redis comes up, the limiter and the bus go back to it by themselves', async () => {
    await redis.restart();
    await eventually('the limiter on Redis', async () => (await metric(node, 'cohera_redis_fallback')) === 0);
    await eventually('the bus healthy', () =>
      node.lines.some((line) => /redis invalidation bus healthy again/.test(String(line.msg))),
    );
    const res = await fetch(`${node.baseUrl}/v1/suppliers/${newId('supplier')}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(res.status, 404);
    assert.equal(
      node.lines.filter((line) => Number(line.level) >= 50).length,
      0,
      `no error line: ${node.stdout}`,
    );
  });
});
