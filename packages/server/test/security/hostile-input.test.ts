/**
 * Hostile input that used to get past validation or crash it (issue 14): bodies nested thousands of levels
 * deep (a stack overflow, so a 500 and a blocked event loop, before any handler ran), date-times that do
 * not exist (`2030-02-31T00:00:00Z` silently became 3 March), and a request carrying two Authorization
 * headers (Node keeps the first; a proxy may act on the other). Each answer must be a 400 that names the
 * problem, and no stack may reach the log. The raw-header cases go over a real socket: only there can a
 * request carry the same header twice in two spellings.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { isDate, isDateTime, readTimestamp, TimestampInput } from '../../src/http/timestamps.ts';
import {
  capturedLogs,
  createKey,
  createOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from '../support/app.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';
import { freePort, type RegisteredClient, registerClient } from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';

const DEPTH_WORDS = 'the body nests deeper than 64 levels';

/** `{"name": [[…]], …}`: the object is level 1, so `arrays` + 1 levels in all. */
function nestedBody(levels: number, field: string, rest: Record<string, string> = {}): string {
  const arrays = levels - 1;
  const tail = Object.entries(rest)
    .map(([key, value]) => `,${JSON.stringify(key)}:${JSON.stringify(value)}`)
    .join('');
  return `{${JSON.stringify(field)}:${'['.repeat(arrays)}${']'.repeat(arrays)}${tail}}`;
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 request written byte for byte, so header lines can repeat exactly as a client sends them. */
function rawRequest(port: number, lines: string[], body = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...headerLines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let payload = text.slice(split + 4);
      if (headers['transfer-encoding'] === 'chunked') {
        let decoded = '';
        for (;;) {
          const end = payload.indexOf('\r\n');
          const size = Number.parseInt(payload.slice(0, end), 16);
          if (!size) break;
          decoded += payload.slice(end + 2, end + 2 + size);
          payload = payload.slice(end + 2 + size + 2);
        }
        payload = decoded;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: payload });
    });
    const length = Buffer.byteLength(body);
    socket.end(
      [...lines, 'Host: 127.0.0.1', `Content-Length: ${length}`, 'Connection: close', '', body].join('\r\n'),
    );
  });
}

describe('hostile input', () => {
  let handle: EngineHandle;
  let t: TestApp;
  let port: number;
  let org: TestOrg;
  let otherKey: string;
  const clock = new ManualClock();
  /** Request ids of every hostile request: none may have logged an error or a stack. */
  const hostile: string[] = [];

  before(async () => {
    handle = await prepareEngine('sqlite');
    port = await freePort();
    t = await startTestApp(handle, {
      clock,
      env: { COHERA_PUBLIC_URL: `http://127.0.0.1:${port}` },
      beforeReady: (app) => {
        // A body parser that does not bound nesting, as a future content type might not: the NUL check
        // (every route with a body schema gets it) must still walk what it produces without overflowing.
        app.register(async (scope) => {
          scope.addContentTypeParser('application/x-unbounded', { parseAs: 'string' }, (_r, text, done) => {
            let value: unknown = String(text);
            for (let i = 0; i < 200_000; i++) value = [value];
            done(null, value);
          });
          scope.post(
            '/test/unbounded',
            { config: { access: { public: true } }, schema: { body: {} } },
            async () => ({ ok: true }),
          );
        });
      },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
    org = await createOrg(t.app);
    otherKey = (await createOrg(t.app)).adminKey;
  });
  after(async () => {
    await t.close();
    await handle.cleanup();
  });

  function post(url: string, payload: string, headers: Record<string, string> = {}) {
    return t.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload,
    });
  }
  const admin = () => ({ authorization: `Bearer ${org.adminKey}` });

  describe('nesting', () => {
    test('65 levels is a 400 that says so, on an API route, sign-in and the consent form', async () => {
      const cases: [string, string, Record<string, string>][] = [
        ['/v1/suppliers', nestedBody(65, 'name', { country: 'DE' }), admin()],
        ['/v1/certificates', nestedBody(65, 'product_ids'), admin()],
        ['/auth/login', nestedBody(65, 'email', { password: 'x' }), {}],
        ['/oauth/interaction/abc/decision', nestedBody(65, 'decision'), {}],
      ];
      for (const [url, body, headers] of cases) {
        const response = await post(url, body, headers);
        const problem = assertProblem(response, 400, 'validation_failed', 'body');
        assert.equal(problem.detail, `body: ${DEPTH_WORDS}`, url);
        hostile.push(problem.request_id);
      }
    });

    test('64 levels gets past the parser to the schema, which names the field', async () => {
      const response = await post('/v1/suppliers', nestedBody(64, 'name', { country: 'DE' }), admin());
      const problem = assertProblem(response, 400, 'validation_failed', 'body/name');
      assert.doesNotMatch(problem.detail ?? '', /nests deeper/);
      const login = await post('/auth/login', nestedBody(64, 'email', { password: 'x' }));
      assertProblem(login, 400, 'validation_failed', 'body/email');
    });

    test('10,000 and 100,000 levels, of arrays or objects, are the same 400 and not a 500', async () => {
      for (const levels of [10_000, 100_000]) {
        const bodies = [
          nestedBody(levels, 'name', { country: 'DE' }),
          `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`,
          '['.repeat(levels), // never closed: still refused for its depth, not its syntax
        ];
        for (const body of bodies) {
          for (const [url, headers] of [
            ['/v1/suppliers', admin()],
            ['/v1/products/prd_x', admin()],
            ['/auth/login', {}],
            ['/oauth/interaction/abc/decision', {}],
          ] as const) {
            const method = url.startsWith('/v1/products/') ? 'PATCH' : 'POST';
            const response = await t.inject({
              method,
              url,
              headers: { 'content-type': 'application/json', ...headers },
              payload: body,
            });
            const problem = assertProblem(response, 400, 'validation_failed', 'body');
            assert.equal(problem.detail, `body: ${DEPTH_WORDS}`, `${url} ${levels}`);
            hostile.push(problem.request_id);
          }
        }
      }
    });

    test('brackets inside strings do not count, escaped quotes do not end them', async () => {
      const name = `${'['.repeat(500)}\\"${'{'.repeat(500)}`;
      const response = await post('/v1/suppliers', `{"name":"${name}","country":"DE"}`, admin());
      // Past the parser: the schema refuses the 1,000-character name (maxLength 200), naming it.
      assertProblem(response, 400, 'validation_failed', 'body/name');
    });

    test('nested brackets in a sign-in or consent form stay flat keys: refused as unknown fields', async () => {
      // 1,500 levels: under the consent form's 16 KiB body limit once percent-encoded.
      const deepKey = `email${'[a]'.repeat(1500)}`;
      for (const url of ['/auth/login', '/oauth/interaction/abc/decision']) {
        const response = await t.inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: `${encodeURIComponent(deepKey)}=x&__proto__[admin]=1&constructor[prototype][x]=1`,
        });
        assertProblem(response, 400, 'validation_failed');
        hostile.push(response.json().request_id);
      }
    });

    test('prototype keys are refused by name, anywhere in the body', async () => {
      for (const body of [
        '{"__proto__":{"admin":true},"name":"S","country":"DE"}',
        '{"name":"S","country":"DE","contact_email":null,"x":{"constructor":{"prototype":{"admin":true}}}}',
      ]) {
        const response = await post('/v1/suppliers', body, admin());
        const problem = assertProblem(response, 400, 'validation_failed', 'body');
        assert.match(problem.detail ?? '', /forbidden key/);
      }
      // Invalid JSON stays "not valid JSON", however it looks.
      const broken = await post('/v1/suppliers', '{"__proto__":', admin());
      assert.doesNotMatch(assertProblem(broken, 400, 'validation_failed').detail ?? '', /forbidden/);
    });

    test('the NUL check walks input of any depth without overflowing', async () => {
      const clean = await t.inject({
        method: 'POST',
        url: '/test/unbounded',
        headers: { 'content-type': 'application/x-unbounded' },
        payload: 'leaf',
      });
      assert.equal(clean.statusCode, 200, clean.body);
      const withNul = await t.inject({
        method: 'POST',
        url: '/test/unbounded',
        headers: { 'content-type': 'application/x-unbounded' },
        payload: 'a\u0000b',
      });
      const problem = assertProblem(withNul, 400, 'validation_failed');
      // The path is named, elided after 16 segments rather than 200,000 of them.
      assert.equal(problem.errors?.[0]?.field, `body${'/0'.repeat(16)}/…`);
      assert.match(problem.detail ?? '', /must not contain NUL characters/);
      hostile.push(problem.request_id);
    });
  });

  describe('impossible date-times', () => {
    const IMPOSSIBLE = [
      '2030-02-31T00:00:00Z', // 31 February
      '2029-02-29T12:00:00Z', // not a leap year
      '2100-02-29T00:00:00Z', // a century that is not a leap year
      '2030-04-31T08:00:00+02:00',
      '2030-13-01T00:00:00Z',
      '2030-01-01T24:00:00Z', // RFC 3339 hours are 00–23
      '2030-01-01T23:60:00Z',
      '2030-06-30T23:59:60Z', // a leap second: refused (see http/timestamps.ts)
      '2030-01-01T10:00:00+24:00',
      '2030-01-01T10:00:00-05:60',
      '2030-02-31', // and the plain-date form, as before
    ];
    const POSSIBLE = ['2028-02-29T12:00:00Z', '2030-01-01T10:00:00+05:30', '2030-06-30T23:59:59.999Z'];

    /** Every timestamp field a route accepts, read from /openapi.json: a new one is covered unasked. */
    async function timestampFields(): Promise<{ route: string; where: 'body' | 'query'; name: string }[]> {
      const pattern = JSON.stringify((TimestampInput as unknown as { pattern: string }).pattern);
      // A field is a timestamp input when its schema (or a branch of it) carries TimestampInput's pattern.
      const isTimestamp = (schema: unknown) => JSON.stringify(schema ?? null).includes(pattern.slice(1, -1));
      type Op = {
        requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
        parameters?: { in: string; name: string; schema?: unknown }[];
      };
      const paths = (await t.inject({ method: 'GET', url: '/openapi.json' })).json().paths as Record<
        string,
        Record<string, Op>
      >;
      const found: { route: string; where: 'body' | 'query'; name: string }[] = [];
      for (const [path, operations] of Object.entries(paths)) {
        for (const [method, op] of Object.entries(operations)) {
          const route = `${method.toUpperCase()} ${path}`;
          const properties = op.requestBody?.content?.['application/json']?.schema?.properties ?? {};
          for (const [name, schema] of Object.entries(properties))
            if (isTimestamp(schema)) found.push({ route, where: 'body', name });
          for (const parameter of op.parameters ?? [])
            if (parameter.in === 'query' && isTimestamp(parameter.schema))
              found.push({ route, where: 'query', name: parameter.name });
        }
      }
      return found;
    }

    test('are refused on every timestamp field of every route, naming the field', async () => {
      const key = org.adminKey;
      const spareKey = await t.call(key, 'POST', '/v1/api-keys', {
        name: 'spare',
        scopes: ['read:suppliers'],
      });
      const account = await t.call(key, 'POST', '/v1/service-accounts', {
        name: 'svc',
        scopes: ['read:suppliers'],
      });
      const supplier = await t.call(key, 'POST', '/v1/suppliers', { name: 'S', country: 'DE' });
      const supplierId = supplier.json().id as string;
      const certificateBody = {
        standard: 'ISO 9001',
        number: 'N-1',
        issuer: 'TÜV',
        supplier_id: supplierId,
        issued_at: '2027-01-01T00:00:00Z',
        expires_at: '2031-01-01T00:00:00Z',
      };
      const certificate = await t.call(key, 'POST', '/v1/certificates', certificateBody);
      assert.equal(certificate.statusCode, 201, certificate.body);
      const endpoint = await t.call(key, 'POST', '/v1/webhook-endpoints', {
        url: 'https://hooks.example.com/cohera',
        events: ['*'],
      });
      assert.equal(endpoint.statusCode, 201, endpoint.body);

      /** A request each route accepts, but for the field under test; the URL with real ids. */
      const BASE: Record<string, { url: string; body?: Record<string, unknown> }> = {
        'POST /v1/api-keys': { url: '/v1/api-keys', body: { name: 'k', scopes: ['read:suppliers'] } },
        'POST /v1/api-keys/{id}/roll': { url: `/v1/api-keys/${spareKey.json().id}/roll`, body: {} },
        'POST /v1/service-accounts/{id}/keys': {
          url: `/v1/service-accounts/${account.json().id}/keys`,
          body: {},
        },
        'GET /v1/audit-events': { url: '/v1/audit-events' },
        'GET /v1/audit-events/export': { url: '/v1/audit-events/export' },
        'POST /v1/certificates': { url: '/v1/certificates', body: certificateBody },
        'GET /v1/certificates': { url: '/v1/certificates' },
        'PATCH /v1/certificates/{id}': { url: `/v1/certificates/${certificate.json().id}`, body: {} },
        'POST /v1/webhook-endpoints/{id}/recover': {
          url: `/v1/webhook-endpoints/${endpoint.json().id}/recover`,
          body: {},
        },
      };
      const fields = await timestampFields();
      assert.ok(fields.length >= 8, `only ${fields.length} timestamp fields found`);

      const send = (route: string, where: 'body' | 'query', name: string, value: string) => {
        const base = BASE[route];
        assert.ok(base, `${route} takes a timestamp: give it a base request in BASE`);
        const method = route.split(' ')[0] as 'GET' | 'POST' | 'PATCH';
        if (where === 'query') {
          return t.call(key, method, `${base.url}?${name}=${encodeURIComponent(value)}`);
        }
        return t.call(key, method, base.url, { ...base.body, [name]: value });
      };
      for (const { route, where, name } of fields) {
        for (const value of IMPOSSIBLE) {
          const response = await send(route, where, name, value);
          assertProblem(response, 400, 'validation_failed', `${where}/${name}`);
          hostile.push(response.json().request_id);
        }
        for (const value of POSSIBLE) {
          const response = await send(route, where, name, value);
          // Other rules may still refuse it (expires_at before issued_at…), but not as a timestamp.
          const refusedAsTimestamp =
            response.statusCode === 400 &&
            response
              .json<{ errors?: { field: string; message: string }[] }>()
              .errors?.some(
                (e) =>
                  e.field === `${where}/${name}` &&
                  /valid date|time of day|offset|leap|ISO 8601|out of range|pattern/.test(e.message),
              );
          assert.ok(!refusedAsTimestamp, `${route} ${name}=${value} refused: ${response.body}`);
        }
        clock.advance(61_000); // a fresh rate-limit minute
      }
    });

    test('the rules, one function for dates and date-times (and Ajv’s formats)', () => {
      const ok = (value: string, means?: 'end-of-day') => {
        const reading = readTimestamp(value, means);
        assert.ok(reading.ok, `${value}: ${reading.ok ? '' : reading.problem}`);
        return new Date(reading.ms).toISOString();
      };
      const refused = (value: string) => {
        const reading = readTimestamp(value);
        assert.ok(!reading.ok, `${value} was accepted`);
        return reading.problem;
      };
      for (const leap of ['2000-02-29', '2028-02-29', '2400-02-29']) ok(leap);
      for (const common of ['1900-02-29', '2100-02-29', '2029-02-29'])
        assert.equal(refused(common), 'is not a valid date');
      assert.equal(ok('2027-01-31', 'end-of-day'), '2027-01-31T23:59:59.000Z');
      assert.equal(ok('2030-01-01T10:00:00+23:59'), '2029-12-31T10:01:00.000Z');
      assert.equal(ok('2030-01-01T10:00:00-00:00'), '2030-01-01T10:00:00.000Z');
      assert.equal(ok('2030-01-01T10:00Z'), '2030-01-01T10:00:00.000Z');
      assert.equal(ok('2030-01-01T10:00:00.57Z'), '2030-01-01T10:00:00.570Z');
      assert.equal(ok('2030-01-01T10:00:00.123456789Z'), '2030-01-01T10:00:00.123Z');
      assert.equal(ok('1899-12-31T23:30:00-01:00'), '1900-01-01T00:30:00.000Z');
      assert.match(refused('2030-06-30T23:59:60Z'), /leap second/);
      assert.match(refused('2030-01-01T24:00:00Z'), /time of day/);
      assert.match(refused('2030-01-01T10:00:00+24:00'), /offset/);
      for (const outside of [
        '0050-01-01',
        '1899-12-31',
        '1900-01-01T00:30:00+01:00',
        '9999-12-31T23:00:00-02:00',
      ])
        assert.equal(refused(outside), 'is out of range');
      assert.equal(refused('2030-01-01T10:00:00'), 'must be an ISO 8601 date-time or date');
      assert.equal(isDateTime('2030-02-31T00:00:00Z'), false);
      assert.equal(isDateTime('2030-01-31T00:00:00Z'), true);
      assert.equal(isDateTime('2030-01-31'), false);
      assert.equal(isDate('2030-02-31'), false);
      assert.equal(isDate('2030-01-31'), true);
    });
  });

  describe('two Authorization headers', () => {
    let client: RegisteredClient;
    before(async () => {
      client = await registerClient(t, org.adminKey);
    });

    const bearer = (key: string) => `Bearer ${key}`;

    test('one is answered as usual (the control)', async () => {
      const response = await rawRequest(port, [
        'GET /v1/suppliers HTTP/1.1',
        `Authorization: ${bearer(org.adminKey)}`,
      ]);
      assert.equal(response.status, 200, response.body);
    });

    test('two, identical or not, in either spelling, are a 400 naming the header', async () => {
      const readKey = await createKey(t.app, org, ['read:suppliers']);
      const pairs: [string, string][] = [
        [`Authorization: ${bearer(org.adminKey)}`, `Authorization: ${bearer(org.adminKey)}`],
        [`Authorization: ${bearer(org.adminKey)}`, `authorization: ${bearer(otherKey)}`],
        [`authorization: ${bearer(readKey)}`, `AUTHORIZATION: ${bearer(org.adminKey)}`],
        [`Authorization: ${bearer(org.adminKey)}`, 'Authorization: Basic Zm9vOmJhcg=='],
      ];
      for (const [first, second] of pairs) {
        for (const target of ['GET /v1/suppliers', 'GET /health', 'GET /auth/session']) {
          const response = await rawRequest(port, [`${target} HTTP/1.1`, first, 'X-Padding: 1', second]);
          assert.equal(response.status, 400, `${target}: ${response.body}`);
          assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
          const problem = JSON.parse(response.body) as { code: string; errors: { field: string }[] };
          assert.equal(problem.code, 'validation_failed');
          assert.deepEqual(
            problem.errors.map((e) => e.field),
            ['header/authorization'],
          );
          // Neither credential is echoed.
          assert.ok(!response.body.includes(org.adminKey) && !response.body.includes(otherKey));
        }
      }
    });

    test('the OAuth endpoints that authenticate clients answer invalid_request (RFC 6749 §2.3)', async () => {
      assert.ok(client.client_secret);
      const basic = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
      const form =
        'grant_type=authorization_code&code=nope&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback';
      const formType = 'Content-Type: application/x-www-form-urlencoded';
      // The control: one Basic header authenticates the client; the made-up code is what fails.
      const one = await rawRequest(
        port,
        ['POST /oauth/token HTTP/1.1', formType, `Authorization: ${basic}`],
        form,
      );
      assert.equal(one.status, 400, one.body);
      assert.equal(JSON.parse(one.body).error, 'invalid_grant');

      for (const url of ['/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
        const body = url === '/oauth/token' ? form : 'token=abc';
        const two = await rawRequest(
          port,
          [`POST ${url} HTTP/1.1`, formType, `Authorization: ${basic}`, `authorization: ${basic}`],
          body,
        );
        assert.equal(two.status, 400, `${url}: ${two.body}`);
        assert.match(two.headers['content-type'] ?? '', /^application\/json/);
        const error = JSON.parse(two.body) as { error: string; error_description: string };
        assert.equal(error.error, 'invalid_request');
        assert.match(error.error_description, /one Authorization header/);
        assert.ok(!two.body.includes(client.client_secret));
      }

      // Two methods in one request (Basic and client_secret in the body): the engine refuses it itself.
      const both = await rawRequest(
        port,
        ['POST /oauth/token HTTP/1.1', formType, `Authorization: ${basic}`],
        `${form}&client_id=${client.client_id}&client_secret=${client.client_secret}`,
      );
      assert.equal(both.status, 400, both.body);
      assert.equal(JSON.parse(both.body).error, 'invalid_request');
    });
  });

  test('none of these hostile requests logged an error or a stack', () => {
    assert.ok(hostile.length > 100, `only ${hostile.length} requests`);
    const ids = new Set(hostile);
    const lines = capturedLogs.filter((line) => {
      const id = /"request_id":"([^"]+)"/.exec(line)?.[1];
      return id !== undefined && ids.has(id);
    });
    assert.ok(lines.length >= ids.size, 'the requests were logged');
    for (const line of lines) {
      assert.doesNotMatch(line, /"stack"/, line.slice(0, 300));
      assert.ok((JSON.parse(line) as { level: number }).level < 50, line.slice(0, 300));
    }
  });
});
