/**
 * The time-based webhook events (webhooks/scheduler.ts), on both engines, with a ManualClock and explicit
 * scans: certificate.expiring at 30/7/1 days and certificate.expired, api_key.expiring at 7/1 days and
 * api_key.expired, each produced once across repeated scans; an object created inside a threshold, or
 * crossing several while no node scanned, gets the nearest threshold only; expiries older than the lookback
 * are not announced; and on PostgreSQL two apps (two connection pools, as two nodes) scanning the same
 * instant produce every event exactly once. Payloads are the API's objects at the scan's time.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { insertEndpoint } from '../../src/webhooks/repository.ts';
import { EXPIRED_LOOKBACK_MS, WebhookScheduler } from '../../src/webhooks/scheduler.ts';
import { webhookSecretBox } from '../../src/webhooks/secrets.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

const DAY = 86_400_000;
const START = Date.parse('2026-11-22T10:00:00Z');
/** The app's own scheduler scans at start-up and then hourly: the tests drive their own scans. */
const ENV = { COHERA_WEBHOOK_SCHEDULER_INTERVAL_SECONDS: '3600', COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true' };

interface Stored {
  id: string;
  type: string;
  dedupe_key: string | null;
  data: Record<string, unknown>;
}

forEachEngine('webhook expiry scheduler', (engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  let supplierId: string;
  let endpointId: string;
  let scheduler: WebhookScheduler;
  let receiver: Server;

  before(async () => {
    clock = new ManualClock(START);
    t = await startTestApp(handle(), { clock, env: ENV });
    org = await createOrg(t.app);
    // A loopback receiver that accepts everything: the endpoint stays enabled while the clock jumps days.
    receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { row } = await insertEndpoint(
      t.app.deps.db,
      { orgId: org.orgId, mode: 'live' },
      webhookSecretBox(t.config.masterKey),
      {
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        events: ['*'],
        description: 'everything',
      },
      clock.now(),
    );
    endpointId = row.id;
    supplierId = (await post('/v1/suppliers', { name: 'Acme', country: 'DE' })).id as string;
    scheduler = new WebhookScheduler({ db: t.app.deps.db, clock, log: t.app.log, intervalSeconds: 60 });
  });
  after(async () => {
    await t.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
    const response = await t.call(org.adminKey, 'POST', url, body);
    assert.equal(response.statusCode, 201, response.body);
    return response.json();
  }
  async function get(url: string): Promise<Record<string, unknown>> {
    const response = await t.call(org.adminKey, 'GET', url);
    assert.equal(response.statusCode, 200, response.body);
    return response.json();
  }

  /** A certificate expiring at `expiresAt` (ms), created at the clock's current time. */
  async function certificate(expiresAt: number, extra: Record<string, unknown> = {}) {
    return post('/v1/certificates', {
      standard: 'ISO 9001',
      number: `Q-${expiresAt}`,
      issuer: 'TÜV',
      supplier_id: supplierId,
      issued_at: '2020-01-01',
      expires_at: new Date(expiresAt).toISOString(),
      ...extra,
    });
  }

  /** The time-based events about one object, oldest first, each with its delivery to the `*` endpoint. */
  async function eventsAbout(objectId: string): Promise<Stored[]> {
    const rows = await t.app.deps.db
      .selectFrom('webhook_messages')
      .selectAll()
      .where('org_id', '=', org.orgId)
      .where('dedupe_key', 'like', `%:${objectId}:%`)
      .orderBy('id')
      .execute();
    for (const row of rows) {
      const delivery = await t.app.deps.db
        .selectFrom('webhook_deliveries')
        .select('status')
        .where('endpoint_id', '=', endpointId)
        .where('message_id', '=', row.id)
        .executeTakeFirst();
      assert.ok(delivery, `${row.type} has a delivery`);
    }
    return rows.map((row) => ({
      id: row.id,
      type: row.type,
      dedupe_key: row.dedupe_key,
      data: (JSON.parse(row.body) as { data: Record<string, unknown> }).data,
    }));
  }

  /** Scans at `at` (the clock moves there too, so a GET shows the object as the scan saw it). */
  async function scanAt(at: number, on: WebhookScheduler = scheduler) {
    clock.set(at);
    await on.runOnce(at);
  }

  test('certificate: 30, 7 and 1 days, then expired, each once however often the scan runs', async () => {
    clock.set(START);
    const expiresAt = START + 40 * DAY;
    const cert = await certificate(expiresAt);
    const stamp = new Date(expiresAt).toISOString();
    await scanAt(START);
    await scanAt(expiresAt - 30 * DAY - 1000);
    assert.deepEqual(await eventsAbout(cert.id as string), [], 'no threshold crossed yet');

    const expected: [number, string, string][] = [
      [expiresAt - 30 * DAY, 'certificate.expiring', `certificate.expiring:${cert.id}:30d:${stamp}`],
      [expiresAt - 7 * DAY, 'certificate.expiring', `certificate.expiring:${cert.id}:7d:${stamp}`],
      [expiresAt - 1 * DAY, 'certificate.expiring', `certificate.expiring:${cert.id}:1d:${stamp}`],
      [expiresAt, 'certificate.expired', `certificate.expired:${cert.id}:0d:${stamp}`],
    ];
    for (const [index, [at, type, key]] of expected.entries()) {
      await scanAt(at);
      const shown = await get(`/v1/certificates/${cert.id}`);
      await scanAt(at + 60_000);
      await scanAt(at + 3_600_000);
      const events = await eventsAbout(cert.id as string);
      assert.equal(events.length, index + 1, `one event per threshold after ${key}`);
      const last = events.at(-1);
      assert.equal(last?.type, type);
      assert.equal(last?.dedupe_key, key);
      assert.deepEqual(last?.data, shown, 'the payload is the certificate as the API showed it');
    }
    assert.equal((await eventsAbout(cert.id as string)).at(-1)?.data.status, 'expired');
    await scanAt(expiresAt + 2 * DAY);
    assert.equal((await eventsAbout(cert.id as string)).length, 4);
  });

  test('created inside a threshold: only the nearest one crossed (7 days, not 30)', async () => {
    clock.set(START);
    const cert = await certificate(START + 5 * DAY);
    await scanAt(START);
    await scanAt(START + 60_000);
    const events = await eventsAbout(cert.id as string);
    assert.deepEqual(
      events.map((e) => e.dedupe_key?.split(':')[2]),
      ['7d'],
    );
  });

  test('after downtime: the nearest threshold only, no flood of stale ones; old expiries stay quiet', async () => {
    clock.set(START);
    const expiresAt = START + 40 * DAY;
    const cert = await certificate(expiresAt);
    const longAgo = await certificate(START - EXPIRED_LOOKBACK_MS - DAY);
    const recently = await certificate(START - 2 * DAY);
    await scanAt(START);
    assert.deepEqual(await eventsAbout(longAgo.id as string), [], 'beyond the lookback: not announced');
    assert.deepEqual(
      (await eventsAbout(recently.id as string)).map((e) => e.type),
      ['certificate.expired'],
      'expired two days ago, within the lookback: announced',
    );
    assert.deepEqual(await eventsAbout(cert.id as string), []);
    // No scan from creation until 12 hours before expiry: 30 and 7 days were crossed unseen.
    await scanAt(expiresAt - 12 * 3_600_000);
    assert.deepEqual(
      (await eventsAbout(cert.id as string)).map((e) => e.type + e.dedupe_key?.split(':')[2]),
      ['certificate.expiring1d'],
    );
    // Down again across the expiry: only `expired`.
    await scanAt(expiresAt + 3 * DAY);
    assert.deepEqual(
      (await eventsAbout(cert.id as string)).map((e) => e.type),
      ['certificate.expiring', 'certificate.expired'],
    );
    assert.deepEqual(await eventsAbout(longAgo.id as string), []);
    assert.equal((await eventsAbout(recently.id as string)).length, 1);
  });

  test('revoked certificates are not announced; a renewed expiry is announced again', async () => {
    clock.set(START);
    const revoked = await certificate(START + 3 * DAY, { status: 'revoked' });
    const renewed = await certificate(START + 3 * DAY);
    await scanAt(START);
    assert.deepEqual(await eventsAbout(revoked.id as string), []);
    assert.equal((await eventsAbout(renewed.id as string)).length, 1);
    const patched = await t.call(org.adminKey, 'PATCH', `/v1/certificates/${renewed.id}`, {
      expires_at: new Date(START + 20 * DAY).toISOString(),
    });
    assert.equal(patched.statusCode, 200, patched.body);
    await scanAt(START + 60_000);
    const events = await eventsAbout(renewed.id as string);
    assert.deepEqual(
      events.map((e) => e.dedupe_key?.split(':')[2]),
      ['7d', '30d'],
      'the new expiry crossed 30 days: a new event under a new key',
    );
  });

  test('API keys: 7 and 1 days, expired; a revoked key is quiet; a rolled key only expires', async () => {
    clock.set(START);
    const expiresAt = START + 10 * DAY;
    const key = await post('/v1/api-keys', {
      name: 'CI',
      scopes: ['read:suppliers'],
      expires_at: new Date(expiresAt).toISOString(),
    });
    const revoked = await post('/v1/api-keys', {
      name: 'Old',
      scopes: ['read:suppliers'],
      expires_at: new Date(START + 2 * DAY).toISOString(),
    });
    assert.equal((await t.call(org.adminKey, 'POST', `/v1/api-keys/${revoked.id}/revoke`)).statusCode, 200);
    const stamp = new Date(expiresAt).toISOString();
    const expected: [number, string, string][] = [
      [expiresAt - 7 * DAY, 'api_key.expiring', `api_key.expiring:${key.id}:7d:${stamp}`],
      [expiresAt - 1 * DAY, 'api_key.expiring', `api_key.expiring:${key.id}:1d:${stamp}`],
      [expiresAt, 'api_key.expired', `api_key.expired:${key.id}:0d:${stamp}`],
    ];
    await scanAt(START);
    assert.deepEqual(await eventsAbout(key.id as string), []);
    for (const [index, [at, type, dedupeKey]] of expected.entries()) {
      await scanAt(at);
      const shown = await get(`/v1/api-keys/${key.id}`);
      await scanAt(at + 60_000);
      const events = await eventsAbout(key.id as string);
      assert.equal(events.length, index + 1);
      assert.equal(events.at(-1)?.type, type);
      assert.equal(events.at(-1)?.dedupe_key, dedupeKey);
      assert.deepEqual(events.at(-1)?.data, shown, 'the payload is the key as the API showed it');
      assert.equal('key' in (events.at(-1)?.data ?? {}), false);
    }
    assert.deepEqual(await eventsAbout(revoked.id as string), [], 'a revoked key is not announced');

    // A rolled key's life is cut to the grace period: no `expiring` (its owner replaced it), one `expired`.
    clock.set(START + 20 * DAY);
    const rolling = await post('/v1/api-keys', { name: 'Rolling', scopes: ['read:suppliers'] });
    const rolled = await t.call(org.adminKey, 'POST', `/v1/api-keys/${rolling.id}/roll`, {
      grace_period_seconds: 3600,
    });
    assert.equal(rolled.statusCode, 201, rolled.body);
    await scanAt(START + 20 * DAY + 60_000);
    assert.deepEqual(await eventsAbout(rolling.id as string), []);
    await scanAt(START + 20 * DAY + 3_600_000);
    assert.deepEqual(
      (await eventsAbout(rolling.id as string)).map((e) => e.type),
      ['api_key.expired'],
    );
  });

  test('two schedulers scanning the same instants produce every event exactly once', async () => {
    // On PostgreSQL the second scheduler is another app with its own connection pool: two nodes.
    const other = engine === 'postgres' ? await startTestApp(handle(), { clock, env: ENV }) : null;
    try {
      const second = new WebhookScheduler({
        db: (other ?? t).app.deps.db,
        clock,
        log: t.app.log,
        intervalSeconds: 60,
        // Small pages, so each scan walks many of them (keyset pagination on expires_at, id).
        pageSize: 5,
      });
      const first = new WebhookScheduler({
        db: t.app.deps.db,
        clock,
        log: t.app.log,
        intervalSeconds: 60,
        pageSize: 3,
      });
      const base = START + 100 * DAY;
      clock.set(base);
      const ids: string[] = [];
      for (let i = 0; i < 24; i++)
        ids.push((await certificate(base + (i % 4) * 10 * DAY + i * 60_000)).id as string);
      const instants = [base, base + 1, ...[12, 19.5, 25, 29.5, 31].map((days) => base + days * DAY)];
      for (const at of instants) {
        clock.set(at);
        await Promise.all([first.runOnce(at), second.runOnce(at), scheduler.runOnce(at), second.runOnce(at)]);
      }
      const keys: string[] = [];
      for (const id of ids) for (const event of await eventsAbout(id)) keys.push(event.dedupe_key as string);
      assert.equal(new Set(keys).size, keys.length, 'no dedupe key twice');
      // Expiring at base + 0/10/20/30 days (+ i minutes), each certificate crosses at these instants:
      // +0: 1d or expired, then beyond the lookback (1); +10: 30d, expired (2); +20: 30d, 1d, expired (3);
      // +30: 30d, 7d, 1d, expired (4).
      const perOffset = [1, 2, 3, 4];
      const expectedCount = ids.reduce((sum, _id, i) => sum + (perOffset[i % 4] as number), 0);
      assert.equal(keys.length, expectedCount);
    } finally {
      await other?.close();
    }
  });
});
