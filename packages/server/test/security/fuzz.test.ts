/**
 * Security invariant 6 (DESIGN §6): bad input of any shape gets a 4xx problem response, never a 500 and
 * never a crash. Every GET, POST and PATCH route in the route table is fed random JSON, objects built from
 * its real field names (taken from /openapi.json, so new routes and fields are covered without edits)
 * with wrong-typed, huge, unicode and NUL-containing values, random query strings and random or real path
 * ids. An admin key is used so that requests get past authentication and reach validation. Both engines:
 * PostgreSQL is where NUL bytes, odd unicode and out-of-range numbers break things.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import type { RouteEntry } from '../../src/app.ts';
import { hashApiKey } from '../../src/auth/api-keys/repository.ts';
import { ManualClock } from '../../src/clock.ts';
import { createKey, createOrg, startTestApp, type TestApp } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertHandled, isPageForPeople } from '../support/invariants.ts';

/**
 * Runs per kind of input (bodies, queries) and engine, shared among the routes (between 25 and 150 each),
 * so the file stays well under 30 s as routes are added. Sign-in verifies an argon2id hash on purpose
 * slowly, so it gets a quarter share.
 */
const RUNS_PER_KIND = 1200;
function runsFor(route: RouteEntry, routeCount: number): number {
  const share = Math.min(150, Math.max(25, Math.floor(RUNS_PER_KIND / routeCount)));
  return route.url === '/auth/login' ? Math.ceil(share / 4) : share;
}

interface JsonSchema {
  type?: string | string[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
}

interface Operation {
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  parameters?: { in: string; name: string }[];
}

/** Strings that have broken servers before: control characters, lone surrogates, bidi, injections. */
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'a\ud83d',
  '\uffff',
  '\ufeff',
  '\u202egnp.exe',
  'e\u0301'.repeat(50),
  '🧪'.repeat(100),
  "'; drop table suppliers; --",
  '" or 1=1 --',
  '%00',
  '%zz',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell probe, meant literally
  '${jndi:ldap://x}',
  '__proto__',
  'constructor',
  'null',
  'NaN',
  '1e309',
  '-1',
  '2027-02-31',
  '2027-01-31',
  '9999-12-31T23:59:59Z',
  '0000-01-01',
  '1899-12-31T23:59:59Z',
  '2026-11-22T10:00:00+25:00',
  '2026-11-22T10:00:00.1234567891Z',
  'DE',
  'de',
  'XX',
  'ISO 9001',
  'a@b.example',
  'ck_live_00000000000000000000000000000000000000',
];

const NASTY_NUMBERS = [
  0,
  -0,
  -1,
  1,
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 53,
  2 ** 63,
  1e308,
  -1e308,
  0.5,
  3650,
  3651,
];

/** Random and known-bad strings; `huge` lengths go past every maxLength (bodies up to ~800 KB). */
function nasty(huge: readonly number[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...NASTY_STRINGS),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.string({ unit: 'binary-ascii', maxLength: 40 }),
    fc.constantFrom(...huge).chain((n) => fc.constantFrom('x'.repeat(n), 'é'.repeat(n))),
  );
}
// Query strings and paths stay short enough for a real HTTP server's header limit (16 KiB).
const shortString = nasty([65, 201, 1025]);
const nastyString = nasty([201, 1025, 70_000, 400_000]);

/** Strings matching a schema pattern, when fast-check supports the pattern's syntax. */
function matchingStrings(pattern: RegExp): fc.Arbitrary<string>[] {
  try {
    return [fc.stringMatching(pattern)];
  } catch {
    return [];
  }
}

function scalarOf(text: fc.Arbitrary<string>, realId: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.oneof(
    text,
    realId,
    fc.constantFrom(...NASTY_NUMBERS),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
  );
}

function arbitraries(realIds: readonly string[]) {
  const realId = fc.constantFrom(...realIds);
  const scalar = scalarOf(nastyString, realId);
  const shortScalar = scalarOf(shortString, realId);
  const value = fc.oneof(
    { weight: 4, arbitrary: scalar },
    fc.array(scalar, { maxLength: 5 }),
    fc.array(realId, { maxLength: 120 }),
    fc.dictionary(shortString, scalar, { maxKeys: 3 }),
    fc.jsonValue({ maxDepth: 2 }),
  );

  /** Values of the field's own type, or members of its enum: these get past the schema to the handler. */
  function typed(option: JsonSchema, depth: number): fc.Arbitrary<unknown>[] {
    if (option.enum) return [fc.constantFrom(...option.enum)];
    switch (option.type) {
      case 'string':
        // A pattern or format says what a valid value looks like: mostly generate those.
        if (option.pattern) {
          const pattern = new RegExp(option.pattern);
          const matching = realIds.filter((id) => pattern.test(id)); // a real supplier id for supplier_id
          return [
            ...matchingStrings(pattern),
            ...(matching.length > 0 ? [fc.constantFrom(...matching)] : []),
            nastyString,
          ];
        }
        if (option.format === 'email') return [fc.emailAddress(), nastyString];
        if (option.format === 'date-time')
          return [fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), nastyString];
        return [
          fc.string({ minLength: option.minLength ?? 0, maxLength: Math.min(option.maxLength ?? 40, 40) }),
          nastyString,
          realId,
        ];
      case 'integer':
      case 'number':
        return [
          fc.constantFrom(...NASTY_NUMBERS),
          fc.integer({ min: option.minimum ?? -10, max: Math.min(option.maximum ?? 5000, 2 ** 31) }),
        ];
      case 'boolean':
        return [fc.boolean()];
      case 'null':
        return [fc.constant(null)];
      case 'array':
        return [fc.array(option.items ? fromSchema(option.items, depth + 1) : value, { maxLength: 5 })];
      default:
        return [];
    }
  }

  /**
   * A value shaped like the schema: for an object, all or some of its fields (maybe one unknown more);
   * for a field, mostly a value of its type (odd, huge, unicode, NUL…) and sometimes of any other type.
   */
  function fromSchema(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
    const options = schema?.anyOf ?? (schema ? [schema] : []);
    const object = options.find((option) => option.properties);
    if (object?.properties && depth < 3) {
      const fields = Object.fromEntries(
        Object.entries(object.properties).map(([name, field]) => [name, fromSchema(field, depth + 1)]),
      );
      const required = (object.required ?? []).filter((name) => name in fields);
      const some = fc.record(fields, { requiredKeys: [] });
      return fc.oneof(
        { weight: 6, arbitrary: fc.record(fields, { requiredKeys: required }) },
        { weight: 2, arbitrary: some },
        fc.tuple(some, shortString, value).map(([base, key, extra]) => ({ ...base, [key]: extra })),
        value,
      );
    }
    const ofType = options.flatMap((option) => typed(option, depth));
    if (ofType.length === 0) return value;
    return fc.oneof({ weight: 6, arbitrary: fc.oneof(...ofType) }, value);
  }

  /** A JSON payload: anything at all, any object, raw text, or an object built from real fields. */
  function body(schema: JsonSchema | undefined): fc.Arbitrary<string | undefined> {
    const asJson = (v: unknown) => JSON.stringify(v) ?? 'null';
    return fc.oneof(
      fc.anything().map(asJson),
      fc.object().map(asJson),
      { weight: 8, arbitrary: fromSchema(schema).map(asJson) },
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constant(undefined),
    );
  }

  /** A query string mixing the route's real parameters, unknown ones and broken encodings. */
  function query(names: readonly string[]): fc.Arbitrary<string> {
    const name = names.length > 0 ? fc.oneof(fc.constantFrom(...names), shortString) : shortString;
    const text = fc.oneof(
      shortScalar.map((v) => String(v)),
      realId,
    );
    const pair = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(name, text).map(([n, v]) => `${encode(n)}=${encode(v)}`) },
      fc.constantFrom('%', '%zz', '%C3%28', '%ED%A0%80', '%00=%00', '=', '&', 'a[b]=1', 'a[]=1&a[]=2', '+'),
      name.map(encode),
    );
    return fc.array(pair, { maxLength: 6 }).map((pairs) => pairs.join('&'));
  }

  /** A path segment for `:id`: a real id (of any kind, or another org's), or anything else. */
  const pathId = fc.oneof(
    { weight: 3, arbitrary: realId },
    realId.map((id) => `${id}x`),
    shortString.filter((s) => s.length > 0).map(encode),
    fc.constantFrom('..', '.', '%2F', '%2e%2e', 'x'.repeat(201), '%00', '%FF'),
  );

  return { body, query, pathId };
}

/** Percent-encodes every byte of the UTF-8 form (lone surrogates become U+FFFD, as a browser does). */
function encode(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

function describeRequest(options: InjectOptions): string {
  const payload = typeof options.payload === 'string' ? options.payload : '';
  return `${options.method} ${String(options.url).slice(0, 200)} ${payload.slice(0, 200)}`;
}

forEachEngine('fuzz', (_engine, handle) => {
  let t: TestApp;
  let key: string;
  let routes: RouteEntry[];
  let operations: Record<string, Record<string, Operation>>;
  let arbs: ReturnType<typeof arbitraries>;
  const clock = new ManualClock();

  before(async () => {
    t = await startTestApp(handle(), { clock });
    const org = await createOrg(t.app, 'enterprise');
    const other = await createOrg(t.app, 'enterprise');
    key = await createKey(t.app, org, ['admin']);
    const spare = await createKey(t.app, org, ['read:*'], 'test');

    // Real ids of every kind, in this org and another, so fuzzed paths and references reach the database.
    const ids: string[] = [org.orgId, org.userId, other.orgId];
    for (const [owner, ownerKey] of [
      [org, key],
      [other, other.adminKey],
    ] as const) {
      const supplier = await t.call(ownerKey, 'POST', '/v1/suppliers', { name: 'S', country: 'DE' });
      assert.equal(supplier.statusCode, 201, supplier.body);
      const supplierId = supplier.json().id as string;
      const product = await t.call(ownerKey, 'POST', '/v1/products', {
        name: 'P',
        sku: `sku-${owner.orgId}`,
        supplier_id: supplierId,
      });
      assert.equal(product.statusCode, 201, product.body);
      const productId = product.json().id as string;
      const certificate = await t.call(ownerKey, 'POST', '/v1/certificates', {
        standard: 'ISO 9001',
        number: 'N-1',
        issuer: 'TÜV',
        supplier_id: supplierId,
        product_ids: [productId],
        issued_at: '2026-01-01',
        expires_at: '2028-01-01',
      });
      assert.equal(certificate.statusCode, 201, certificate.body);
      ids.push(supplierId, productId, certificate.json().id as string);
    }
    // Every id in every table (new resources included), except the fuzzing key's own: a fuzzed revoke
    // must not end the run.
    const db = t.app.deps.db;
    const own = await db
      .selectFrom('api_keys')
      .select('id')
      .where('key_hash', '=', hashApiKey(key))
      .execute();
    const ownId = own[0]?.id;
    for (const table of await db.introspection.getTables()) {
      if (!table.columns.some((column) => column.name === 'id')) continue;
      const rows = await db
        .selectFrom(table.name as 'orgs')
        .select('id')
        .execute();
      for (const { id } of rows)
        if (typeof id === 'string' && id !== ownId && !ids.includes(id)) ids.push(id);
    }
    assert.ok(ownId && spare.length > 0 && ids.some((id) => id.startsWith('key_')));

    arbs = arbitraries(ids);
    routes = t.app.routeTable.filter(
      (route) =>
        ['GET', 'POST', 'PATCH'].includes(route.method) &&
        // Session-only routes refuse bearer credentials before reading input: nothing to fuzz there.
        !(route.access !== undefined && 'session' in route.access),
    );
    const openapi = await t.inject({ method: 'GET', url: '/openapi.json' });
    operations = openapi.json().paths;
  });
  after(() => t.close());

  function operationOf(route: RouteEntry): Operation | undefined {
    return operations[route.url.replace(/:([A-Za-z_]+)/g, '{$1}')]?.[route.method.toLowerCase()];
  }

  async function send(options: InjectOptions): Promise<void> {
    const response = await t.inject(options);
    const url = String(options.url);
    assertHandled(response, describeRequest(options), url, { pageForPeople: isPageForPeople(url) });
  }

  function withIds(url: string): fc.Arbitrary<string> {
    const names = url.match(/:[A-Za-z_]+/g) ?? [];
    return fc
      .tuple(...names.map(() => arbs.pathId))
      .map((values) => values.reduce<string>((path, value, i) => path.replace(names[i] ?? '', value), url));
  }

  test('random and field-shaped JSON bodies on every POST and PATCH route', async () => {
    const bodyRoutes = routes.filter((route) => route.method !== 'GET');
    assert.ok(bodyRoutes.length >= 7, `only ${bodyRoutes.length} routes take a body`);
    for (const route of bodyRoutes) {
      const schema = operationOf(route)?.requestBody?.content?.['application/json']?.schema;
      await fc.assert(
        fc.asyncProperty(withIds(route.url), arbs.body(schema), async (url, payload) => {
          const headers: Record<string, string> = { authorization: `Bearer ${key}` };
          if (payload !== undefined) headers['content-type'] = 'application/json';
          await send({ method: route.method as 'POST', url, headers, payload });
        }),
        { numRuns: runsFor(route, bodyRoutes.length) },
      );
      clock.advance(61_000); // a fresh rate-limit minute for the next route
    }
  });

  test('random query strings and path ids on every GET route', async () => {
    const getRoutes = routes.filter((route) => route.method === 'GET');
    assert.ok(getRoutes.length >= 9, `only ${getRoutes.length} GET routes`);
    for (const route of getRoutes) {
      const names = (operationOf(route)?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      await fc.assert(
        fc.asyncProperty(withIds(route.url), arbs.query(names), async (path, search) => {
          const url = search ? `${path}?${search}` : path;
          await send({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
        }),
        { numRuns: runsFor(route, getRoutes.length) },
      );
      clock.advance(61_000);
    }
  });

  test('the fuzzing key still works: the runs reached validation, not a locked door', async () => {
    const response = await t.call(key, 'GET', '/v1/suppliers');
    assert.equal(response.statusCode, 200);
  });
});
