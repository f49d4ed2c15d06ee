/**
 * Several nodes deliver from one database (DESIGN §5.5 "Every node delivers"): three workers, each on its
 * own connection pool, claim from the same queue at once; every delivery reaches its receiver exactly once
 * (counted by webhook-id per endpoint), because a claim is one UPDATE over rows taken FOR UPDATE SKIP LOCKED
 * on PostgreSQL (and by SQLite's single writer).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../src/storage/database.ts';
import { WebhookDispatcher } from '../../src/webhooks/delivery/dispatcher.ts';
import { emitEvent } from '../../src/webhooks/outbox.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { type Receiver, startReceiver } from '../support/webhook-receiver.ts';

const ENDPOINTS = 3;
const MESSAGES = 40;

forEachEngine('webhook delivery by several nodes', (_engine, handle) => {
  let t: TestApp;
  let org: TestOrg;
  const pools: Database[] = [];
  const workers: WebhookDispatcher[] = [];
  const receivers: Receiver[] = [];
  before(async () => {
    t = await startTestApp(handle(), { env: { COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true' } });
    org = await createOrg(t.app);
    for (let i = 0; i < 2; i++) {
      const pool = await handle().open();
      pools.push(pool);
      workers.push(
        new WebhookDispatcher({
          db: pool.db,
          clock: t.app.deps.clock,
          config: t.config,
          log: t.app.log,
          audit: t.app.deps.audit,
          pollIntervalMs: 5,
        }),
      );
    }
  });
  after(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await t.close();
    await Promise.all(pools.map((pool) => pool.destroy()));
    await Promise.all(receivers.map((receiver) => receiver.close()));
  });

  test('every attempt is sent once, whichever node claims it', async () => {
    const endpointIds: string[] = [];
    for (let i = 0; i < ENDPOINTS; i++) {
      // A few milliseconds per answer, so attempts overlap and the nodes race for the queue.
      const receiver = await startReceiver((_r, res) => {
        setTimeout(() => res.writeHead(200).end(), Math.floor(Math.random() * 8));
      });
      receivers.push(receiver);
      const response = await t.call(org.adminKey, 'POST', '/v1/webhook-endpoints', {
        url: receiver.url,
        events: ['webhook.test'],
      });
      assert.equal(response.statusCode, 201, response.body);
      endpointIds.push(response.json<{ id: string }>().id);
    }
    for (const worker of workers) worker.start();
    for (let n = 0; n < MESSAGES; n++) {
      await t.app.deps.db.transaction().execute(async (trx) => {
        for (const endpointId of endpointIds) {
          await emitEvent(trx, {
            orgId: org.orgId,
            mode: 'live',
            type: 'webhook.test',
            data: { n },
            at: t.app.deps.clock.now(),
            endpointId,
          });
        }
      });
      for (const worker of [t.app.deps.webhooks, ...workers]) worker.wake();
    }

    const deadline = Date.now() + 60_000;
    for (;;) {
      const left = await t.app.deps.db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('status', '!=', 'succeeded')
        .executeTakeFirstOrThrow();
      const busy = [t.app.deps.webhooks, ...workers].some((worker) => worker.inFlight > 0);
      if (Number(left.n) === 0 && !busy) break;
      assert.ok(Date.now() < deadline, `${left.n} deliveries not done`);
      await sleep(25);
    }

    for (const receiver of receivers) {
      const ids = receiver.receipts.map((receipt) => String(receipt.headers['webhook-id']));
      assert.equal(new Set(ids).size, MESSAGES, 'every message arrived');
      assert.equal(ids.length, MESSAGES, 'and none twice');
    }
    const attempts = await t.app.deps.db
      .selectFrom('webhook_deliveries')
      .select('attempts')
      .distinct()
      .execute();
    assert.deepEqual(
      attempts.map((row) => row.attempts),
      [1],
    );
  });
});
