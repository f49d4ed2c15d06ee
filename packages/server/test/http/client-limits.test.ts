/**
 * The slow-client settings (http/client-limits.ts): defaults, validation naming each variable, the
 * connection cap derived from the open-files limit, and their effect on the listening server.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { ConfigError } from '../../src/config.ts';
import {
  defaultMaxConnections,
  openFilesLimit,
  parseClientLimits,
  timeoutCheckIntervalMs,
} from '../../src/http/client-limits.ts';
import { testConfig } from '../support/config.ts';

const PROC_LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    testConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('client limits', () => {
  test('default to 30 s per request, 10 s for headers, 72 s keep-alive, 120 s idle', () => {
    const limits = testConfig().clientLimits;
    assert.equal(limits.requestTimeoutMs, 30_000);
    assert.equal(limits.headersTimeoutMs, 10_000);
    assert.equal(limits.keepAliveTimeoutMs, 72_000);
    assert.equal(limits.idleTimeoutMs, 120_000);
    assert.equal(limits.maxConnections, defaultMaxConnections());
    assert.ok(Object.isFrozen(limits));
  });

  test('are read in whole seconds and kept in milliseconds', () => {
    const limits = testConfig({
      COHERA_REQUEST_TIMEOUT_SECONDS: '20',
      COHERA_HEADERS_TIMEOUT_SECONDS: '5',
      COHERA_KEEP_ALIVE_TIMEOUT_SECONDS: '65',
      COHERA_IDLE_TIMEOUT_SECONDS: '90',
      COHERA_MAX_CONNECTIONS: '50',
    }).clientLimits;
    assert.deepEqual(
      { ...limits },
      {
        requestTimeoutMs: 20_000,
        headersTimeoutMs: 5000,
        keepAliveTimeoutMs: 65_000,
        idleTimeoutMs: 90_000,
        maxConnections: 50,
      },
    );
  });

  test('a value that is not a whole number in range is a problem naming its variable', () => {
    for (const [name, value] of [
      ['COHERA_REQUEST_TIMEOUT_SECONDS', '0'],
      ['COHERA_HEADERS_TIMEOUT_SECONDS', '1.5'],
      ['COHERA_KEEP_ALIVE_TIMEOUT_SECONDS', '3601'],
      ['COHERA_IDLE_TIMEOUT_SECONDS', 'soon'],
      ['COHERA_MAX_CONNECTIONS', '0'],
    ] as const) {
      const problems = problemsOf({ [name]: value });
      assert.equal(problems.length, 1, `${name}=${value}: ${problems.join('; ')}`);
      assert.match(problems[0] ?? '', new RegExp(`^${name} must be a whole number of \\w+ from`));
      assert.ok(problems[0]?.includes(`"${value}"`));
    }
  });

  test('headers may not take longer than the whole request', () => {
    const problems = problemsOf({
      COHERA_REQUEST_TIMEOUT_SECONDS: '5',
      COHERA_HEADERS_TIMEOUT_SECONDS: '6',
    });
    assert.deepEqual(problems, [
      'COHERA_HEADERS_TIMEOUT_SECONDS (6) must not exceed COHERA_REQUEST_TIMEOUT_SECONDS (5): the headers are part of the request',
    ]);
  });

  test('a cap that leaves the node too few file descriptors is a problem that says what to set', () => {
    const problems: string[] = [];
    const read = (name: string) => (name === 'COHERA_MAX_CONNECTIONS' ? '1000' : undefined);
    parseClientLimits(read, problems, 1024);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^COHERA_MAX_CONNECTIONS \(1000\) would leave fewer than 64 of/);
    assert.match(problems[0] ?? '', /set at most 960 \(unset, it is 768\)/);
    // Unset, the default always fits, however small the limit.
    const none: string[] = [];
    assert.equal(parseClientLimits(() => undefined, none, 40).maxConnections, 1);
    assert.deepEqual(none, []);
  });
});

describe('the default connection cap', () => {
  test('is the open-files limit less a reserve for the node (a quarter of a small limit)', () => {
    assert.equal(defaultMaxConnections(1024), 768);
    assert.equal(defaultMaxConnections(256), 192);
    assert.equal(defaultMaxConnections(65_536), 16_384, 'never more than the ceiling');
    assert.equal(defaultMaxConnections(null), 768, 'an unknown limit counts as 1024');
  });

  test('reads the soft limit from /proc/self/limits', () => {
    assert.equal(openFilesLimit(PROC_LIMITS), 1024);
    assert.equal(openFilesLimit(PROC_LIMITS.replace('1024 ', 'unlimited ')), null);
    assert.equal(openFilesLimit(null), null);
    assert.equal(openFilesLimit('garbage'), null);
  });
});

test('the server enforces them, and reports its connections in the metrics', async () => {
  const app = await buildApp(
    testConfig({
      COHERA_REQUEST_TIMEOUT_SECONDS: '20',
      COHERA_HEADERS_TIMEOUT_SECONDS: '4',
      COHERA_KEEP_ALIVE_TIMEOUT_SECONDS: '65',
      COHERA_IDLE_TIMEOUT_SECONDS: '90',
      COHERA_LOG_LEVEL: 'silent',
    }),
  );
  try {
    const server = app.server;
    assert.equal(server.requestTimeout, 20_000);
    assert.equal(server.headersTimeout, 4000);
    assert.equal(server.keepAliveTimeout, 65_000);
    // The idle bound is ClientConnections' sweep, not Node's per-socket timer (refreshed on every read and write).
    assert.equal(server.timeout, 0);
    assert.equal(app.connections.idleMs, 90_000);
    assert.equal(timeoutCheckIntervalMs(app.deps.config.clientLimits), 400);
    // The cap's state is in the metrics.
    const metrics = await app.metrics.registry.metrics();
    assert.match(metrics, /^cohera_http_connections 0$/m);
    assert.match(metrics, /^cohera_http_connections_shed_total 0$/m);
    assert.match(metrics, /^cohera_http_connections_idle_closed_total 0$/m);
  } finally {
    await app.close();
  }
});
