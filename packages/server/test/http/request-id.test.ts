/**
 * Request ids (DESIGN §4, src/http/request-id.ts): every response carries `X-Request-Id`; a caller's sane
 * id is kept so traces line up, anything else is replaced so logs never carry attacker-shaped text.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { capturedLogs, createOrg, logCapture, type TestOrg } from '../support/app.ts';
import { tempDir, testConfig } from '../support/config.ts';

/** A generated id: `req_` and an opaque random body (its exact encoding is not part of the contract). */
const GENERATED = /^req_[0-9A-Za-z]{16,64}$/;

describe('request ids', () => {
  const dir = tempDir();
  let app: FastifyInstance;
  let org: TestOrg;
  /** One request of each kind of outcome: 2xx, 201, 4xx, 404 and 500. */
  let kinds: { name: string; status: number; options: InjectOptions }[];

  before(async () => {
    // debug level: request logging is on, so the ids that reach the log can be checked too.
    app = await buildApp(testConfig({ COHERA_LOG_LEVEL: 'debug' }, dir.path), {
      logDestination: logCapture(),
    });
    app.get('/test/throws', { config: { access: { public: true } } }, async () => {
      throw new Error('boom');
    });
    await app.ready();
    org = await createOrg(app);
    const auth = { authorization: `Bearer ${org.adminKey}` };
    kinds = [
      { name: '200', status: 200, options: { method: 'GET', url: '/health' } },
      {
        name: '201',
        status: 201,
        options: {
          method: 'POST',
          url: '/v1/suppliers',
          headers: auth,
          payload: { name: 'A', country: 'FR' },
        },
      },
      {
        name: '400',
        status: 400,
        options: { method: 'POST', url: '/v1/suppliers', headers: auth, payload: {} },
      },
      { name: '401', status: 401, options: { method: 'GET', url: '/v1/suppliers' } },
      { name: '404 route', status: 404, options: { method: 'GET', url: '/no/such/route' } },
      {
        name: '404 object',
        status: 404,
        options: { method: 'GET', url: '/v1/suppliers/sup_x', headers: auth },
      },
      { name: '500', status: 500, options: { method: 'GET', url: '/test/throws' } },
    ];
  });
  after(async () => {
    await app.close();
    dir.remove();
  });

  function send(options: InjectOptions, requestId?: string | string[]): Promise<LightMyRequestResponse> {
    const headers = { ...(options.headers ?? {}) };
    if (requestId !== undefined) headers['x-request-id'] = requestId;
    return app.inject({ ...options, headers });
  }

  function requestIdOf(response: LightMyRequestResponse): string {
    const id = response.headers['x-request-id'];
    assert.equal(typeof id, 'string', 'x-request-id is present');
    return id as string;
  }

  /** The problem body, when there is one, must carry the same id as the header. */
  function assertBodyAgrees(response: LightMyRequestResponse, id: string) {
    if (response.statusCode >= 400) assert.equal(response.json().request_id, id);
  }

  test('every response carries a generated id, different on each request', async () => {
    const seen = new Set<string>();
    for (const kind of kinds) {
      const response = await send(kind.options);
      assert.equal(response.statusCode, kind.status, `${kind.name}: ${response.body}`);
      const id = requestIdOf(response);
      assert.match(id, GENERATED, kind.name);
      assertBodyAgrees(response, id);
      seen.add(id);
    }
    assert.equal(seen.size, kinds.length);
  });

  test('a sane incoming X-Request-Id is echoed on every kind of response', async () => {
    const sane = ['abc-123.DEF:9', 'a', 'x'.repeat(128), '0b8f5c1e-7d3a-4c2e-9f11-2a6b3c4d5e6f'];
    for (const kind of kinds) {
      for (const incoming of sane) {
        const response = await send(kind.options, incoming);
        assert.equal(response.statusCode, kind.status, kind.name);
        assert.equal(requestIdOf(response), incoming, kind.name);
        assertBodyAgrees(response, incoming);
      }
    }
  });

  test('the echoed id is the one the request is logged under', async () => {
    const incoming = `trace-${Date.now()}.log:check`;
    await send({ method: 'GET', url: '/no/such/route' }, incoming);
    assert.ok(capturedLogs.some((line) => line.includes(`"request_id":"${incoming}"`)));
  });

  test('an insane incoming X-Request-Id is replaced by a generated one and never logged', async () => {
    const marker = 'insane7c1d';
    const insane: (string | string[])[] = [
      `${marker}${'x'.repeat(129 - marker.length)}`, // one over the length limit
      `${marker} with spaces`,
      `<script>${marker}</script>`,
      `${marker}"},{"level":60`, // JSON injection into log lines
      `${marker}/../../etc/passwd`,
      `${marker}\u00e9`, // non-ASCII
      [`${marker}-one`, `${marker}-two`], // the header sent twice
      '',
    ];
    const before = capturedLogs.length;
    for (const kind of kinds) {
      for (const incoming of insane) {
        const response = await send(kind.options, incoming);
        assert.equal(response.statusCode, kind.status, kind.name);
        const id = requestIdOf(response);
        assert.match(id, GENERATED, `${kind.name}: ${JSON.stringify(incoming)} was kept`);
        assertBodyAgrees(response, id);
        assert.ok(!response.body.includes(marker));
      }
    }
    const logged = capturedLogs.slice(before);
    assert.ok(logged.length > 0, 'the requests were logged');
    assert.ok(!logged.some((line) => line.includes(marker)), 'an insane id reached the log');
  });
});
