/**
 * The usage recorder's request path (recordApiKeyResponse): one call per response to an API-key request
 * counts exactly what the separate per-kind calls count (the key's day, the org's day in its mode, the key's
 * last use, the scope used), including across flushes, a failed flush and a UTC day boundary, where the
 * counters it keeps per key must be found afresh. Real SQLite through a test app.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import type { AuthContext } from '../../src/auth/context.ts';
import { ManualClock } from '../../src/clock.ts';
import { UsageRecorder } from '../../src/usage/recorder.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

forEachEngine('usage recorder, request path', (_engine, handle) => {
  let t: TestApp;
  let org: TestOrg;
  let clock: ManualClock;
  let context: AuthContext;
  before(async () => {
    clock = new ManualClock(Date.parse('2026-11-22T23:59:58Z'));
    t = await startTestApp(handle(), { clock, usageFlushMs: 3_600_000 });
    org = await createOrg(t.app);
    const key = await createKey(t.app, org, ['read:suppliers']);
    context = await t.app.deps.apiKeys.verify(key);
  });
  after(() => t.close());

  const silent = pino({ level: 'silent' });
  const keyId = () => context.principal.id;

  /** The key's stored daily rows and its org's, for this test's key only. */
  async function stored() {
    const keyDays = await t.app.deps.db
      .selectFrom('api_key_usage')
      .select(['date', 'requests', 'errors', 'rate_limited'])
      .where('key_id', '=', keyId())
      .orderBy('date')
      .execute();
    const scopes = await t.app.deps.db
      .selectFrom('api_key_scope_usage')
      .select(['scope', 'last_used_at'])
      .where('key_id', '=', keyId())
      .execute();
    const key = await t.app.deps.db
      .selectFrom('api_keys')
      .select(['last_used_at', 'last_used_ip'])
      .where('id', '=', keyId())
      .executeTakeFirstOrThrow();
    return {
      keyDays: keyDays.map((d) => ({ ...d })),
      scopes: scopes.map((s) => ({ ...s })),
      key: { ...key },
    };
  }

  test('counts what record + recordOrg + recordScopeUse count, across flushes and a day boundary', async () => {
    const recorder = new UsageRecorder(t.app.deps.db, clock, silent);
    const now = () => clock.now();
    recorder.recordApiKeyResponse(context, 200, '192.0.2.1', 'read:suppliers', now());
    recorder.recordApiKeyResponse(context, 404, '192.0.2.1', null, now());
    recorder.recordApiKeyResponse(context, 429, '192.0.2.2', null, now());
    assert.deepEqual(recorder.pending(keyId()), [
      { date: '2026-11-22', requests: 3, errors: 1, rate_limited: 1 },
    ]);
    assert.deepEqual(recorder.pendingOrg(org.orgId, 'live'), [
      { date: '2026-11-22', requests: 3, errors: 1, rate_limited: 1 },
    ]);
    assert.equal(recorder.lastUseOf(keyId(), null), '2026-11-22T23:59:58.000Z');

    await recorder.flush();
    assert.deepEqual(recorder.pending(keyId()), [], 'a flush takes everything counted');
    // After the flush the recorder counts into new maps: the key's counters must be found afresh.
    clock.advance(1_000);
    recorder.recordApiKeyResponse(context, 200, '192.0.2.3', 'read:suppliers', now());
    assert.deepEqual(recorder.pending(keyId()), [
      { date: '2026-11-22', requests: 1, errors: 0, rate_limited: 0 },
    ]);
    // Past midnight UTC: a new day's counters.
    clock.advance(2_000);
    recorder.recordApiKeyResponse(context, 500, '192.0.2.4', null, now());
    assert.deepEqual(recorder.pending(keyId()), [
      { date: '2026-11-22', requests: 1, errors: 0, rate_limited: 0 },
      { date: '2026-11-23', requests: 1, errors: 1, rate_limited: 0 },
    ]);
    await recorder.flush();
    const { keyDays, scopes, key } = await stored();
    assert.deepEqual(keyDays, [
      { date: '2026-11-22', requests: 4, errors: 1, rate_limited: 1 },
      { date: '2026-11-23', requests: 1, errors: 1, rate_limited: 0 },
    ]);
    assert.deepEqual(scopes, [{ scope: 'read:suppliers', last_used_at: '2026-11-22T23:59:59.000Z' }]);
    assert.deepEqual(key, { last_used_at: '2026-11-23T00:00:01.000Z', last_used_ip: '192.0.2.4' });
  });

  test('a failed flush puts its counts back, and later responses add to them', async () => {
    const recorder = new UsageRecorder(t.app.deps.db, clock, silent);
    const before = (await stored()).keyDays;
    recorder.recordApiKeyResponse(context, 200, '192.0.2.5', null, clock.now());
    const broken = new UsageRecorder(t.app.deps.db, clock, silent);
    broken.recordApiKeyResponse(context, 200, '192.0.2.6', null, clock.now());
    // Its flush fails (the table is renamed away meanwhile): what it took is put back.
    await t.app.deps.db.schema.alterTable('api_key_usage').renameTo('api_key_usage_away').execute();
    try {
      await assert.rejects(broken.flush());
    } finally {
      await t.app.deps.db.schema.alterTable('api_key_usage_away').renameTo('api_key_usage').execute();
    }
    broken.recordApiKeyResponse(context, 403, '192.0.2.7', null, clock.now());
    assert.deepEqual(broken.pending(keyId()), [
      { date: '2026-11-23', requests: 2, errors: 1, rate_limited: 0 },
    ]);
    assert.equal(broken.lastUseOf(keyId(), null), new Date(clock.now()).toISOString());
    await broken.flush();
    await recorder.flush();
    const after = (await stored()).keyDays;
    const day = (days: typeof after) => days.find((d) => d.date === '2026-11-23')?.requests ?? 0;
    assert.equal(day(after) - day(before), 3);
  });
});
