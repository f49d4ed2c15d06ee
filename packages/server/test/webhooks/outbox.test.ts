/**
 * The webhook outbox (DESIGN §5.5 "Durable"), on both engines: an event is written in the transaction of
 * the change, so a rollback leaves nothing and a commit leaves the message with one pending delivery per
 * enabled endpoint of that org and mode that subscribes to the type (or to `*`); a dedupe key makes a second
 * emit write nothing, also from two transactions at once on PostgreSQL (the time-based events of a fleet).
 *
 * These tests use the database alone, with no app: no delivery worker runs, so the rows stay as written.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { isId, type Mode, type WebhookSubscription } from '@cohera/shared';
import { isoAt } from '../../src/clock.ts';
import { bootstrap } from '../../src/orgs/bootstrap.ts';
import type { Database } from '../../src/storage/database.ts';
import { emitEvent } from '../../src/webhooks/outbox.ts';
import { insertEndpoint, updateEndpoint } from '../../src/webhooks/repository.ts';
import { webhookSecretBox } from '../../src/webhooks/secrets.ts';
import { forEachEngine } from '../support/engines.ts';

const AT = Date.parse('2026-12-01T12:00:00.250Z');
const box = webhookSecretBox(randomBytes(32));

forEachEngine('webhook outbox', (engine, handle) => {
  let database: Database;
  let orgA: string;
  let orgB: string;
  const endpoints: Record<string, string> = {};

  async function endpoint(name: string, orgId: string, mode: Mode, events: WebhookSubscription[]) {
    const { row } = await insertEndpoint(
      database.db,
      { orgId, mode },
      box,
      { url: `https://${name}.example.com/hook`, events, description: name },
      AT,
    );
    endpoints[name] = row.id;
    return row.id;
  }

  before(async () => {
    database = await handle().open();
    let n = 0;
    const org = async () =>
      (
        await bootstrap(
          database.db,
          { orgName: `Outbox ${++n}`, email: `o${n}.${Date.now()}@example.com`, tier: 'pro' },
          AT,
        )
      ).org_id;
    orgA = await org();
    orgB = await org();
    await endpoint('subscribed', orgA, 'live', ['supplier.created', 'product.deleted']);
    await endpoint('everything', orgA, 'live', ['*']);
    await endpoint('other-type', orgA, 'live', ['supplier.updated']);
    await endpoint('test-mode', orgA, 'test', ['*']);
    await endpoint('other-org', orgB, 'live', ['*']);
    const disabled = await endpoint('disabled', orgA, 'live', ['*']);
    await updateEndpoint(database.db, { orgId: orgA, mode: 'live' }, disabled, { status: 'disabled' }, AT);
  });
  after(() => database.destroy());

  const messages = (orgId: string) =>
    database.db.selectFrom('webhook_messages').selectAll().where('org_id', '=', orgId).execute();
  const deliveriesOf = (messageId: string) =>
    database.db.selectFrom('webhook_deliveries').selectAll().where('message_id', '=', messageId).execute();
  const nameOf = (endpointId: string) => Object.keys(endpoints).find((k) => endpoints[k] === endpointId);

  test('a rolled-back transaction produces no message and no delivery', async () => {
    const before = (await messages(orgA)).length;
    const deliveries = await database.db.selectFrom('webhook_deliveries').select('message_id').execute();
    await assert.rejects(
      database.db.transaction().execute(async (trx) => {
        const id = await emitEvent(trx, {
          orgId: orgA,
          mode: 'live',
          type: 'supplier.created',
          data: { id: 'sup_rolledback' },
          at: AT,
        });
        assert.ok(id, 'written inside the transaction');
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    assert.equal((await messages(orgA)).length, before);
    assert.equal(
      (await database.db.selectFrom('webhook_deliveries').select('message_id').execute()).length,
      deliveries.length,
    );
  });

  test('a commit produces the message and one pending delivery per subscribed enabled endpoint of that org and mode', async () => {
    const data = { id: 'sup_1', object: 'supplier', name: 'Acme “GmbH”', country: 'DE' };
    const id = await database.db
      .transaction()
      .execute((trx) =>
        emitEvent(trx, { orgId: orgA, mode: 'live', type: 'supplier.created', data, at: AT }),
      );
    assert.ok(id && isId('webhook_message', id), String(id));
    const [message] = (await messages(orgA)).filter((m) => m.id === id);
    assert.ok(message);
    assert.equal(message.type, 'supplier.created');
    assert.equal(message.mode, 'live');
    assert.equal(message.dedupe_key, null);
    assert.equal(message.created_at, isoAt(AT));
    // The exact minified body Standard Webhooks signs: id, type, timestamp, data in that order.
    assert.equal(
      message.body,
      JSON.stringify({ id, type: 'supplier.created', timestamp: '2026-12-01T12:00:00Z', data }),
    );
    const deliveries = await deliveriesOf(id);
    assert.deepEqual(deliveries.map((d) => nameOf(d.endpoint_id)).sort(), ['everything', 'subscribed']);
    for (const delivery of deliveries) {
      assert.equal(delivery.status, 'pending');
      assert.equal(delivery.attempts, 0);
      assert.equal(delivery.org_id, orgA);
      assert.equal(delivery.next_attempt_at, isoAt(AT));
      assert.equal(delivery.lease_until, null);
      assert.equal(delivery.last_attempt_at, null);
    }
  });

  test('a type nobody subscribes to but `*` reaches the `*` endpoint only; the test mode and other orgs get their own', async () => {
    const emit = (orgId: string, mode: Mode, type: 'api_key.created' | 'supplier.updated') =>
      database.db.transaction().execute((trx) => emitEvent(trx, { orgId, mode, type, data: {}, at: AT }));
    const keyEvent = await emit(orgA, 'live', 'api_key.created');
    assert.deepEqual(
      (await deliveriesOf(String(keyEvent))).map((d) => nameOf(d.endpoint_id)),
      ['everything'],
    );
    const updated = await emit(orgA, 'live', 'supplier.updated');
    assert.deepEqual((await deliveriesOf(String(updated))).map((d) => nameOf(d.endpoint_id)).sort(), [
      'everything',
      'other-type',
    ]);
    const testMode = await emit(orgA, 'test', 'supplier.updated');
    assert.deepEqual(
      (await deliveriesOf(String(testMode))).map((d) => nameOf(d.endpoint_id)),
      ['test-mode'],
    );
    const otherOrg = await emit(orgB, 'live', 'supplier.updated');
    assert.deepEqual(
      (await deliveriesOf(String(otherOrg))).map((d) => nameOf(d.endpoint_id)),
      ['other-org'],
    );
  });

  test('endpointId delivers to that endpoint only, whatever it subscribes to', async () => {
    const id = await database.db.transaction().execute((trx) =>
      emitEvent(trx, {
        orgId: orgA,
        mode: 'live',
        type: 'webhook.test',
        data: {},
        at: AT,
        endpointId: endpoints['other-type'],
      }),
    );
    assert.deepEqual(
      (await deliveriesOf(String(id))).map((d) => nameOf(d.endpoint_id)),
      ['other-type'],
    );
    // Never across the tenant: another org's endpoint named by id gets nothing.
    const crossed = await database.db.transaction().execute((trx) =>
      emitEvent(trx, {
        orgId: orgA,
        mode: 'live',
        type: 'webhook.test',
        data: {},
        at: AT,
        endpointId: endpoints['other-org'],
      }),
    );
    assert.deepEqual(await deliveriesOf(String(crossed)), []);
  });

  test('a dedupe key makes a second emit a no-op (per org)', async () => {
    const emit = (orgId: string) =>
      database.db.transaction().execute((trx) =>
        emitEvent(trx, {
          orgId,
          mode: 'live',
          type: 'supplier.created',
          data: {},
          at: AT,
          dedupeKey: 'certificate.expiring:cert_x:7:2026-12-08',
        }),
      );
    const first = await emit(orgA);
    assert.ok(first);
    assert.equal(await emit(orgA), null);
    const rows = (await messages(orgA)).filter((m) => m.dedupe_key !== null);
    assert.equal(rows.length, 1);
    assert.equal((await deliveriesOf(first)).length, 2, 'the first emit’s deliveries, and no more');
    assert.ok(await emit(orgB), 'another org’s key is its own');
  });

  if (engine === 'postgres') {
    test('two transactions emitting one dedupe key at once write one message (PostgreSQL)', async () => {
      const key = `api_key.expiring:key_${Date.now()}:1`;
      const emit = (trx: Parameters<typeof emitEvent>[0]) =>
        emitEvent(trx, {
          orgId: orgA,
          mode: 'live',
          type: 'api_key.expiring',
          data: {},
          at: AT,
          dedupeKey: key,
        });
      let emitted!: () => void;
      const firstEmitted = new Promise<void>((resolve) => {
        emitted = resolve;
      });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const first = database.db.transaction().execute(async (trx) => {
        const id = await emit(trx);
        emitted();
        await gate;
        return id;
      });
      await firstEmitted;
      // The second insert now waits on the first transaction's uncommitted row of the unique index.
      const second = database.db.transaction().execute((trx) => emit(trx));
      await waitForLockWait(database);
      release();
      const results = await Promise.all([first, second]);
      assert.equal(results.filter((r) => r !== null).length, 1, JSON.stringify(results));
      assert.equal(results[1], null, 'the one that waited wrote nothing');
      assert.equal((await messages(orgA)).filter((m) => m.dedupe_key === key).length, 1);
    });
  }
});

/** Until a backend of this (per-suite) database waits for a lock: the second insert blocked on the first. */
async function waitForLockWait(database: Database): Promise<void> {
  const { sql } = await import('kysely');
  for (let i = 0; i < 500; i++) {
    const { rows } = await sql<{ waiting: number }>`
      select count(*)::int as waiting from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'
    `.execute(database.db);
    if ((rows[0]?.waiting ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the second transaction never waited for the first');
}
