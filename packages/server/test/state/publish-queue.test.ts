/**
 * The pieces that keep a bus outage from blocking or lying, on their own: the publish queue (never makes
 * the caller wait, retries until the message goes out, collapses when it overflows) and the credential
 * freshness bound (30 s while the bus is healthy, 2 s while it is not, applied to entries cached before
 * the bus went down too).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuthContext } from '../../src/auth/context.ts';
import { VerifiedTokenCache } from '../../src/auth/verified-token-cache.ts';
import { createLogger } from '../../src/http/logger.ts';
import {
  CREDENTIAL_RECHECK_BUS_DOWN_MS,
  CREDENTIAL_RECHECK_MS,
  CredentialFreshness,
} from '../../src/state/credential-freshness.ts';
import { BusHealth, decodeInvalidation } from '../../src/state/invalidation-bus.ts';
import { PublishQueue } from '../../src/state/publish-queue.ts';
import { logCapture } from '../support/app.ts';

const log = createLogger('warn', logCapture());

async function until(what: string, condition: () => boolean): Promise<void> {
  for (const started = Date.now(); !condition(); await sleep(10)) {
    if (Date.now() - started > 10_000) assert.fail(`${what}: not within 10 s`);
  }
}

describe('PublishQueue', () => {
  test('enqueue returns at once; a failing transport is retried until the messages go out, in order', async () => {
    const sent: string[] = [];
    let failuresLeft = 3;
    const queue = new PublishQueue({
      transport: 'test',
      log,
      timeoutMs: 50,
      send: async (payload) => {
        if (failuresLeft-- > 0) throw new Error('down');
        sent.push(payload);
      },
    });
    const result: unknown = queue.enqueue({ kind: 'org', orgId: 'org_1' });
    assert.equal(result, undefined, 'nothing to wait for');
    queue.enqueue({ kind: 'org', orgId: 'org_2' });
    await until('sent', () => sent.length === 2);
    assert.deepEqual(
      sent.map((p) => decodeInvalidation(p)),
      [
        { kind: 'org', orgId: 'org_1' },
        { kind: 'org', orgId: 'org_2' },
      ],
    );
    assert.equal(queue.failing, false);
    assert.equal(queue.depth, 0);
    queue.close();
  });

  test('an attempt that never settles counts as failed after the timeout and is retried', async () => {
    let attempts = 0;
    const sent: string[] = [];
    const queue = new PublishQueue({
      transport: 'test',
      log,
      timeoutMs: 30,
      send: (payload) => {
        attempts++;
        if (attempts === 1) return new Promise(() => {}); // a frozen server: no answer, ever
        sent.push(payload);
        return Promise.resolve();
      },
    });
    queue.enqueue({ kind: 'all' });
    await until('sent on the retry', () => sent.length === 1);
    assert.equal(attempts, 2);
    queue.close();
  });

  test('past its bound the queue collapses to one "clear every cache" message', async () => {
    const sent: string[] = [];
    let open = false;
    const queue = new PublishQueue({
      transport: 'test',
      log,
      timeoutMs: 20,
      maxPending: 3,
      send: async (payload) => {
        if (!open) throw new Error('down');
        sent.push(payload);
      },
    });
    for (let i = 0; i < 5; i++) queue.enqueue({ kind: 'resource', id: `sup_${i}` });
    assert.ok(queue.depth <= 3);
    open = true;
    await until('drained', () => queue.depth === 0);
    assert.ok(
      sent.some((p) => decodeInvalidation(p).kind === 'all'),
      'the dropped evictions are covered by one that subsumes them',
    );
    queue.close();
  });

  test('flush waits for the queue within its bound; close stops retrying', async () => {
    const queue = new PublishQueue({
      transport: 'test',
      log,
      timeoutMs: 20,
      send: async () => {
        throw new Error('down for good');
      },
    });
    queue.enqueue({ kind: 'all' });
    assert.equal(await queue.flush(100), false, 'not delivered, and flush did not hang');
    queue.close();
    assert.equal(await queue.flush(100), false);
  });
});

describe('CredentialFreshness', () => {
  const context = { orgId: 'org_1' } as AuthContext; // the cache stores it, never reads it

  test('follows the bus: 30 s while healthy, 2 s while down, for entries cached before the outage too', () => {
    const health = new BusHealth();
    const bus = {
      get healthy() {
        return health.healthy;
      },
      onHealthChange: (h: (v: boolean) => void) => health.onChange(h),
    };
    const freshness = new CredentialFreshness().follow(bus);
    const cache = new VerifiedTokenCache(10, freshness);
    const t0 = 1_000_000;
    cache.remember('a', { context, validUntil: t0 + 3_600_000, checkedAt: t0 }, cache.generation);
    assert.equal(
      cache.lookup('a', t0 + CREDENTIAL_RECHECK_BUS_DOWN_MS + 500),
      context,
      'healthy: trusted 30 s',
    );

    health.set(false);
    assert.equal(freshness.recheckMs, CREDENTIAL_RECHECK_BUS_DOWN_MS);
    assert.equal(
      cache.lookup('a', t0 + CREDENTIAL_RECHECK_BUS_DOWN_MS + 500),
      undefined,
      'down: re-read after 2 s',
    );

    health.set(true);
    assert.equal(freshness.recheckMs, CREDENTIAL_RECHECK_MS);
  });
});
