/**
 * `Webhooks`: the Standard Webhooks verifier. Interoperable both ways with the reference `standardwebhooks`
 * library and Svix's `Webhook`, checked against the published vectors, and every refusal has its code.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import {
  Cohera,
  CoheraError,
  NotFoundError,
  ValidationError,
  Webhooks,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from '../src/index.ts';
import { type SdkTestServer, startServer } from './support/server.ts';

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

const BODY = JSON.stringify({
  id: 'msg_2aTcQ7fhN4bJr9Hd',
  type: 'certificate.expiring',
  timestamp: '2026-12-03T10:00:00Z',
  data: { id: 'cert_1', object: 'certificate', status: 'valid', note: 'Grüße ✓' },
});

async function rejectsWith(
  promise: Promise<unknown>,
  code: WebhookVerificationErrorCode,
  secrets: string[] = [],
) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof WebhookVerificationError, String(error));
    assert.ok(error instanceof CoheraError);
    assert.equal(error.code, code);
    // No secret, not even its base64 part, ever appears in a message.
    for (const secret of secrets) {
      assert.ok(!error.message.includes(secret.replace(/^whsec_/, '')), 'the message leaks a secret');
      assert.ok(!JSON.stringify(error).includes(secret.replace(/^whsec_/, '')));
    }
    return true;
  });
}

function headersFor(id: string, timestamp: number, signature: string): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}

describe('interoperability', () => {
  test('what standardwebhooks and svix sign, Webhooks verifies', async () => {
    const secret = newSecret();
    const id = 'msg_interop1';
    const at = new Date();
    const webhooks = new Webhooks(secret);
    for (const signer of [new StandardWebhook(secret), new SvixWebhook(secret)]) {
      const signature = signer.sign(id, at, BODY);
      const event = await webhooks.verify(BODY, headersFor(id, Math.floor(at.getTime() / 1000), signature));
      assert.deepEqual(event, JSON.parse(BODY));
      // The same bytes as a Buffer and as an ArrayBuffer.
      const bytes = Buffer.from(BODY);
      const headers = headersFor(id, Math.floor(at.getTime() / 1000), signature);
      assert.deepEqual(await webhooks.verify(bytes, headers), JSON.parse(BODY));
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      assert.deepEqual(await webhooks.verify(buffer, headers), JSON.parse(BODY));
    }
  });

  test('what Webhooks signs (sign, generateTestHeaders), standardwebhooks and svix verify', async () => {
    const secret = newSecret();
    const webhooks = new Webhooks(secret);
    const headers = await webhooks.generateTestHeaders(BODY);
    assert.match(headers['webhook-id'] ?? '', /^msg_/);
    assert.deepEqual(new StandardWebhook(secret).verify(BODY, headers), JSON.parse(BODY));
    assert.deepEqual(new SvixWebhook(secret).verify(BODY, headers), JSON.parse(BODY));

    const at = new Date();
    const signature = await webhooks.sign('msg_x', at, BODY);
    assert.equal(signature, new StandardWebhook(secret).sign('msg_x', at, BODY));
    // A signature by the wrong secret is refused by them too: the test would notice a sign() that
    // produced something they accept regardless.
    assert.throws(() => new StandardWebhook(newSecret()).verify(BODY, headers));
  });

  test('a rotated pair signs with both secrets, and either one verifies', async () => {
    const [current, previous] = [newSecret(), newSecret()];
    const headers = await new Webhooks([current, previous]).generateTestHeaders(BODY);
    assert.equal(headers['webhook-signature']?.split(' ').length, 2);
    for (const secret of [current, previous]) {
      assert.deepEqual(new StandardWebhook(secret).verify(BODY, headers), JSON.parse(BODY));
      assert.deepEqual(await new Webhooks(secret).verify(BODY, headers), JSON.parse(BODY));
    }
    // A receiver mid-rotation holds both and accepts a delivery signed by either alone.
    const receiver = new Webhooks([newSecret(), previous]);
    const onlyOld = await new Webhooks(previous).generateTestHeaders(BODY);
    assert.deepEqual(await receiver.verify(BODY, onlyOld), JSON.parse(BODY));
    await rejectsWith(
      new Webhooks([newSecret(), newSecret()]).verify(BODY, headers),
      'no_matching_signature',
    );
  });
});

/*
 * Test vectors published by the Standard Webhooks project (https://github.com/standard-webhooks/standard-webhooks,
 * libraries/*\/ tests at commit b2fa7b8719fb75d326b591077f5d1b385cfcdfae, MIT licence): the same
 * (secret, id, timestamp, payload) → signature in the JavaScript, Go, Python, PHP, Ruby, Java and C#
 * suites, and a second one from the Rust suite. Only the data is copied.
 */
const VECTORS = [
  {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    payload: '{"test": 2432232314}',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  },
  {
    secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
    id: 'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk',
    timestamp: 1649367553,
    payload: '{"email":"test@example.com","username":"test_user"}',
    signature: 'v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=',
  },
] as const;
/** Signatures the vectors' suites expect to be refused for those inputs. */
const WRONG_SIGNATURES = [
  'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=',
  'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
  'v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=',
  'v1,dawfeoifkpqwoekfpqoekf',
  'v1,',
  'v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  'v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q=',
];

describe('Standard Webhooks test vectors', () => {
  for (const vector of VECTORS) {
    test(`signs and verifies ${vector.id}`, async () => {
      const now = vector.timestamp * 1000;
      const headers = headersFor(vector.id, vector.timestamp, vector.signature);
      for (const secret of [vector.secret, vector.secret.replace(/^whsec_/, '')]) {
        const webhooks = new Webhooks(secret);
        assert.equal(await webhooks.sign(vector.id, vector.timestamp, vector.payload), vector.signature);
        assert.equal(await webhooks.sign(vector.id, new Date(now), vector.payload), vector.signature);
        assert.deepEqual(await webhooks.verify(vector.payload, headers, { now }), JSON.parse(vector.payload));
      }
      const webhooks = new Webhooks(vector.secret);
      // The valid one among wrong ones and other versions (the spec's multi-signature vector).
      const multi = `v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${vector.signature} v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE=`;
      await webhooks.verify(vector.payload, headersFor(vector.id, vector.timestamp, multi), { now });
      for (const wrong of [...WRONG_SIGNATURES, vector.signature.slice(0, 8)]) {
        await rejectsWith(
          webhooks.verify(vector.payload, headersFor(vector.id, vector.timestamp, wrong), { now }),
          'no_matching_signature',
        );
      }
      // The signature covers the id, the timestamp and every byte of the body.
      await rejectsWith(webhooks.verify(`${vector.payload} `, headers, { now }), 'no_matching_signature');
      await rejectsWith(
        webhooks.verify(vector.payload, { ...headers, 'webhook-id': `${vector.id}x` }, { now }),
        'no_matching_signature',
      );
      await rejectsWith(
        webhooks.verify(
          vector.payload,
          { ...headers, 'webhook-timestamp': String(vector.timestamp + 1) },
          { now },
        ),
        'no_matching_signature',
      );
    });
  }
});

describe('refusals, each with its code', () => {
  const secret = newSecret();
  const webhooks = new Webhooks(secret);

  test('missing_headers names what is missing', async () => {
    const headers = await webhooks.generateTestHeaders(BODY);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const without = { ...headers };
      delete without[name];
      await rejectsWith(webhooks.verify(BODY, without), 'missing_headers');
      await assert.rejects(webhooks.verify(BODY, without), new RegExp(name));
      await rejectsWith(webhooks.verify(BODY, { ...headers, [name]: '' }), 'missing_headers');
    }
    // Given twice (two spellings of one header): ambiguous, so refused rather than guessed.
    await rejectsWith(webhooks.verify(BODY, { ...headers, 'Webhook-Id': 'msg_other' }), 'missing_headers');
  });

  test('invalid_timestamp, timestamp_too_old, timestamp_too_new and the tolerance', async () => {
    const sign = async (timestamp: number) =>
      headersFor('msg_t', timestamp, await webhooks.sign('msg_t', timestamp, BODY));
    for (const bad of ['hello', '1.5e9', '-5', '']) {
      const headers = { ...(await sign(nowSeconds())), 'webhook-timestamp': bad };
      await rejectsWith(webhooks.verify(BODY, headers), bad === '' ? 'missing_headers' : 'invalid_timestamp');
    }
    // Default 300 s, either way; the boundary itself passes (a fixed `now` keeps this deterministic).
    const now = 1_800_000_000_000;
    const at = now / 1000;
    await webhooks.verify(BODY, await sign(at - 300), { now });
    await webhooks.verify(BODY, await sign(at + 300), { now });
    await rejectsWith(webhooks.verify(BODY, await sign(at - 301), { now }), 'timestamp_too_old');
    await rejectsWith(webhooks.verify(BODY, await sign(at + 301), { now }), 'timestamp_too_new');
    await webhooks.verify(BODY, await sign(at - 3600), { now, toleranceSeconds: 3600 });
    await rejectsWith(
      webhooks.verify(BODY, await sign(at - 11), { now, toleranceSeconds: 10 }),
      'timestamp_too_old',
    );
    await webhooks.verify(BODY, await sign(at), { now: new Date(now), toleranceSeconds: 0 });
    await rejectsWith(
      webhooks.verify(BODY, await sign(at + 1), { now, toleranceSeconds: 0 }),
      'timestamp_too_new',
    );
    // A stale delivery is refused before its signature matters (a replay of a genuine one).
    await rejectsWith(webhooks.verify(BODY, await sign(nowSeconds() - 400)), 'timestamp_too_old');
    for (const toleranceSeconds of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(webhooks.verify(BODY, await sign(at), { now, toleranceSeconds }), RangeError);
    }
    // A nonsensical `now` must not switch the replay check off.
    for (const bad of [Number.NaN, new Date('nonsense')]) {
      await assert.rejects(webhooks.verify(BODY, await sign(at - 3600), { now: bad }), RangeError);
    }
  });

  test('no_matching_signature: wrong secret, altered body, unknown scheme', async () => {
    const headers = await webhooks.generateTestHeaders(BODY);
    const other = newSecret();
    await rejectsWith(new Webhooks(other).verify(BODY, headers), 'no_matching_signature', [secret, other]);
    await rejectsWith(webhooks.verify(BODY.replace('valid', 'vaLid'), headers), 'no_matching_signature', [
      secret,
    ]);
    const signature = headers['webhook-signature'] ?? '';
    await rejectsWith(
      webhooks.verify(BODY, { ...headers, 'webhook-signature': signature.replace('v1,', 'v1a,') }),
      'no_matching_signature',
    );
    await rejectsWith(
      webhooks.verify(BODY, { ...headers, 'webhook-signature': signature.slice(3) }),
      'no_matching_signature',
    );
  });

  test('invalid_secret, at construction, without echoing the secret', () => {
    const almost = `whsec_${randomBytes(32).toString('base64').slice(0, -2)}!!`;
    for (const bad of ['', 'whsec_', 'whsec_not base64', almost, 'ck_live_abc', [] as string[]]) {
      assert.throws(
        () => new Webhooks(bad),
        (error: unknown) => {
          assert.ok(error instanceof WebhookVerificationError);
          assert.equal(error.code, 'invalid_secret');
          if (typeof bad === 'string' && bad.length > 6) assert.ok(!error.message.includes(bad.slice(6)));
          return true;
        },
      );
    }
    assert.throws(() => new Webhooks([newSecret(), 'whsec_']), { code: 'invalid_secret' });
    // @ts-expect-error: a JavaScript caller passing nothing
    assert.throws(() => new Webhooks(undefined), { code: 'invalid_secret' });
  });

  test('not_raw_body: a parsed object says to pass the raw body', async () => {
    const headers = await webhooks.generateTestHeaders(BODY);
    for (const parsed of [JSON.parse(BODY), null, undefined, 42] as unknown[]) {
      // What a handler behind express.json() would pass: the types refuse it, JavaScript callers get this.
      const verify = () => webhooks.verify(parsed as string, headers);
      await rejectsWith(verify(), 'not_raw_body');
      await assert.rejects(verify(), /pass the raw request body \(string or bytes\), not parsed JSON/i);
    }
  });

  test('invalid_payload: correctly signed but not a JSON object', async () => {
    for (const body of ['not json', '[1,2]', 'null', '']) {
      const headers = await webhooks.generateTestHeaders(body);
      await rejectsWith(webhooks.verify(body, headers), 'invalid_payload');
    }
  });
});

describe('headers in each shape', () => {
  const secret = newSecret();
  const webhooks = new Webhooks(secret);

  test('a plain object in any letter case, and a fetch Headers', async () => {
    const headers = await webhooks.generateTestHeaders(BODY);
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    assert.deepEqual(await webhooks.verify(BODY, upper), JSON.parse(BODY));
    assert.deepEqual(await webhooks.verify(BODY, new Headers(headers)), JSON.parse(BODY));
    const request = new Request('http://receiver.test/hook', { method: 'POST', headers, body: BODY });
    assert.deepEqual(await webhooks.verify(await request.text(), request.headers), JSON.parse(BODY));
    await rejectsWith(webhooks.verify(BODY, new Headers()), 'missing_headers');
  });

  test('Node’s IncomingHttpHeaders and raw body from a real HTTP request', async () => {
    const received = new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve) => {
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          res.end();
          server.close();
          resolve({ headers: req.headers, body: Buffer.concat(chunks) });
        });
      }).listen(0, '127.0.0.1', async () => {
        const { port } = server.address() as AddressInfo;
        const headers = await webhooks.generateTestHeaders(BODY);
        await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers, body: BODY });
      });
    });
    const { headers, body } = await received;
    assert.deepEqual(await webhooks.verify(body, headers), JSON.parse(BODY));
    // A body that went through JSON.parse and back is not the raw body: refused with the reason.
    await rejectsWith(
      webhooks.verify(JSON.stringify(JSON.parse(body.toString()), null, 2), headers),
      'no_matching_signature',
    );
  });
});

/** A webhook receiver on loopback: keeps each request's raw body and headers, answers `status`. */
async function startReceiver() {
  const received: { body: Buffer; headers: IncomingHttpHeaders }[] = [];
  const state = { status: 204 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks), headers: req.headers });
      res.statusCode = state.status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls until `check` returns a value (deliveries are asynchronous); fails after 20 s. */
async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('client.webhookEndpoints and client.events against a real server', () => {
  let s: SdkTestServer;
  let client: Cohera;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    receiver = await startReceiver();
    // Loopback receivers need the development switch; one retry, a second later, keeps failures short.
    s = await startServer({
      env: { COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true', COHERA_WEBHOOK_RETRY_SCHEDULE: '1' },
    });
    client = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl });
  });
  after(async () => {
    await s.close();
    await receiver.close();
  });

  /** The delivery of message `id` as the receiver got it. */
  const deliveryOf = (id: string) =>
    eventually(`the delivery of ${id}`, () => receiver.received.find((r) => r.headers['webhook-id'] === id));

  test('create, get, list, update; deliveries verify with Webhooks, standardwebhooks and svix', async () => {
    const endpoint = await client.webhookEndpoints.create({
      url: receiver.url,
      events: ['supplier.created', 'webhook.test'],
      description: 'ERP sync',
    });
    assert.match(endpoint.id, /^whe_/);
    assert.match(endpoint.secret, /^whsec_/);
    assert.equal(endpoint.status, 'enabled');
    assert.equal(endpoint.disabled_reason, null);
    assert.deepEqual(endpoint.events, ['supplier.created', 'webhook.test']);
    const { secret, ...shown } = endpoint;
    assert.deepEqual(await client.webhookEndpoints.get(endpoint.id), shown);
    assert.ok(!('secret' in (await client.webhookEndpoints.get(endpoint.id))));
    assert.ok((await client.webhookEndpoints.list()).data.some((e) => e.id === endpoint.id));

    // An event from the change that causes it, signed by the server: our verifier and both libraries agree.
    const supplier = await client.suppliers.create({ name: 'Hook GmbH', country: 'DE' });
    const [event] = (await client.events.list({ type: 'supplier.created', limit: 1 })).data;
    assert.ok(event);
    assert.equal(event.type, 'supplier.created');
    assert.equal(event.object, 'event');
    assert.deepEqual(event.data, supplier);
    const delivery = await deliveryOf(event.id);
    const verified = await new Webhooks(secret).verify(delivery.body, delivery.headers);
    assert.equal(verified.id, event.id);
    assert.equal(verified.type, 'supplier.created');
    if (verified.type === 'supplier.created') assert.deepEqual(verified.data, supplier);
    const flat = Object.fromEntries(Object.entries(delivery.headers).map(([k, v]) => [k, String(v)]));
    assert.deepEqual(new StandardWebhook(secret).verify(delivery.body.toString(), flat), verified);
    assert.deepEqual(new SvixWebhook(secret).verify(delivery.body.toString(), flat), verified);
    await rejectsWith(
      new Webhooks(newSecret()).verify(delivery.body, delivery.headers),
      'no_matching_signature',
      [secret],
    );

    const updated = await client.webhookEndpoints.update(endpoint.id, {
      description: 'ERP sync (EU)',
      events: ['*'],
    });
    assert.equal(updated.description, 'ERP sync (EU)');
    assert.deepEqual(updated.events, ['*']);
    await assert.rejects(
      client.webhookEndpoints.create({ url: 'ftp://example.com/hooks', events: ['*'] }),
      ValidationError,
    );
    await client.webhookEndpoints.delete(endpoint.id);
    await assert.rejects(client.webhookEndpoints.get(endpoint.id), NotFoundError);
    await assert.rejects(client.webhookEndpoints.delete(endpoint.id), NotFoundError);
  });

  test('test, deliveries, rotateSecret (both secrets sign), retry, recover, disable', async () => {
    const endpoint = await client.webhookEndpoints.create({ url: receiver.url, events: ['webhook.test'] });
    const { message_id } = await client.webhookEndpoints.test(endpoint.id);
    assert.match(message_id, /^msg_/);
    const first = await deliveryOf(message_id);
    const event = await new Webhooks(endpoint.secret).verify(first.body, first.headers);
    assert.equal(event.type, 'webhook.test');
    if (event.type === 'webhook.test') assert.equal(event.data.webhook_endpoint_id, endpoint.id);
    const logged = await eventually('a succeeded delivery', async () => {
      const page = await client.webhookEndpoints.deliveries(endpoint.id);
      return page.data.find((d) => d.id === message_id && d.status === 'succeeded');
    });
    assert.equal(logged.event_type, 'webhook.test');
    assert.equal(logged.last_response_status, 204);
    assert.equal(logged.next_attempt_at, null);

    // During the grace period both the new and the old secret sign each delivery.
    const rotated = await client.webhookEndpoints.rotateSecret(endpoint.id, { grace_period_seconds: 3600 });
    assert.match(rotated.secret, /^whsec_/);
    assert.notEqual(rotated.secret, endpoint.secret);
    const second = await deliveryOf((await client.webhookEndpoints.test(endpoint.id)).message_id);
    assert.equal(String(second.headers['webhook-signature']).split(' ').length, 2);
    for (const secret of [rotated.secret, endpoint.secret]) {
      await new Webhooks(secret).verify(second.body, second.headers);
    }
    await new Webhooks([rotated.secret, endpoint.secret]).verify(second.body, second.headers);

    // A failing receiver: two attempts (the schedule here has one retry), then `failed`.
    receiver.state.status = 500;
    const failing = (await client.webhookEndpoints.test(endpoint.id)).message_id;
    const failed = await eventually('a failed delivery', async () => {
      const page = await client.webhookEndpoints.deliveries(endpoint.id);
      return page.data.find((d) => d.id === failing && d.status === 'failed');
    });
    assert.equal(failed.attempts, 2);
    assert.equal(failed.last_response_status, 500);
    receiver.state.status = 204;

    // retry sends that message again; recover replays what failed since a moment.
    assert.equal(await client.webhookEndpoints.retry(endpoint.id, failing), undefined);
    await eventually('the retried delivery to succeed', async () => {
      const page = await client.webhookEndpoints.deliveries(endpoint.id);
      return page.data.find((d) => d.id === failing && d.status === 'succeeded');
    });
    receiver.state.status = 500;
    const again = (await client.webhookEndpoints.test(endpoint.id)).message_id;
    await eventually('a second failed delivery', async () => {
      const page = await client.webhookEndpoints.deliveries(endpoint.id);
      return page.data.find((d) => d.id === again && d.status === 'failed');
    });
    receiver.state.status = 204;
    const { requeued } = await client.webhookEndpoints.recover(endpoint.id, {
      since: new Date(Date.now() - 3_600_000),
    });
    assert.equal(requeued, 1);
    await eventually('the recovered delivery to succeed', async () => {
      const page = await client.webhookEndpoints.deliveries(endpoint.id);
      return page.data.find((d) => d.id === again && d.status === 'succeeded');
    });
    await assert.rejects(client.webhookEndpoints.retry(endpoint.id, 'msg_doesnotexist'), NotFoundError);

    const disabled = await client.webhookEndpoints.update(endpoint.id, { status: 'disabled' });
    assert.equal(disabled.status, 'disabled');
    assert.equal(disabled.disabled_reason, 'manual');
    // Every item through pagination.
    const all = await client.webhookEndpoints.deliveries(endpoint.id, { limit: 2 }).toArray();
    assert.equal(all.length, 4);
  });
});
