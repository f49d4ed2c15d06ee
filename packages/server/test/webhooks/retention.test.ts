/**
 * Webhook retention, on both engines: messages older than 30 days are deleted with their deliveries (also
 * past one delete batch); younger ones, and their deliveries, stay.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { emitEvent } from '../../src/webhooks/outbox.ts';
import { purgeWebhookMessages, WEBHOOK_RETENTION_MS } from '../../src/webhooks/retention.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

forEachEngine('webhook retention', (_engine, handle) => {
  let t: TestApp;
  let org: TestOrg;

  before(async () => {
    t = await startTestApp(handle(), { env: { COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true' } });
    org = await createOrg(t.app);
    const key = await createKey(t.app, org, ['admin']);
    // Disabled, so the delivery worker leaves the deliveries alone while the test counts them.
    const created = await t.call(key, 'POST', '/v1/webhook-endpoints', {
      url: 'http://127.0.0.1:9/hook',
      events: ['*'],
    });
    assert.equal(created.statusCode, 201, created.body);
    const disabled = await t.call(
      key,
      'PATCH',
      `/v1/webhook-endpoints/${created.json<{ id: string }>().id}`,
      {
        status: 'disabled',
      },
    );
    assert.equal(disabled.statusCode, 200, disabled.body);
  });
  after(() => t.close());

  const count = async (table: 'webhook_messages' | 'webhook_deliveries') => {
    const row = await t.app.deps.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('org_id', '=', org.orgId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

  test('messages past 30 days go with their deliveries; younger ones stay', async () => {
    const db = t.app.deps.db;
    const now = t.app.deps.clock.now();
    const emit = (at: number, endpointId?: string) =>
      db.transaction().execute((trx) =>
        emitEvent(trx, {
          orgId: org.orgId,
          mode: 'live',
          type: 'supplier.created',
          data: { at },
          at,
          ...(endpointId ? { endpointId } : {}),
        }),
      );
    const endpoint = await db
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('org_id', '=', org.orgId)
      .executeTakeFirstOrThrow();
    // 1,005 old messages (past one delete batch), each with a delivery; 3 recent ones.
    for (let i = 0; i < 1_005; i++) await emit(now - WEBHOOK_RETENTION_MS - 60_000 - i, endpoint.id);
    for (let i = 0; i < 3; i++) await emit(now - WEBHOOK_RETENTION_MS + 60_000, endpoint.id);
    assert.equal(await count('webhook_messages'), 1_008);
    assert.equal(await count('webhook_deliveries'), 1_008);

    assert.equal(await purgeWebhookMessages(db, now), 1_005);
    assert.equal(await count('webhook_messages'), 3);
    assert.equal(await count('webhook_deliveries'), 3, 'the deliveries of what was kept are kept');
    assert.equal(await purgeWebhookMessages(db, now), 0, 'a second run finds nothing');
  });
});
