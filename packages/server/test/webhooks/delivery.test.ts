/**
 * Webhook delivery end to end (DESIGN §5.5), on both engines, to real receivers on 127.0.0.1
 * (COHERA_WEBHOOKS_ALLOW_PRIVATE=true): the Standard Webhooks wire format verified by the `standardwebhooks`
 * and `svix` libraries and by plain node:crypto; retries on the schedule (`1,1,1`, moved by a ManualClock,
 * never slept); 410 disables at once and tells the org's other endpoints; a 3xx is a failure and is not
 * followed; Retry-After; a secret rotation signs twice then once; the delivery log, retry and recover;
 * automatic disabling after the failing hours; graceful shutdown.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { ManualClock } from '../../src/clock.ts';
import { WebhookDispatcher } from '../../src/webhooks/delivery/dispatcher.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';
import { type Receipt, type Receiver, startReceiver } from '../support/webhook-receiver.ts';

interface Delivery {
  id: string;
  event_type: string;
  status: string;
  attempts: number;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  last_response_status: number | null;
  last_response_body: string | null;
  last_error: string | null;
}

const headersOf = (receipt: Receipt): Record<string, string> =>
  Object.fromEntries(Object.entries(receipt.headers).map(([name, value]) => [name, String(value)]));

/** Standard Webhooks §"Verifying": HMAC-SHA256 of `id.timestamp.body` under the decoded secret. */
function verifiesWithNodeCrypto(secret: string, receipt: Receipt): boolean {
  const headers = headersOf(receipt);
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${receipt.body}`)
    .digest();
  return (headers['webhook-signature'] ?? '').split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

forEachEngine('webhook delivery', (_engine, handle) => {
  // Real time at the start: the verifier libraries refuse timestamps more than 5 minutes from their clock.
  const clock = new ManualClock(Date.now());
  let t: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  const receivers: Receiver[] = [];
  before(async () => {
    t = await startTestApp(handle(), {
      clock,
      env: {
        COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true',
        COHERA_WEBHOOK_RETRY_SCHEDULE: '1,1,1',
        COHERA_WEBHOOK_TIMEOUT_SECONDS: '5',
        COHERA_METRICS_TOKEN: METRICS_TOKEN,
      },
    });
    org = await createOrg(t.app);
    other = await createOrg(t.app);
  });
  after(async () => {
    await t.close();
    await Promise.all(receivers.map((receiver) => receiver.close()));
  });

  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const started = await startReceiver(...args);
    receivers.push(started);
    return started;
  };
  const createEndpoint = async (url: string, events: string[] = ['*'], key = org.adminKey) => {
    const response = await t.call(key, 'POST', '/v1/webhook-endpoints', { url, events });
    assert.equal(response.statusCode, 201, response.body);
    return response.json<{ id: string; secret: string }>();
  };
  const sendTest = async (endpointId: string) => {
    const response = await t.call(org.adminKey, 'POST', `/v1/webhook-endpoints/${endpointId}/test`);
    assert.equal(response.statusCode, 202, response.body);
    return response.json<{ message_id: string }>().message_id;
  };
  const deliveries = async (endpointId: string) => {
    const response = await t.call(org.adminKey, 'GET', `/v1/webhook-endpoints/${endpointId}/deliveries`);
    assert.equal(response.statusCode, 200, response.body);
    return response.json<{ data: Delivery[] }>().data;
  };
  const delivery = async (endpointId: string, messageId: string) =>
    (await deliveries(endpointId)).find((row) => row.id === messageId);
  const deliveryRow = (endpointId: string, messageId: string) =>
    t.app.deps.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('endpoint_id', '=', endpointId)
      .where('message_id', '=', messageId)
      .executeTakeFirstOrThrow();
  const waitForAttempts = (endpointId: string, messageId: string, attempts: number) =>
    eventually(
      () => deliveryRow(endpointId, messageId),
      (row) => row.attempts >= attempts && row.lease_until === null,
      `${attempts} recorded attempts`,
    );
  const endpointRow = (id: string) =>
    t.app.deps.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  /** Moves time to the next due attempt and wakes the worker (instead of sleeping through the schedule). */
  const nextRetry = () => {
    clock.advance(1_200);
    t.app.deps.webhooks.wake();
  };

  test('a delivery is the stored body, Standard Webhooks headers, verifiable by three verifiers', async () => {
    const hook = await receiver();
    const endpoint = await createEndpoint(hook.url);
    const messageId = await sendTest(endpoint.id);
    const [receipt] = await hook.waitFor(1);
    assert.ok(receipt);
    const stored = await t.app.deps.db
      .selectFrom('webhook_messages')
      .select('body')
      .where('id', '=', messageId)
      .executeTakeFirstOrThrow();
    assert.equal(receipt.body, stored.body);
    const body = JSON.parse(receipt.body) as { id: string; type: string; timestamp: string; data: unknown };
    assert.deepEqual(Object.keys(body), ['id', 'type', 'timestamp', 'data']);
    assert.equal(body.id, messageId);
    assert.equal(body.type, 'webhook.test');
    const headers = headersOf(receipt);
    assert.equal(headers['webhook-id'], messageId);
    assert.equal(headers['webhook-timestamp'], String(Math.floor(clock.now() / 1000)));
    assert.match(headers['webhook-signature'] ?? '', /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.equal(headers['content-type'], 'application/json');
    assert.match(headers['user-agent'] ?? '', /^Cohera-Webhooks\/\d+\.\d+\.\d+$/);

    assert.deepEqual(new StandardWebhook(endpoint.secret).verify(receipt.body, headers), body);
    assert.deepEqual(new SvixWebhook(endpoint.secret).verify(receipt.body, headers), body);
    assert.ok(verifiesWithNodeCrypto(endpoint.secret, receipt));
    // A body altered by one byte no longer verifies.
    assert.throws(() => new StandardWebhook(endpoint.secret).verify(`${receipt.body} `, headers));

    const logged = await eventually(
      () => delivery(endpoint.id, messageId),
      (row) => row?.status === 'succeeded',
      'a succeeded delivery',
    );
    assert.equal(logged?.attempts, 1);
    assert.equal(logged?.last_response_status, 204);
    assert.equal(logged?.next_attempt_at, null);
    assert.equal(logged?.event_type, 'webhook.test');
  });

  test('a failing delivery is retried on the schedule with the same webhook-id, then failed', async () => {
    const hook = await receiver((_r, res) => res.writeHead(500).end('x'.repeat(5000)));
    const endpoint = await createEndpoint(hook.url);
    const messageId = await sendTest(endpoint.id);
    for (let attempt = 1; attempt <= 4; attempt++) {
      const row = await waitForAttempts(endpoint.id, messageId, attempt);
      assert.equal(row.last_response_status, 500);
      // The first 1 KB of the answer, no more.
      assert.equal(row.last_response_body, 'x'.repeat(1024));
      assert.equal(row.last_error, 'HTTP 500');
      if (attempt < 4) {
        assert.equal(row.status, 'pending');
        // The schedule's 1 s, ±10 % jitter.
        const delay = Date.parse(row.next_attempt_at ?? '') - Date.parse(row.last_attempt_at ?? '');
        assert.ok(delay >= 900 && delay <= 1100, `delay ${delay}`);
        nextRetry();
      } else {
        assert.equal(row.status, 'failed');
        assert.equal(row.next_attempt_at, null);
      }
    }
    assert.equal(hook.receipts.length, 4);
    assert.deepEqual(new Set(hook.receipts.map((r) => r.headers['webhook-id'])), new Set([messageId]));
    assert.notEqual((await endpointRow(endpoint.id)).failing_since, null);
  });

  test('410 Gone disables the endpoint at once, with an event to the others and an audit entry', async () => {
    const gone = await receiver((_r, res) => res.writeHead(410).end());
    const watcher = await receiver();
    const endpoint = await createEndpoint(gone.url);
    const watching = await createEndpoint(watcher.url, ['webhook_endpoint.disabled']);
    const messageId = await sendTest(endpoint.id);
    const row = await waitForAttempts(endpoint.id, messageId, 1);
    assert.equal(row.status, 'failed');
    const disabled = await endpointRow(endpoint.id);
    assert.equal(disabled.status, 'disabled');
    assert.equal(disabled.disabled_reason, 'gone');

    const [notice] = await watcher.waitFor(1);
    const event = JSON.parse(notice?.body ?? '') as { type: string; data: Record<string, unknown> };
    assert.equal(event.type, 'webhook_endpoint.disabled');
    assert.equal(event.data.id, endpoint.id);
    assert.equal(event.data.disabled_reason, 'gone');
    assert.equal(event.data.secret, undefined);
    assert.ok(new StandardWebhook(watching.secret).verify(notice?.body ?? '', headersOf(notice as Receipt)));
    assert.equal(gone.receipts.length, 1, 'the disabled endpoint is not sent its own event');

    const audit = await t.app.deps.db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', org.orgId)
      .where('action', '=', 'webhook_endpoint.disabled')
      .execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]?.target_id, endpoint.id);
  });

  test('a redirect is a failure and is never followed', async () => {
    const target = await receiver();
    const redirecting = await receiver((_r, res) => res.writeHead(307, { location: target.url }).end());
    const endpoint = await createEndpoint(redirecting.url);
    const messageId = await sendTest(endpoint.id);
    const row = await waitForAttempts(endpoint.id, messageId, 1);
    assert.equal(row.status, 'pending');
    assert.equal(row.last_response_status, 307);
    assert.equal(target.receipts.length, 0);
  });

  test('a binary answer is logged without its NUL bytes (PostgreSQL text cannot hold them)', async () => {
    const hook = await receiver((_r, res) => res.writeHead(200).end(Buffer.from([0x6f, 0x00, 0x6b])));
    const endpoint = await createEndpoint(hook.url);
    const messageId = await sendTest(endpoint.id);
    const row = await waitForAttempts(endpoint.id, messageId, 1);
    assert.equal(row.status, 'succeeded');
    assert.equal(row.last_response_body, 'ok');
  });

  test('429 and 503 honour Retry-After (seconds, HTTP date) instead of the schedule', async () => {
    const answers = [
      (res: ServerResponse) => res.writeHead(429, { 'retry-after': '0' }).end(),
      (res: ServerResponse) =>
        res.writeHead(503, { 'retry-after': new Date(clock.now() - 60_000).toUTCString() }).end(),
    ];
    const hook = await receiver((_r, res, index) => (answers[index] ?? ((r) => r.writeHead(204).end()))(res));
    const endpoint = await createEndpoint(hook.url);
    const messageId = await sendTest(endpoint.id);
    // The clock stands still: on the schedule alone the second attempt would wait for 1 s of it. Retry-After
    // 0 (and a date already past) make each retry due at once.
    const done = await waitForAttempts(endpoint.id, messageId, 3);
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(
      hook.receipts.map((r) => r.headers['webhook-id']),
      [messageId, messageId, messageId],
    );
  });

  test('after a secret rotation both secrets sign until the grace ends, then only the new one', async () => {
    const hook = await receiver();
    const endpoint = await createEndpoint(hook.url);
    const rotated = await t.call(org.adminKey, 'POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {
      grace_period_seconds: 60,
    });
    assert.equal(rotated.statusCode, 200, rotated.body);
    const newSecret = rotated.json<{ secret: string }>().secret;
    await sendTest(endpoint.id);
    const [during] = await hook.waitFor(1);
    assert.ok(during);
    assert.equal(headersOf(during)['webhook-signature']?.split(' ').length, 2);
    assert.ok(new StandardWebhook(newSecret).verify(during.body, headersOf(during)));
    assert.ok(new SvixWebhook(endpoint.secret).verify(during.body, headersOf(during)));
    assert.ok(verifiesWithNodeCrypto(endpoint.secret, during));

    clock.advance(61_000);
    await sendTest(endpoint.id);
    const [, afterGrace] = await hook.waitFor(2);
    assert.ok(afterGrace);
    assert.equal(headersOf(afterGrace)['webhook-signature']?.split(' ').length, 1);
    assert.ok(new StandardWebhook(newSecret).verify(afterGrace.body, headersOf(afterGrace)));
    assert.throws(() => new StandardWebhook(endpoint.secret).verify(afterGrace.body, headersOf(afterGrace)));
    assert.equal(verifiesWithNodeCrypto(endpoint.secret, afterGrace), false);
  });

  test('the delivery log, a manual retry and recover; other orgs see 404', async () => {
    let healthy = false;
    const hook = await receiver((_r, res) => res.writeHead(healthy ? 200 : 500).end());
    const endpoint = await createEndpoint(hook.url);
    const since = new Date(clock.now() - 1000).toISOString();
    const messageId = await sendTest(endpoint.id);
    for (let attempt = 1; attempt < 4; attempt++) {
      await waitForAttempts(endpoint.id, messageId, attempt);
      nextRetry();
    }
    assert.equal((await waitForAttempts(endpoint.id, messageId, 4)).status, 'failed');
    const [logged] = await deliveries(endpoint.id);
    assert.equal(logged?.id, messageId);
    assert.equal(logged?.status, 'failed');
    assert.equal(logged?.attempts, 4);

    healthy = true;
    const recovered = await t.call(org.adminKey, 'POST', `/v1/webhook-endpoints/${endpoint.id}/recover`, {
      since,
    });
    assert.equal(recovered.statusCode, 202, recovered.body);
    assert.deepEqual(recovered.json(), { requeued: 1 });
    await hook.waitFor(5);
    await eventually(
      () => deliveryRow(endpoint.id, messageId),
      (row) => row.status === 'succeeded',
      'the recovered delivery',
    );

    const retried = await t.call(
      org.adminKey,
      'POST',
      `/v1/webhook-endpoints/${endpoint.id}/deliveries/${messageId}/retry`,
    );
    assert.equal(retried.statusCode, 202, retried.body);
    const receipts = await hook.waitFor(6);
    assert.equal(receipts[5]?.headers['webhook-id'], messageId);

    const unknown = await t.call(
      org.adminKey,
      'POST',
      `/v1/webhook-endpoints/${endpoint.id}/deliveries/msg_0000000000000000000000/retry`,
    );
    assertProblem(unknown, 404, 'not_found');
    for (const [method, path, body] of [
      ['GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`, undefined],
      ['POST', `/v1/webhook-endpoints/${endpoint.id}/test`, undefined],
      ['POST', `/v1/webhook-endpoints/${endpoint.id}/deliveries/${messageId}/retry`, undefined],
      ['POST', `/v1/webhook-endpoints/${endpoint.id}/recover`, { since }],
    ] as const) {
      assertProblem(await t.call(other.adminKey, method, path, body), 404, 'not_found');
    }
  });

  test('an endpoint failing for the configured hours is disabled (failing)', async () => {
    const hook = await receiver((_r, res) => res.writeHead(502).end());
    const endpoint = await createEndpoint(hook.url);
    const first = await sendTest(endpoint.id);
    await waitForAttempts(endpoint.id, first, 1);
    assert.equal((await endpointRow(endpoint.id)).status, 'enabled');
    clock.advance(120 * 3_600_000);
    const second = await sendTest(endpoint.id);
    await waitForAttempts(endpoint.id, second, 1);
    const row = await endpointRow(endpoint.id);
    assert.equal(row.status, 'disabled');
    assert.equal(row.disabled_reason, 'failing');
  });

  test('a slow endpoint holds at most 4 attempts and does not hold back the others', async () => {
    const held: ServerResponse[] = [];
    const slow = await receiver((_r, res) => held.push(res));
    const fast = await receiver();
    const slowEndpoint = await createEndpoint(slow.url, ['webhook.test']);
    const fastEndpoint = await createEndpoint(fast.url, ['webhook.test']);
    for (let i = 0; i < 10; i++) await sendTest(slowEndpoint.id);
    await slow.waitFor(4);
    const fastMessage = await sendTest(fastEndpoint.id);
    const [receipt] = await fast.waitFor(1);
    assert.equal(receipt?.headers['webhook-id'], fastMessage);
    // Ten deliveries are due to the slow endpoint, yet only the per-endpoint limit of them are in flight.
    assert.equal(slow.receipts.length, 4);
    for (const res of held.splice(0)) res.writeHead(204).end();
    slow.answer = (_r, res) => res.writeHead(204).end();
    await slow.waitFor(10);
  });

  test('graceful stop: an attempt that ends within the grace is recorded; one that does not is released', async () => {
    // This node's own worker stops, so only the dispatchers made here send.
    await t.app.deps.webhooks.stop();
    let release: (() => void) | null = null;
    const hook = await receiver((_r, res) => {
      release = () => res.writeHead(200).end();
    });
    const endpoint = await createEndpoint(hook.url);
    const make = (stopGraceMs: number) =>
      new WebhookDispatcher({
        db: t.app.deps.db,
        clock,
        config: t.config,
        log: t.app.log,
        audit: t.app.deps.audit,
        stopGraceMs,
        pollIntervalMs: 20,
      });

    const finishing = make(20_000);
    finishing.start();
    const first = await sendTest(endpoint.id);
    await hook.waitFor(1);
    const stopped = finishing.stop();
    (release as (() => void) | null)?.();
    await stopped;
    const recorded = await deliveryRow(endpoint.id, first);
    assert.equal(recorded.status, 'succeeded');
    assert.equal(recorded.lease_until, null);

    const cut = make(100);
    cut.start();
    const second = await sendTest(endpoint.id);
    await hook.waitFor(2);
    await cut.stop();
    const released = await deliveryRow(endpoint.id, second);
    assert.equal(released.status, 'pending');
    assert.equal(released.attempts, 0);
    assert.equal(released.lease_until, null, 'released at once, not left to its lease');
  });

  test('metrics: due backlog, attempts by outcome, delivery latency', async () => {
    // This node's worker is stopped (previous test): a new event stays due, so the backlog shows it.
    const hook = await receiver();
    const endpoint = await createEndpoint(hook.url);
    await sendTest(endpoint.id);
    const response = await t.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    assert.equal(response.statusCode, 200);
    const value = (name: string) => {
      const line = response.body.split('\n').find((l) => l.startsWith(`${name} `));
      assert.ok(line, `${name} is exported`);
      return Number(line.slice(name.length + 1));
    };
    assert.ok(value('cohera_webhook_queue_depth') >= 1);
    assert.ok(value('cohera_webhook_attempts_total{outcome="succeeded"}') >= 1);
    assert.ok(value('cohera_webhook_attempts_total{outcome="http_error"}') >= 1);
    assert.ok(value('cohera_webhook_delivery_seconds_count') >= 1);
  });
});
