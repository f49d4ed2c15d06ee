/**
 * Claiming due deliveries (webhooks/delivery/claims.ts), on both engines, with the database alone: what is
 * claimable at an instant (pending, due, not leased or its lease past, of an enabled endpoint), and that the
 * read answering an idle outbox never hides a claimable delivery behind ones that are not.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import { isoAt } from '../../src/clock.ts';
import { bootstrap } from '../../src/orgs/bootstrap.ts';
import type { Database } from '../../src/storage/database.ts';
import { claimDue } from '../../src/webhooks/delivery/claims.ts';
import { emitEvent } from '../../src/webhooks/outbox.ts';
import { insertEndpoint, updateEndpoint } from '../../src/webhooks/repository.ts';
import { webhookSecretBox } from '../../src/webhooks/secrets.ts';
import { forEachEngine } from '../support/engines.ts';

const AT = Date.parse('2026-12-01T12:00:00.000Z');
const box = webhookSecretBox(randomBytes(32));
const OPTIONS = { leaseMs: 30_000, limit: 10, perEndpoint: 4, busyEndpoints: [] as string[] };

forEachEngine('webhook claims', (_engine, handle) => {
  let database: Database;
  let orgId: string;
  let enabled: string;
  let disabled: string;

  before(async () => {
    database = await handle().open();
    orgId = (
      await bootstrap(
        database.db,
        { orgName: 'Claims', email: `claims.${Date.now()}@example.com`, tier: 'pro' },
        AT,
      )
    ).org_id;
    const endpoint = async (name: string) =>
      (
        await insertEndpoint(
          database.db,
          { orgId, mode: 'live' },
          box,
          { url: `https://${name}.example.com/hook`, events: ['*'], description: name },
          AT,
        )
      ).row.id;
    enabled = await endpoint('enabled');
    disabled = await endpoint('disabled');
    await updateEndpoint(database.db, { orgId, mode: 'live' }, disabled, { status: 'disabled' }, AT);
  });
  after(() => database.destroy());
  beforeEach(() => database.db.deleteFrom('webhook_deliveries').execute());

  /** One message, delivered to both endpoints; returns its id. */
  async function emit(n: number): Promise<string> {
    const id = await database.db.transaction().execute((trx) =>
      emitEvent(trx, {
        orgId,
        mode: 'live',
        type: 'supplier.created',
        data: { id: `sup_${n}` },
        at: AT + n,
      }),
    );
    assert.ok(id);
    return id;
  }

  async function set(messageId: string, endpointId: string, values: Record<string, string | null>) {
    await database.db
      .updateTable('webhook_deliveries')
      .set(values)
      .where('message_id', '=', messageId)
      .where('endpoint_id', '=', endpointId)
      .execute();
  }

  const claimAt = (now: number) => claimDue(database.db, { ...OPTIONS, now });

  test('an empty outbox claims nothing', async () => {
    assert.deepEqual(await claimAt(AT + 60_000), []);
  });

  test('not yet due, leased, delivered or of a disabled endpoint: nothing is claimed', async () => {
    const future = await emit(1);
    await set(future, enabled, { next_attempt_at: isoAt(AT + 120_000) });
    const leased = await emit(2);
    await set(leased, enabled, { lease_until: isoAt(AT + 90_000) });
    const delivered = await emit(3);
    await set(delivered, enabled, { status: 'delivered', next_attempt_at: null });
    // Every message's delivery to the disabled endpoint is pending and due, yet not claimable.
    assert.deepEqual(await claimAt(AT + 60_000), []);
  });

  test('a due delivery behind leased ones is claimed, and a lease that has passed makes one claimable again', async () => {
    const leased = await Promise.all([emit(1), emit(2), emit(3)]);
    for (const id of leased) await set(id, enabled, { lease_until: isoAt(AT + 80_000) });
    const free = await emit(4);
    const now = AT + 60_000;
    const first = await claimAt(now);
    assert.deepEqual(
      first.map((c) => [c.endpoint_id, c.message_id, c.lease_until]),
      [[enabled, free, isoAt(now + OPTIONS.leaseMs)]],
    );
    // All leased now: nothing more until the leases pass.
    assert.deepEqual(await claimAt(now + 1), []);
    // At AT + 80 s the three leases have passed; the first claim's runs to AT + 90 s.
    const later = await claimAt(AT + 80_000);
    assert.deepEqual(first.length + later.length, 4);
    assert.deepEqual(
      later.map((c) => c.message_id).sort(),
      [...leased].sort(),
      'the three whose lease ended at AT + 80 s',
    );
  });
});
