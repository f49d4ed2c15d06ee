/**
 * `GET /v1/events` (DESIGN §5.5), on both engines: the tenant's events of the last 30 days, newest first,
 * filtered by type, paginated; another org's and the other mode's events are not listed. And re-enabling a
 * disabled endpoint replays its failed deliveries (PATCH status=enabled).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Mode, WebhookEventType } from '@cohera/shared';
import { emitEvent } from '../../src/webhooks/outbox.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';

const DAY = 86_400_000;

forEachEngine('webhook events list', (_engine, handle) => {
  let t: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let testKey: string;
  const ids: Record<string, string> = {};

  const emit = async (name: string, orgId: string, mode: Mode, type: WebhookEventType, at: number) => {
    const id = await t.app.deps.db
      .transaction()
      .execute((trx) => emitEvent(trx, { orgId, mode, type, data: { name }, at }));
    ids[name] = String(id);
  };

  before(async () => {
    t = await startTestApp(handle());
    org = await createOrg(t.app);
    other = await createOrg(t.app);
    testKey = await createKey(t.app, org, ['admin'], 'test');
    const now = t.app.deps.clock.now();
    await emit('too-old', org.orgId, 'live', 'supplier.created', now - 31 * DAY);
    await emit('first', org.orgId, 'live', 'supplier.created', now - 3 * DAY);
    await emit('second', org.orgId, 'live', 'product.deleted', now - 2 * DAY);
    await emit('third', org.orgId, 'live', 'supplier.created', now - DAY);
    await emit('test-mode', org.orgId, 'test', 'supplier.created', now - DAY);
    await emit('other-org', other.orgId, 'live', 'supplier.created', now - DAY);
  });
  after(() => t.close());

  const list = async (key: string, query = '') => {
    const response = await t.call(key, 'GET', `/v1/events${query}`);
    assert.equal(response.statusCode, 200, response.body);
    return response.json<{
      data: {
        id: string;
        object: string;
        type: string;
        mode: string;
        data: { name: string };
        created_at: string;
      }[];
      next_cursor: string | null;
    }>();
  };

  test('the last 30 days of this org and mode, newest first, as the events were sent', async () => {
    const page = await list(org.adminKey);
    assert.deepEqual(
      page.data.map((e) => e.data.name),
      ['third', 'second', 'first'],
    );
    const [third] = page.data;
    assert.ok(third);
    assert.equal(third.id, ids.third);
    assert.equal(third.object, 'event');
    assert.equal(third.type, 'supplier.created');
    assert.equal(third.mode, 'live');
    assert.match(third.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(page.next_cursor, null);
    assert.deepEqual(
      (await list(testKey)).data.map((e) => e.data.name),
      ['test-mode'],
    );
    assert.deepEqual(
      (await list(other.adminKey)).data.map((e) => e.data.name),
      ['other-org'],
    );
  });

  test('filter by type, and paginate', async () => {
    assert.deepEqual(
      (await list(org.adminKey, '?type=supplier.created')).data.map((e) => e.data.name),
      ['third', 'first'],
    );
    const one = await list(org.adminKey, '?limit=1');
    assert.deepEqual(
      one.data.map((e) => e.data.name),
      ['third'],
    );
    assert.ok(one.next_cursor);
    const rest = await list(org.adminKey, `?limit=2&cursor=${one.next_cursor}`);
    assert.deepEqual(
      rest.data.map((e) => e.data.name),
      ['second', 'first'],
    );
    assert.equal(rest.next_cursor, null);
  });

  test('an unknown type or a foreign cursor is a 400', async () => {
    assertProblem(
      await t.call(org.adminKey, 'GET', '/v1/events?type=supplier.exploded'),
      400,
      'validation_failed',
    );
    const cursor = Buffer.from('whe_0000000000000000000000').toString('base64url');
    assertProblem(
      await t.call(org.adminKey, 'GET', `/v1/events?cursor=${cursor}`),
      400,
      'validation_failed',
      'query/cursor',
    );
  });

  test('re-enabling a disabled endpoint replays its failed deliveries', async () => {
    const created = await t.call(org.adminKey, 'POST', '/v1/webhook-endpoints', {
      url: 'https://hooks.example.com/x',
      events: ['product.created'],
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id as string;
    const patch = (status: string) =>
      t.call(org.adminKey, 'PATCH', `/v1/webhook-endpoints/${id}`, { status });
    assert.equal((await patch('disabled')).statusCode, 200);
    // Two deliveries that failed before (written as the worker leaves them), made while it was enabled.
    const db = t.app.deps.db;
    await db.updateTable('webhook_endpoints').set({ status: 'enabled' }).where('id', '=', id).execute();
    for (const name of ['failed-1', 'failed-2']) {
      await emit(name, org.orgId, 'live', 'product.created', t.app.deps.clock.now() - DAY);
    }
    await db
      .updateTable('webhook_endpoints')
      .set({ status: 'disabled', disabled_reason: 'failing' })
      .where('id', '=', id)
      .execute();
    await db
      .updateTable('webhook_deliveries')
      .set({ status: 'failed', next_attempt_at: null, attempts: 10 })
      .where('endpoint_id', '=', id)
      .execute();
    const enabled = await patch('enabled');
    assert.equal(enabled.statusCode, 200, enabled.body);
    assert.equal(enabled.json().disabled_reason, null);
    const audit = await db
      .selectFrom('audit_events')
      .select('metadata')
      .where('target_id', '=', id)
      .where('action', '=', 'webhook_endpoint.updated')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(JSON.parse(audit.metadata).requeued, 2);
    const left = await db
      .selectFrom('webhook_deliveries')
      .select(['status', 'attempts'])
      .where('endpoint_id', '=', id)
      .execute();
    // The worker may already be sending them; none is left as it was.
    assert.equal(left.length, 2);
    for (const delivery of left) assert.ok(delivery.attempts < 10, JSON.stringify(delivery));
  });
});
