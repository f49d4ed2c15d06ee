/**
 * The error model (DESIGN §4, src/http/errors.ts): every failure, ours or Fastify's, answers an RFC 9457
 * problem document with a stable `code` and the request id, and an unexpected exception reveals nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ERROR_CODES, type ErrorCode, isErrorCode, PROBLEM_TYPE_BASE } from '@cohera/shared';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { BODY_LIMIT, buildApp } from '../../src/app.ts';
import { capturedLogs, createKey, createOrg, logCapture, type TestOrg } from '../support/app.ts';
import { tempDir, testConfig } from '../support/config.ts';

/** Checks the RFC 9457 shape and returns the body for further checks. */
function assertProblem(
  response: LightMyRequestResponse,
  status: number,
  code: ErrorCode,
): Record<string, unknown> {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const body = response.json() as Record<string, unknown>;
  assert.equal(body.code, code);
  assert.ok(isErrorCode(body.code));
  assert.equal(body.type, `${PROBLEM_TYPE_BASE}${code}`);
  assert.equal(body.title, ERROR_CODES[code].title);
  assert.equal(body.status, status);
  const requestId = response.headers['x-request-id'];
  assert.equal(typeof requestId, 'string');
  assert.equal(body.request_id, requestId);
  return body;
}

// Text that only the throwing routes contain: it must reach the log, never the response.
const LEAK = 'leak-marker-7f3a9 password=hunter2';

describe('error model', () => {
  const dir = tempDir();
  let app: FastifyInstance;
  let org: TestOrg;

  before(async () => {
    app = await buildApp(testConfig({}, dir.path), { logDestination: logCapture() });
    const publicRoute = { config: { access: { public: true as const } } };
    app.get('/test/throws', publicRoute, async () => {
      throw new Error(`unexpected: ${LEAK}`);
    });
    app.get('/test/throws-sync', publicRoute, () => {
      throw new TypeError(`sync: ${LEAK}`);
    });
    app.get('/test/throws-string', publicRoute, async () => {
      throw `a bare string: ${LEAK}`;
    });
    app.get('/test/throws-upstream', publicRoute, async () => {
      // Shaped like a driver error: a 5xx status and a code of its own must not leak either. 42P01
      // (undefined_table) is a bug, not an outage.
      throw Object.assign(new Error(`relation missing: ${LEAK}`), { statusCode: 502, code: '42P01' });
    });
    app.get('/test/database-down', publicRoute, async () => {
      // What pg throws when the server shuts down under a query: an outage, not a bug.
      throw Object.assign(new Error(`terminating connection due to administrator command: ${LEAK}`), {
        code: '57P01',
      });
    });
    await app.ready();
    org = await createOrg(app);
  });
  after(async () => {
    await app.close();
    dir.remove();
  });

  function post(payload: string, contentType = 'application/json', key?: string) {
    const options: InjectOptions = {
      method: 'POST',
      url: '/v1/suppliers',
      headers: { authorization: `Bearer ${key ?? org.adminKey}`, 'content-type': contentType },
      payload,
    };
    return app.inject(options);
  }

  test('an unknown route is a 404 route_not_found naming the method and path, not the query', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/nothing-here?token=abc' });
    const body = assertProblem(response, 404, 'route_not_found');
    assert.equal(body.detail, 'No route for GET /v1/nothing-here');
    const deleteResponse = await app.inject({ method: 'DELETE', url: '/no/such/thing' });
    assertProblem(deleteResponse, 404, 'route_not_found');
  });

  test('errors raised while routing are problems too: over-long or badly encoded path segments', async () => {
    const auth = { authorization: `Bearer ${org.adminKey}` };
    const long = await app.inject({ method: 'GET', url: `/v1/suppliers/${'x'.repeat(201)}`, headers: auth });
    const longBody = assertProblem(long, 400, 'validation_failed');
    assert.ok(!long.body.includes('x'.repeat(50)), 'the path is not echoed');
    assert.match(String(longBody.detail), /^path: /);
    const bad = await app.inject({ method: 'GET', url: '/v1/suppliers/%E0%A4%A', headers: auth });
    const badBody = assertProblem(bad, 400, 'validation_failed');
    assert.match(String(badBody.detail), /^path: /);
  });

  test('a body that is not JSON is a 415 unsupported_media_type', async () => {
    assertProblem(await post('name=Acme', 'text/plain'), 415, 'unsupported_media_type');
    assertProblem(await post('<supplier/>', 'application/xml'), 415, 'unsupported_media_type');
    // Forms are for the sign-in page only; the API takes JSON.
    const form = await post('name=Acme&country=DE', 'application/x-www-form-urlencoded');
    assertProblem(form, 415, 'unsupported_media_type');
    // Nothing was created by either attempt.
    const list = await app.inject({
      method: 'GET',
      url: '/v1/suppliers',
      headers: { authorization: `Bearer ${org.adminKey}` },
    });
    assert.deepEqual(list.json().data, []);
  });

  test('a body over 1 MiB is a 413 payload_too_large', async () => {
    const huge = JSON.stringify({ name: 'a'.repeat(BODY_LIMIT), country: 'DE' });
    assert.ok(huge.length > BODY_LIMIT);
    assertProblem(await post(huge), 413, 'payload_too_large');
    // Just under the limit is parsed and validated instead (name is too long: a 400 naming it).
    const under = JSON.stringify({ name: 'a'.repeat(BODY_LIMIT - 100), country: 'DE' });
    const body = assertProblem(await post(under), 400, 'validation_failed');
    assert.match(String(body.detail), /^name must be at most 200 characters long$/);
  });

  test('malformed JSON is a 400 validation_failed whose detail says the body is not JSON', async () => {
    for (const payload of ['{"name": "x",', '{"name": x}', "{'name': 'x'}", '{"a":1}}']) {
      const body = assertProblem(await post(payload), 400, 'validation_failed');
      assert.match(String(body.detail), /^body: .*not valid JSON/, payload);
    }
    const empty = assertProblem(await post(''), 400, 'validation_failed');
    assert.match(String(empty.detail), /^body: .*empty/);
  });

  test('a JSON null, array, string or number body is a 400 naming the body', async () => {
    for (const payload of ['null', '[]', '[{"name":"Acme","country":"DE"}]', '"Acme"', '42', 'true']) {
      const body = assertProblem(await post(payload), 400, 'validation_failed');
      assert.deepEqual(
        body.errors,
        [{ field: 'body', message: 'the request body must be a JSON object' }],
        payload,
      );
    }
  });

  test('a NUL character in a string is a 400 naming the field', async () => {
    const cases: [unknown, string, string][] = [
      [{ name: 'Ac\u0000me', country: 'DE' }, 'body/name', 'name'],
      [
        { name: 'Acme', country: 'DE', contact_email: 'a@b.example\u0000' },
        'body/contact_email',
        'contact_email',
      ],
      [{ name: 'Acme', country: 'DE', 'evil\u0000key': 1 }, 'body/evil\u0000key', 'evil\u0000key'],
    ];
    for (const [payload, field, name] of cases) {
      const body = assertProblem(await post(JSON.stringify(payload)), 400, 'validation_failed');
      assert.deepEqual(body.errors, [{ field, message: `${name} must not contain NUL characters` }]);
    }
    const query = await app.inject({
      method: 'GET',
      url: '/v1/suppliers?status=active%00',
      headers: { authorization: `Bearer ${org.adminKey}` },
    });
    const body = assertProblem(query, 400, 'validation_failed');
    assert.deepEqual(body.errors, [
      { field: 'query/status', message: 'query parameter status must not contain NUL characters' },
    ]);
  });

  test('a validation error names the field and the rule', async () => {
    const body = assertProblem(await post(JSON.stringify({ name: 'Acme' })), 400, 'validation_failed');
    assert.deepEqual(body.errors, [{ field: 'body/country', message: 'country is required' }]);
    const extra = assertProblem(
      await post(JSON.stringify({ name: 'Acme', country: 'DE', colour: 'red' })),
      400,
      'validation_failed',
    );
    assert.deepEqual(extra.errors, [
      {
        field: 'body/colour',
        message: 'colour is not a known field; known fields: name, country, contact_email, status',
      },
    ]);
  });

  test('authentication and scope failures are problems too', async () => {
    const missing = await app.inject({ method: 'GET', url: '/v1/suppliers' });
    assertProblem(missing, 401, 'missing_credential');
    assert.match(String(missing.headers['www-authenticate']), /^Bearer /);
    const malformed = await app.inject({
      method: 'GET',
      url: '/v1/suppliers',
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    });
    assertProblem(malformed, 401, 'invalid_credential');
    const readProducts = await createKey(app, org, ['read:products']);
    const denied = await post(
      JSON.stringify({ name: 'Acme', country: 'DE' }),
      'application/json',
      readProducts,
    );
    const body = assertProblem(denied, 403, 'insufficient_scope');
    assert.equal(body.required_scope, 'write:suppliers');
  });

  for (const url of ['/test/throws', '/test/throws-sync', '/test/throws-string', '/test/throws-upstream']) {
    test(`an unexpected exception (${url}) is a bare 500 internal_error`, async () => {
      const response = await app.inject({ method: 'GET', url });
      const body = assertProblem(response, 500, 'internal_error');
      // Nothing but the generic problem: no message, no stack, no error code of the cause.
      assert.deepEqual(Object.keys(body).sort(), ['code', 'detail', 'request_id', 'status', 'title', 'type']);
      assert.equal(body.detail, 'An unexpected error occurred');
      for (const fragment of ['leak-marker', 'hunter2', 'unexpected:', ' at ', 'stack', '42P01', '.ts']) {
        assert.ok(!response.body.includes(fragment), `500 body contains "${fragment}"`);
      }
      // The request id in the body is how an operator finds the real error in the log.
      const logged = capturedLogs.filter((line) => line.includes(`"request_id":"${body.request_id}"`));
      assert.ok(
        logged.some((line) => line.includes('leak-marker-7f3a9') && line.includes('"level":50')),
        'the error is logged at error level under the request id',
      );
    });
  }

  test('a database outage is a 503 with Retry-After, revealing nothing and logging no error', async () => {
    const response = await app.inject({ method: 'GET', url: '/test/database-down' });
    const body = assertProblem(response, 503, 'service_unavailable');
    assert.equal(response.headers['retry-after'], '5');
    assert.match(String(body.detail), /database .* retry in 5 s/);
    for (const fragment of ['leak-marker', 'hunter2', 'administrator', '57P01', ' at ']) {
      assert.ok(!response.body.includes(fragment), `503 body contains "${fragment}"`);
    }
    // The error made the node probe its database, which answers: no outage is declared, nothing at error.
    assert.equal(await app.deps.database.availability.check(), true);
    const logged = capturedLogs.filter((line) => line.includes(`"request_id":"${body.request_id}"`));
    assert.ok(!logged.some((line) => /"level":(50|60)/.test(line)), 'no error-level line for the request');
    assert.ok(!capturedLogs.some((line) => line.includes('"database":"unreachable"')), 'no outage logged');
  });
});
