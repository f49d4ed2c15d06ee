/**
 * The PostgreSQL LISTEN connection notices that it is dead (issue 22): behind a partition a listening
 * connection only waits, so without a liveness check revocations would silently stop arriving while this
 * node kept trusting its caches for the long TTL. Here the listener goes through a TCP proxy that freezes
 * (state/postgres-invalidation-bus.ts): frozen, the bus turns unhealthy within its liveness bound and
 * credential-freshness.ts shortens cache trust; thawed, it reconnects, clears caches, is healthy again,
 * and a message published afterwards arrives. The loss is logged once and the return once.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import {
  CREDENTIAL_RECHECK_BUS_DOWN_MS,
  CREDENTIAL_RECHECK_MS,
  CredentialFreshness,
} from '../../src/state/credential-freshness.ts';
import type { Invalidation } from '../../src/state/invalidation-bus.ts';
import { PostgresInvalidationBus } from '../../src/state/postgres-invalidation-bus.ts';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { tempDir } from '../support/config.ts';
import { createPostgresDatabase, postgresReachable } from '../support/engines.ts';
import { FreezableProxy } from '../support/freezable-proxy.ts';

const postgresUp = await postgresReachable();

/** Waits for `check` to hold, polling; fails after a generous deadline (a bound on a hang, not a timing). */
async function eventually(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** A pino logger at debug whose lines are kept, parsed. */
function recordingLogger() {
  const lines: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, sink) };
}

describe('PostgresInvalidationBus behind a connection that freezes', {
  skip: !postgresUp && 'PostgreSQL unreachable',
}, () => {
  let target: { url: string; drop(): Promise<void> };
  let proxy: FreezableProxy;
  let database: Database;
  let listener: PostgresInvalidationBus;
  let publisher: PostgresInvalidationBus;
  const dir = tempDir();
  const recorded = recordingLogger();
  const received: Invalidation[] = [];

  before(async () => {
    target = await createPostgresDatabase();
    proxy = await FreezableProxy.start(target.url);
    // The pool (NOTIFY) goes straight to PostgreSQL: only the listening connection is partitioned.
    database = await openDatabase({ databaseUrl: target.url, dataDir: dir.path, poolSize: 2 });
    listener = new PostgresInvalidationBus(proxy.urlThrough(target.url), database.db, recorded.logger, {
      connectTimeoutMs: 500,
      livenessIntervalMs: 200,
      livenessTimeoutMs: 300,
    });
    publisher = new PostgresInvalidationBus(target.url, database.db, pino({ level: 'silent' }));
    listener.subscribe((message) => received.push(message));
    await Promise.all([listener.ready(), publisher.ready()]);
  });
  after(async () => {
    proxy?.thaw();
    await listener?.close();
    await publisher?.close();
    await proxy?.close();
    await database?.destroy();
    await target?.drop();
    dir.remove();
  });

  test('frozen: unhealthy and short cache trust; thawed: reconnected, caches cleared, messages arrive', async () => {
    const freshness = new CredentialFreshness().follow(listener);
    const changes: boolean[] = [];
    listener.onHealthChange((healthy) => changes.push(healthy));
    assert.equal(listener.healthy, true);
    assert.equal(freshness.recheckMs, CREDENTIAL_RECHECK_MS);

    const before: Invalidation = { kind: 'org', orgId: 'org_00000000000000000000b1' };
    await publisher.publish(before);
    await eventually('a message before the freeze', () =>
      received.some((m) => JSON.stringify(m) === JSON.stringify(before)),
    );

    proxy.freeze();
    // Several liveness rounds (200 ms apart, 300 ms bound) and reconnects that time out at 500 ms.
    await eventually('the frozen listener noticed', () => !listener.healthy);
    assert.equal(freshness.recheckMs, CREDENTIAL_RECHECK_BUS_DOWN_MS);
    // Stays down across a few failed reconnects (each bounded by the connect timeout).
    await eventually('reconnects attempted', () => recorded.lines.filter((l) => l.level === 20).length >= 2);
    assert.equal(listener.healthy, false);

    received.length = 0;
    proxy.thaw();
    await eventually('the listener reconnected', () => listener.healthy);
    assert.equal(freshness.recheckMs, CREDENTIAL_RECHECK_MS);
    assert.ok(
      received.some((m) => m.kind === 'all'),
      'caches cleared on reconnect: a message may have been missed',
    );
    const after: Invalidation = { kind: 'api_key', keyHash: 'c'.repeat(64) };
    await publisher.publish(after);
    await eventually('a message after the thaw', () =>
      received.some((m) => JSON.stringify(m) === JSON.stringify(after)),
    );

    assert.deepEqual(changes, [false, true]);
    // One warn when lost, one info when back; failed reconnects only at debug.
    const loud = recorded.lines.filter((l) => l.level >= 30).map((l) => [l.level, l.listener]);
    assert.deepEqual(loud, [
      [40, 'lost'],
      [30, 'reconnected'],
    ]);
  });
});
