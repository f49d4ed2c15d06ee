/**
 * The standard headers (src/http/response-head.ts) leave the server two ways: set by an onSend hook on
 * every response Fastify sends, and written in one `writeHead` by the cached read's direct path. These tests
 * hold the two ways to the same answer over real HTTP on loopback: a read that misses the cache (Fastify's
 * send) and the same read that hits it (the direct write) differ only in what must differ (the request id,
 * the remaining count, the date), and a direct answer is still counted, measured and logged.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { createKey, createOrg, type TestOrg } from '../support/app.ts';
import { tempDir, testConfig } from '../support/config.ts';

interface Answer {
  status: number;
  /** Header names in the order they were sent (lower-cased), with their values. */
  headers: Array<[string, string]>;
  body: string;
}

/** One request over a fresh connection, the raw header list kept (order and repeats included). */
function send(base: string, method: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        const raw = res.rawHeaders;
        const list: Array<[string, string]> = [];
        for (let i = 0; i < raw.length; i += 2)
          list.push([(raw[i] as string).toLowerCase(), raw[i + 1] as string]);
        resolve({ status: res.statusCode ?? 0, headers: list, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function header(answer: Answer, name: string): string | undefined {
  return answer.headers.find(([n]) => n === name)?.[1];
}

/** Names that differ by nature between two answers to the same read. */
const PER_REQUEST = new Set(['x-request-id', 'date', 'x-ratelimit-remaining', 'ratelimit']);

const STANDARD = [
  'x-request-id',
  'x-content-type-options',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'ratelimit-policy',
  'ratelimit',
];

describe('standard headers: the direct write of a cached read answers as Fastify would', () => {
  const dir = tempDir();
  let app: FastifyInstance;
  let base: string;
  let org: TestOrg;
  let key: string;

  before(async () => {
    app = await buildApp(testConfig({}, dir.path));
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    org = await createOrg(app);
    key = await createKey(app, org, [
      'read:suppliers',
      'write:suppliers',
      'read:certificates',
      'read:products',
    ]);
  });
  after(async () => {
    await app.close();
    dir.remove();
  });

  async function createSupplier(name: string): Promise<string> {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/suppliers',
      headers: { authorization: `Bearer ${key}` },
      payload: { name, country: 'FR' },
    });
    assert.equal(created.statusCode, 201, created.body);
    return (created.json() as { id: string }).id;
  }

  test('a miss and a hit: the same status, bytes and headers, each header once', async () => {
    const id = await createSupplier('Direct Write GmbH');
    const auth = { authorization: `Bearer ${key}` };
    const hitsBefore = app.deps.readCache.hits;
    const miss = await send(base, 'GET', `/v1/suppliers/${id}`, auth);
    assert.equal(app.deps.readCache.hits, hitsBefore, 'the first read loads');
    const hit = await send(base, 'GET', `/v1/suppliers/${id}`, auth);
    assert.equal(app.deps.readCache.hits, hitsBefore + 1, 'the second read is served from the cache');

    assert.equal(miss.status, 200);
    assert.equal(hit.status, 200);
    assert.equal(hit.body, miss.body);
    assert.equal((JSON.parse(hit.body) as { id: string }).id, id);
    for (const answer of [miss, hit]) {
      const names = answer.headers.map(([n]) => n);
      assert.equal(new Set(names).size, names.length, `no header twice: ${names.join(', ')}`);
      for (const name of STANDARD) assert.ok(header(answer, name), `${name} present`);
      assert.equal(header(answer, 'content-length'), String(Buffer.byteLength(answer.body)));
    }
    assert.deepEqual(
      hit.headers.map(([n]) => n).sort(),
      miss.headers.map(([n]) => n).sort(),
      'the same header names',
    );
    for (const [name, value] of miss.headers) {
      if (!PER_REQUEST.has(name)) assert.equal(header(hit, name), value, name);
    }
    // The hit was counted after the miss: one fewer remaining in every window.
    assert.equal(
      Number(header(hit, 'x-ratelimit-remaining')),
      Number(header(miss, 'x-ratelimit-remaining')) - 1,
    );
    assert.notEqual(header(hit, 'x-request-id'), header(miss, 'x-request-id'));
  });

  test("a hit keeps the caller's request id, and HEAD gets the headers without the body", async () => {
    const id = await createSupplier('Head Request SA');
    const auth = { authorization: `Bearer ${key}` };
    const full = await send(base, 'GET', `/v1/suppliers/${id}`, auth);
    const traced = await send(base, 'GET', `/v1/suppliers/${id}`, { ...auth, 'x-request-id': 'trace-4711' });
    assert.equal(header(traced, 'x-request-id'), 'trace-4711');
    const head = await send(base, 'HEAD', `/v1/suppliers/${id}`, auth);
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(header(head, 'content-length'), String(Buffer.byteLength(full.body)));
    for (const name of STANDARD) assert.ok(header(head, name), `${name} on HEAD`);
  });

  test('a hit is counted in usage and metrics like any response', async () => {
    const id = await createSupplier('Counted Ltd');
    const auth = { authorization: `Bearer ${key}` };
    const series = (text: string) => {
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('cohera_http_request_duration_seconds_count') &&
            l.includes('route="/v1/suppliers/:id"') &&
            l.includes('status="200"') &&
            l.includes('method="GET"'),
        );
      return line ? Number(line.split(' ').pop()) : 0;
    };
    // Every request of the org in live mode over the last days, stored and not yet flushed.
    const requests = async () => {
      const res = await app.inject({
        method: 'GET',
        url: '/v1/usage',
        headers: { authorization: `Bearer ${org.adminKey}` },
      });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { data: Array<{ requests: number }> }).data.reduce(
        (sum, day) => sum + day.requests,
        0,
      );
    };
    const before = series(await app.metrics.registry.metrics());
    const usageBefore = await requests();
    for (let i = 0; i < 3; i++)
      assert.equal((await send(base, 'GET', `/v1/suppliers/${id}`, auth)).status, 200);
    // Fastify's onResponse runs on the raw response's finish, which may come a turn after the client has read.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(series(await app.metrics.registry.metrics()), before + 3);
    // The three reads, and the usage request before them (counted once it had answered).
    assert.equal(await requests(), usageBefore + 4);
  });

  test('errors and other routes carry the standard headers through the onSend hook', async () => {
    const auth = { authorization: `Bearer ${key}` };
    const missing = await send(base, 'GET', '/v1/suppliers/sup_0000000000000000000000', auth);
    assert.equal(missing.status, 404);
    const unauthenticated = await send(base, 'GET', '/v1/suppliers', {});
    assert.equal(unauthenticated.status, 401);
    const list = await send(base, 'GET', '/v1/suppliers', auth);
    assert.equal(list.status, 200);
    for (const answer of [missing, list]) {
      for (const name of STANDARD) assert.ok(header(answer, name), `${answer.status}: ${name}`);
    }
    // No credential, no rate-limit decision: the request id and nosniff only.
    assert.ok(header(unauthenticated, 'x-request-id'));
    assert.equal(header(unauthenticated, 'x-content-type-options'), 'nosniff');
    assert.equal(header(unauthenticated, 'x-ratelimit-limit'), undefined);
  });
});
