/**
 * Retries: what is retried (idempotent methods, and POST because it carries an Idempotency-Key), on what
 * (no response, 408, 429, 502, 503, 504), after how long (the server's Retry-After, else backoff), and
 * what is not (500, PATCH, a user's abort, a wait longer than maxRetryDelay).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../server/src/clock.ts';
import { APIError, Cohera, ConnectionError, RateLimitError } from '../src/index.ts';
import { backoffDelay, serverTimedDelay } from '../src/retry.ts';
import { problem, scriptedServer } from './support/scripted-server.ts';
import { createKey, recordingFetch, type SdkTestServer, startServer } from './support/server.ts';

const KEY = `ck_live_${'R'.repeat(32)}000000`;
const SUPPLIER = {
  id: 'sup_1',
  object: 'supplier',
  name: 'A',
  country: 'DE',
  contact_email: null,
  status: 'active',
  created_at: '2026-12-01T00:00:00Z',
  updated_at: '2026-12-01T00:00:00Z',
};

const oneSecondBeforeNextMinute = (ms: number) => (Math.floor(ms / 60_000) + 1) * 60_000 - 1_000;

describe('429 from the real server: the client waits for Retry-After, then succeeds', () => {
  let s: SdkTestServer;
  const clock = new ManualClock(oneSecondBeforeNextMinute(Date.now()));
  before(async () => {
    s = await startServer({ clock });
  });
  after(() => s.close());

  /**
   * A fetch that, when the server says 429, moves the server's clock past the window, as the real second
   * passes while the client waits: the retry then lands in the next minute.
   */
  function clockAdvancingFetch() {
    return recordingFetch(async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 429) clock.advance(1_000);
      return response;
    });
  }

  test('GET', async () => {
    clock.set(oneSecondBeforeNextMinute(clock.now()));
    const key = await createKey(s.server.app, s.org, ['read:suppliers'], 'live', { rateLimitPerMinute: 1 });
    const recorder = clockAdvancingFetch();
    const client = new Cohera({ apiKey: key, baseUrl: s.baseUrl, fetch: recorder.fetch });
    await client.suppliers.list();
    const started = performance.now();
    const page = await client.suppliers.list();
    // Not a timing budget: the client must not have come back before the second the server asked for.
    assert.ok(performance.now() - started >= 1_000, 'retried before Retry-After');
    assert.ok(Array.isArray(page.data));
    assert.equal(recorder.requests.length, 3);
  });

  test('POST is retried with the same Idempotency-Key and creates one object', async () => {
    clock.set(oneSecondBeforeNextMinute(clock.now()));
    const key = await createKey(s.server.app, s.org, ['write:suppliers'], 'live', { rateLimitPerMinute: 1 });
    const recorder = clockAdvancingFetch();
    const client = new Cohera({ apiKey: key, baseUrl: s.baseUrl, fetch: recorder.fetch });
    await client.suppliers.list().catch(() => undefined);
    const created = await client.suppliers.create({ name: 'Retried once', country: 'AT' });
    const posts = recorder.requests.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 2);
    const keys = posts.map((p) => p.headers.get('idempotency-key'));
    assert.match(keys[0] ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(keys[0], keys[1]);
    const admin = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl });
    const named = (await admin.suppliers.list({ limit: 100 }).toArray()).filter(
      (x) => x.name === 'Retried once',
    );
    assert.deepEqual(
      named.map((x) => x.id),
      [created.id],
    );
  });

  test('a wait longer than maxRetryDelay throws the RateLimitError at once', async () => {
    clock.set(oneSecondBeforeNextMinute(clock.now()) - 10_000);
    const key = await createKey(s.server.app, s.org, ['read:suppliers'], 'live', { rateLimitPerMinute: 1 });
    const recorder = recordingFetch();
    const client = new Cohera({
      apiKey: key,
      baseUrl: s.baseUrl,
      fetch: recorder.fetch,
      maxRetryDelay: 5_000,
    });
    await client.suppliers.list();
    const error = await client.suppliers.list().catch((e: unknown) => e);
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.retryAfter, 11);
    assert.equal(recorder.requests.length, 2);
  });

  test('a response lost on the way back: the POST is sent again and the server replays it', async () => {
    let dropped = false;
    const recorder = recordingFetch(async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method === 'POST' && !dropped) {
        dropped = true;
        await response.body?.cancel();
        throw new TypeError('fetch failed: socket hang up');
      }
      return response;
    });
    const client = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl, fetch: recorder.fetch });
    const created = await client.suppliers.create({ name: 'Sent twice, made once', country: 'BE' });
    assert.equal(recorder.requests.length, 2);
    const admin = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl });
    const named = (await admin.suppliers.list({ limit: 100 }).toArray()).filter(
      (x) => x.name === 'Sent twice, made once',
    );
    assert.deepEqual(
      named.map((x) => x.id),
      [created.id],
    );
  });
});

describe('retries against a scripted server', () => {
  test('GET: 503, 502, then 200 succeeds after two backoffs', async () => {
    const server = await scriptedServer([
      { status: 503, body: problem(503, 'service_unavailable') },
      { status: 502 },
      { status: 200, body: SUPPLIER },
    ]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl });
      const supplier = await client.suppliers.get('sup_1');
      assert.equal(supplier.id, 'sup_1');
      assert.equal(server.received.length, 3);
    } finally {
      await server.close();
    }
  });

  test('maxRetries bounds the attempts; the last error is thrown', async () => {
    const server = await scriptedServer([{ status: 504 }]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl, maxRetries: 1 });
      const error = await client.suppliers.get('sup_1').catch((e: unknown) => e);
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 504);
      assert.equal(error.code, 'http_504');
      assert.equal(server.received.length, 2);
    } finally {
      await server.close();
    }
  });

  test('500 is not retried (the request may have done its work)', async () => {
    const server = await scriptedServer([{ status: 500, body: problem(500, 'internal_error') }]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl });
      const error = await client.suppliers.get('sup_1').catch((e: unknown) => e);
      assert.ok(error instanceof APIError);
      assert.equal(error.code, 'internal_error');
      assert.equal(error.requestId, 'req_scripted');
      assert.equal(server.received.length, 1);
    } finally {
      await server.close();
    }
  });

  test('POST carries an Idempotency-Key, kept across retries; your own key is sent as given', async () => {
    const server = await scriptedServer([{ status: 503 }, { status: 201, body: SUPPLIER }]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl });
      await client.suppliers.create({ name: 'A', country: 'DE' }, { idempotencyKey: 'order-4711' });
      assert.equal(server.received.length, 2);
      assert.deepEqual(
        server.received.map((r) => r.headers['idempotency-key']),
        ['order-4711', 'order-4711'],
      );
      assert.deepEqual(JSON.parse(server.received[1]?.body ?? ''), { name: 'A', country: 'DE' });
    } finally {
      await server.close();
    }
  });

  test('409 idempotency_key_in_use (the first attempt still running) is waited out and retried', async () => {
    const server = await scriptedServer([
      { status: 409, headers: { 'retry-after': '1' }, body: problem(409, 'idempotency_key_in_use') },
      { status: 201, body: SUPPLIER },
    ]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl });
      assert.equal((await client.suppliers.create({ name: 'A', country: 'DE' })).id, 'sup_1');
      assert.equal(server.received.length, 2);
      // Any other conflict is final.
      const other = await scriptedServer([{ status: 409, body: problem(409, 'resource_in_use') }]);
      try {
        const conflict = new Cohera({ apiKey: KEY, baseUrl: other.baseUrl });
        await assert.rejects(conflict.suppliers.create({ name: 'A', country: 'DE' }), /resource_in_use/);
        assert.equal(other.received.length, 1);
      } finally {
        await other.close();
      }
    } finally {
      await server.close();
    }
  });

  test('PATCH is not retried (no idempotency key, not idempotent by method)', async () => {
    const server = await scriptedServer([{ status: 503 }, { status: 200, body: SUPPLIER }]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl });
      await assert.rejects(client.suppliers.update('sup_1', { name: 'B' }), APIError);
      assert.equal(server.received.length, 1);
      assert.equal(server.received[0]?.headers['idempotency-key'], undefined);
    } finally {
      await server.close();
    }
  });

  test('a dropped connection is retried for GET; with no retries left it is a ConnectionError', async () => {
    const server = await scriptedServer([
      { destroy: true },
      { status: 200, body: SUPPLIER },
      { destroy: true },
    ]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl });
      assert.equal((await client.suppliers.get('sup_1')).id, 'sup_1');
      assert.equal(server.received.length, 2);
      const once = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl, maxRetries: 0 });
      const error = await once.suppliers.get('sup_1').catch((e: unknown) => e);
      assert.ok(error instanceof ConnectionError);
      assert.equal(error.code, 'connection_error');
      assert.equal(error.status, null);
      assert.equal(server.received.length, 3);
    } finally {
      await server.close();
    }
  });

  test('a timeout is a ConnectionError with code timeout, retried once per maxRetries', async () => {
    const server = await scriptedServer([{ delay: 1_000, status: 200, body: SUPPLIER }]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl, timeout: 100, maxRetries: 1 });
      const error = await client.suppliers.get('sup_1').catch((e: unknown) => e);
      assert.ok(error instanceof ConnectionError);
      assert.equal(error.code, 'timeout');
      assert.equal(server.received.length, 2);
    } finally {
      await server.close();
    }
  });

  test('your abort signal stops the request and the waits, without retrying', async () => {
    const server = await scriptedServer([{ delay: 1_000, status: 200, body: SUPPLIER }]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('user cancelled')), 50);
      await assert.rejects(client.suppliers.get('sup_1', { signal: controller.signal }), /user cancelled/);
      assert.equal(server.received.length, 1);
    } finally {
      await server.close();
    }
  });

  test('Retry-After as an HTTP date is honoured too', async () => {
    const server = await scriptedServer([
      { status: 503, headers: { 'retry-after': new Date(Date.now() + 1_500).toUTCString() } },
      { status: 200, body: SUPPLIER },
    ]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl });
      await client.suppliers.get('sup_1');
      assert.equal(server.received.length, 2);
    } finally {
      await server.close();
    }
  });
});

describe('a database outage: 503 service_unavailable with Retry-After', () => {
  // What the server answers while its database is down or too slow (docs/operations.md).
  const outage = { status: 503, headers: { 'retry-after': '1' }, body: problem(503, 'service_unavailable') };

  test('a GET waits as told and succeeds once the database is back', async () => {
    const server = await scriptedServer([outage, { status: 200, body: SUPPLIER }]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl });
      assert.equal((await client.suppliers.get('sup_1')).id, 'sup_1');
      assert.deepEqual(
        server.received.map((r) => r.url),
        ['/v1/suppliers/sup_1', '/v1/suppliers/sup_1'],
      );
    } finally {
      await server.close();
    }
  });

  test('a POST is retried under one Idempotency-Key, so it is carried out once', async () => {
    const server = await scriptedServer([outage, outage, { status: 201, body: SUPPLIER }]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl });
      assert.equal((await client.suppliers.create({ name: 'A', country: 'DE' })).id, 'sup_1');
      const keys = server.received.map((r) => r.headers['idempotency-key']);
      assert.equal(keys.length, 3);
      assert.equal(new Set(keys).size, 1);
      assert.ok(keys[0]);
    } finally {
      await server.close();
    }
  });

  test('a Retry-After beyond maxRetryDelay is not sat out: the 503 is thrown at once', async () => {
    const server = await scriptedServer([
      { ...outage, headers: { 'retry-after': '120' } },
      { status: 200, body: SUPPLIER },
    ]);
    try {
      const client = new Cohera({ apiKey: KEY, baseUrl: server.baseUrl });
      const error = await client.suppliers.get('sup_1').catch((e: unknown) => e);
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 503);
      assert.equal(error.code, 'service_unavailable');
      assert.equal(server.received.length, 1);
    } finally {
      await server.close();
    }
  });
});

describe('backoff', () => {
  test('grows exponentially with equal jitter, capped', () => {
    const options = { initialDelay: 500, maxDelay: 8_000 };
    assert.equal(
      backoffDelay(0, options, () => 0),
      250,
    );
    assert.equal(
      backoffDelay(0, options, () => 1),
      500,
    );
    assert.equal(
      backoffDelay(3, options, () => 0),
      2_000,
    );
    assert.equal(
      backoffDelay(10, options, () => 1),
      8_000,
    );
  });

  test('a server-timed wait is never shortened, and jitters by at most a second', () => {
    assert.equal(
      serverTimedDelay(2_000, () => 0),
      2_000,
    );
    assert.equal(
      serverTimedDelay(2_000, () => 1),
      2_200,
    );
    assert.equal(
      serverTimedDelay(60_000, () => 1),
      61_000,
    );
  });
});
