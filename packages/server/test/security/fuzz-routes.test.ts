/**
 * Hostile payloads against every route in the route table (issue 14), property-based with fast-check, so
 * the class of "input of a shape nobody expected reaches code that breaks on it" stays closed as routes are
 * added. Where fuzz.test.ts builds plausible values for real fields, this one sends the raw shapes that
 * break parsers: nesting thousands of levels deep (built as text, so the generator itself never recurses),
 * lone surrogates as `\ud800` escapes, U+0000, bidi marks and emoji, bytes that are not UTF-8, numbers no
 * double holds, prototype keys, wrong types, empty and repeated keys, strings at the body limit, forms with
 * nested brackets, hostile query strings and path parameters — with no credential, a garbage one, and a
 * valid admin key (so that parsing and validation after authentication are reached on every route).
 *
 * The property is security invariant 6 (DESIGN §6): never a 5xx; every 4xx a problem document (or, on the
 * OAuth protocol endpoints and the sign-in page, RFC 6749 JSON or an HTML page). Runs on SQLite: parsing
 * and validation do not depend on the engine; fk-races.test.ts covers the PostgreSQL-specific races.
 * The seed is fixed (override with COHERA_FUZZ_SEED) and printed with any counterexample.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { BODY_LIMIT, type RouteEntry } from '../../src/app.ts';
import { hashApiKey } from '../../src/auth/api-keys/repository.ts';
import { ManualClock } from '../../src/clock.ts';
import { createOrg, startTestApp, type TestApp } from '../support/app.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';
import { assertHandled, isPageForPeople } from '../support/invariants.ts';

const SEED = Number(process.env.COHERA_FUZZ_SEED ?? 20_261_214);

/** Per route; bounded so the file runs in well under a minute on two shared cores. */
const RUNS = 64;
/** HEAD and OPTIONS mirror another route's input handling: a few runs each. */
const RUNS_MIRROR = 8;

/** Routes that take urlencoded forms (the sign-in and consent pages, the OAuth endpoints). */
const FORM_ROUTES = new Set([
  'POST /auth/login',
  'POST /oauth/interaction/:uid/decision',
  'POST /oauth/token',
  'POST /oauth/revoke',
  'POST /oauth/introspect',
  'POST /oauth/device/auth',
  'POST /oauth/device',
  'POST /invitations/accept',
]);

interface Operation {
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
  parameters?: { in: string; name: string }[];
}

/** Percent-encodes every byte of the UTF-8 form (lone surrogates become U+FFFD, as a browser does). */
function encode(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

// ---- JSON values as text: the generator builds strings, never deep objects ----

/** Nesting `depth` levels deep as text; `closed: false` leaves it unterminated. */
const deepJson = fc
  .record({
    open: fc.constantFrom('[', '{"a":', '[{"a":', '{"__proto__":'),
    depth: fc.oneof(
      fc.integer({ min: 1, max: 200 }),
      fc.constantFrom(63, 64, 65, 66, 1_000, 10_000, 100_000),
    ),
    closed: fc.boolean(),
  })
  .map(({ open, depth, closed }) => {
    const close = open === '[' ? ']' : open === '[{"a":' ? '}]' : '}';
    return `${open.repeat(depth)}1${closed ? close.repeat(depth) : ''}`;
  });

/** String literals as JSON text, escapes written out: lone surrogates, NUL, bidi, BOM, emoji. */
const oddStringJson = fc.oneof(
  fc.constantFrom(
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"a\\ud83d"',
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\u202egnp.exe"',
    '"\\u200f\\u200e"',
    '"\\ufeff"',
    '"\\uffff"',
    '"🧪🧪🧪"',
    '"e\\u0301\\u0301\\u0301"',
    '"\\""',
    '"\\\\"',
    '""',
  ),
  fc.string({ unit: 'binary', maxLength: 30 }).map((s) => JSON.stringify(s)),
);

/** Numbers no double holds exactly, or at all. */
const hugeNumberJson = fc.constantFrom(
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '9007199254740993',
  '-9007199254740993',
  '123456789012345678901234567890',
  `1${'0'.repeat(5_000)}`,
  `0.${'0'.repeat(1_000)}1`,
  '1.7976931348623157e309',
);

const wrongTypeJson = fc.constantFrom('null', 'true', 'false', '0', '"s"', '[]', '{}', '[1,2,3]', '[null]');

/** Objects whose keys poison prototypes, or are empty or repeated. */
function keyedJson(fields: readonly string[], value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const field = fields.length > 0 ? fc.constantFrom(...fields) : fc.constant('name');
  return fc.oneof(
    fc.constantFrom(
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{"admin":true}}}',
      '{"prototype":{}}',
      '{"a":{"__proto__":[]}}',
      '[{"__proto__":null}]',
      '{"__proto__":1,"__proto__":2}',
      '{"":1}',
      '{"":""}',
    ),
    fc
      .tuple(field, value, value)
      .map(([name, a, b]) => `{${JSON.stringify(name)}:${a},${JSON.stringify(name)}:${b}}`),
    fc.tuple(field, value).map(([name, v]) => `{${JSON.stringify(name)}:${v},"__proto__":{"x":1}}`),
  );
}

/** Any hostile JSON value, as text. */
function hostileValue(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: deepJson },
    { weight: 3, arbitrary: oddStringJson },
    { weight: 2, arbitrary: hugeNumberJson },
    { weight: 2, arbitrary: wrongTypeJson },
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  );
}

/** A JSON body: a hostile value alone, or in the route's real fields (so it gets past "unknown field"). */
function jsonBody(fields: readonly string[]): fc.Arbitrary<string> {
  const value = hostileValue();
  const inFields =
    fields.length === 0
      ? value
      : fc
          .uniqueArray(fc.constantFrom(...fields), { minLength: 1, maxLength: fields.length })
          .chain((names) =>
            fc
              .tuple(...names.map(() => value))
              .map((values) => `{${names.map((n, i) => `${JSON.stringify(n)}:${values[i]}`).join(',')}}`),
          );
  return fc.oneof(
    { weight: 4, arbitrary: inFields },
    { weight: 2, arbitrary: value },
    keyedJson(fields, value),
    // Strings at and just over the body limit: the parser's and the limit's edges.
    fc
      .tuple(fc.constantFrom(...(fields.length > 0 ? fields : ['name'])), fc.constantFrom(-64, -16, 16))
      .map(
        ([name, delta]) => `{${JSON.stringify(name)}:"${'x'.repeat(BODY_LIMIT + delta - name.length - 6)}"}`,
      ),
  );
}

/** Bytes that are not UTF-8, inside an otherwise valid JSON string. */
const invalidUtf8 = fc
  .tuple(
    fc.constantFrom('name', 'email', 'decision', 'grant_type'),
    fc.constantFrom(
      [0x80],
      [0xc3, 0x28],
      [0xed, 0xa0, 0x80],
      [0xff, 0xfe],
      [0xf0, 0x28, 0x8c, 0xbc],
      [0xc0, 0xaf],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xe2, 0x82],
    ),
  )
  .map(([name, bytes]) =>
    Buffer.concat([Buffer.from(`{"${name}":"a`), Buffer.from(bytes), Buffer.from('b"}')]),
  );

// ---- forms, query strings and path parameters ----

const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    '__proto__[admin]',
    'constructor[prototype][admin]',
    'prototype',
    '',
    '[]',
    'a[]',
  ),
  fc
    .record({
      base: fc.constantFrom('email', 'decision', 'a', 'limit'),
      depth: fc.constantFrom(2, 64, 65, 1_000),
    })
    .map(({ base, depth }) => `${base}${'[x]'.repeat(depth)}`),
  fc.string({ unit: 'binary', maxLength: 12 }).map(encode),
);
const hostileText = fc.oneof(
  fc.constantFrom('%00', '%ED%A0%80', '%FF%FE', '%', '%zz', '%C3%28', '1e400', '-0', '9007199254740993', '+'),
  fc.constantFrom(`1${'0'.repeat(400)}`, 'x'.repeat(2_000)),
  fc.string({ unit: 'binary', maxLength: 30 }).map(encode),
  fc.string({ unit: 'grapheme', maxLength: 10 }).map(encode),
);

/** `a=b&…`: real names and hostile ones, repeated keys, broken encodings. */
function pairs(names: readonly string[], maxLength: number): fc.Arbitrary<string> {
  const name = names.length > 0 ? fc.oneof(fc.constantFrom(...names), hostileKey) : hostileKey;
  return fc
    .array(
      fc.oneof(
        { weight: 5, arbitrary: fc.tuple(name, hostileText).map(([n, v]) => `${n}=${v}`) },
        name,
        fc.constantFrom('&', '=', '==', '&&'),
      ),
      { maxLength },
    )
    .map((list) => list.join('&'));
}

function pathParam(realIds: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...realIds),
    fc.constantFrom(
      '%00',
      '%ED%A0%80',
      '%FF',
      '..',
      '%2e%2e%2f%2e%2e',
      '__proto__',
      'constructor',
      'prototype',
      'x'.repeat(201),
      '%F0%9F%A7%AA',
      '%E2%80%AE',
      '1e400',
      '-0',
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map(encode),
  );
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'Application/JSON',
  'application/x-www-form-urlencoded',
  'application/merge-patch+json',
  'text/plain',
  'multipart/form-data; boundary=x',
  '',
];

let handle: EngineHandle;
let t: TestApp;
let key: string;
let realIds: string[];
let operations: Record<string, Record<string, Operation>>;
const clock = new ManualClock();

before(async () => {
  handle = await prepareEngine('sqlite');
  t = await startTestApp(handle, { clock });
  const org = await createOrg(t.app, 'enterprise');
  key = org.adminKey;
  const supplier = await t.call(key, 'POST', '/v1/suppliers', { name: 'S', country: 'DE' });
  const product = await t.call(key, 'POST', '/v1/products', {
    name: 'P',
    sku: 'sku-1',
    supplier_id: supplier.json().id,
  });
  assert.equal(product.statusCode, 201, product.body);
  // Real ids of every kind, except the fuzzing key's own: a fuzzed revoke must not end the run.
  const db = t.app.deps.db;
  const own = await db.selectFrom('api_keys').select('id').where('key_hash', '=', hashApiKey(key)).execute();
  realIds = [];
  for (const table of await db.introspection.getTables()) {
    if (!table.columns.some((column) => column.name === 'id')) continue;
    const rows = await db
      .selectFrom(table.name as 'orgs')
      .select('id')
      .execute();
    for (const { id } of rows) if (typeof id === 'string' && id !== own[0]?.id) realIds.push(id);
  }
  operations = (await t.inject({ method: 'GET', url: '/openapi.json' })).json().paths;
});
after(async () => {
  await t.close();
  await handle.cleanup();
});

function operationOf(route: RouteEntry): Operation | undefined {
  return operations[route.url.replace(/:([A-Za-z_]+)/g, '{$1}')]?.[route.method.toLowerCase()];
}

/** Every input a request to `route` can carry, generated together. */
function requestsFor(
  route: RouteEntry,
): fc.Arbitrary<InjectOptions & { description: string; form: boolean }> {
  const operation = operationOf(route);
  const fields = Object.keys(operation?.requestBody?.content?.['application/json']?.schema?.properties ?? {});
  const queryNames = (operation?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
  const params = [...route.url.matchAll(/:([A-Za-z_]+)|\*/g)].map((m) => m[0]);
  const isForm = FORM_ROUTES.has(`${route.method} ${route.url}`);
  const takesBody = !['GET', 'HEAD'].includes(route.method);

  const body = fc.oneof(
    { weight: 6, arbitrary: jsonBody(fields).map((payload) => ({ payload, type: 'application/json' })) },
    { weight: 1, arbitrary: invalidUtf8.map((payload) => ({ payload, type: 'application/json' })) },
    {
      weight: isForm ? 5 : 1,
      arbitrary: pairs(
        ['email', 'password', 'decision', 'csrf_token', 'grant_type', 'token', 'client_id'],
        8,
      ).map((payload) => ({ payload, type: 'application/x-www-form-urlencoded' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(jsonBody(fields), fc.constantFrom(...CONTENT_TYPES))
        .map(([payload, type]) => ({ payload, type })),
    },
    { weight: 1, arbitrary: fc.constant({ payload: undefined, type: '' }) },
  );

  return fc
    .record({
      auth: fc.constantFrom('none', 'admin', 'admin', 'garbage'),
      path: fc.tuple(...params.map(() => pathParam(realIds))),
      query: fc.oneof(fc.constant(''), pairs(queryNames, 6)),
      body: takesBody ? body : fc.constant({ payload: undefined, type: '' }),
    })
    .map(({ auth, path, query, body }) => {
      let url = route.url;
      params.forEach((param, i) => {
        url = url.replace(param, path[i] ?? '');
      });
      if (query) url = `${url}?${query}`;
      const headers: Record<string, string> = {};
      if (auth === 'admin') headers.authorization = `Bearer ${key}`;
      // Key-shaped, with a checksum that does not match: refused before any lookup.
      if (auth === 'garbage') headers.authorization = `Bearer ck_live_${'0'.repeat(32)}AAAAAA`;
      if (body.type) headers['content-type'] = body.type;
      const text = typeof body.payload === 'string' ? body.payload : (body.payload?.toString('latin1') ?? '');
      return {
        method: route.method as InjectOptions['method'],
        url,
        headers,
        ...(body.payload === undefined ? {} : { payload: body.payload }),
        form: body.type === 'application/x-www-form-urlencoded',
        description: `${route.method} ${url.slice(0, 200)} [${auth}] ${body.type} ${text.slice(0, 200)}`,
      };
    });
}

test('every route answers hostile bodies, queries and paths with a 4xx in its shape, never a 5xx', async (context) => {
  const routes = t.app.routeTable;
  assert.ok(routes.length >= 60, `only ${routes.length} routes`);
  context.diagnostic(`seed ${SEED} (set COHERA_FUZZ_SEED to change it)`);
  for (const [index, route] of routes.entries()) {
    const mirror = route.method === 'HEAD' || route.method === 'OPTIONS';
    // Sign-in verifies an argon2id hash on purpose slowly whenever a body gets through validation.
    const runs = mirror ? RUNS_MIRROR : route.url === '/auth/login' ? RUNS / 4 : RUNS;
    const seed = SEED + index;
    const result = await fc.check(
      fc.asyncProperty(requestsFor(route), async ({ description, form, ...options }) => {
        const response = await t.inject(options);
        // A non-preflight OPTIONS (no Origin, no Access-Control-Request-Method) never reaches a parser:
        // the engine's router answers its own 404 in text/plain. Only the status is checked there.
        if (route.method === 'OPTIONS') return assert.ok(response.statusCode < 500, description);
        assertHandled(response, description, route.url, {
          method: route.method,
          // The invitation page answers people in HTML whatever they send (a bad link is a page, not JSON).
          pageForPeople: (form && route.url === '/auth/login') || isPageForPeople(route.url),
        });
      }),
      { numRuns: runs, seed, includeErrorInReport: true },
    );
    if (result.failed) {
      assert.fail(
        `${route.method} ${route.url}: ${fc.defaultReportMessage(result)}\n` +
          `reproduce with COHERA_FUZZ_SEED=${SEED} (route seed ${seed})`,
      );
    }
    clock.advance(61_000); // a fresh rate-limit minute for the next route
  }
});

test('the fuzzing key still works: the runs reached validation, not a locked door', async () => {
  const response = await t.call(key, 'GET', '/v1/suppliers');
  assert.equal(response.statusCode, 200);
});
