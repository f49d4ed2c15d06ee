/**
 * Validation messages are sentences (src/http/validation-messages.ts). The first test walks every route's
 * schema in the live /openapi.json, sends a value that violates each pattern, format and enum it finds (in
 * the body, the query string, the path and headers), filling the route's other required fields until that
 * field is the one reported, and checks that every message the server gives names its field and shows no
 * regular expression and none of Ajv's own wording. The others pin the sentence for each keyword.
 * Real HTTP on loopback against a real app on SQLite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { fieldErrors } from '../../src/http/validation-messages.ts';
import { createOrg, DASHBOARD_FIXTURE, logCapture, RELAXED_ABUSE_LIMITS } from '../support/app.ts';
import { tempDir, testConfig } from '../support/config.ts';

type Schema = Record<string, unknown>;
interface FieldError {
  field: string;
  message: string;
}
interface Problem {
  code: string;
  detail: string;
  errors?: FieldError[];
}

/** A run of regular-expression syntax, or Ajv's own phrasing, that must never reach a person. */
const REGEX_RUN = /\^|\$|\[[^\]\s"]*-|\\[dswbDSWB]|\(\?|\{\d+(,\d*)?\}|\.\*|\.\+|\[\\x/;
const AJV_WORDING = /must match|must NOT|must be equal to one of|must have required property|format "/;

/** One value that breaks every pattern, format and enum of ours: spaces around, a `!`, no known shape. */
const BAD = ' not valid! ';

function assertReadable(error: FieldError, context: string): void {
  assert.doesNotMatch(error.message, REGEX_RUN, `${context}: a regex in "${error.message}"`);
  assert.doesNotMatch(error.message, AJV_WORDING, `${context}: Ajv's wording in "${error.message}"`);
  const segments = error.field.split('/').slice(1);
  const name = segments.filter((s) => !/^\d+$/.test(s)).at(-1);
  if (name) assert.ok(error.message.includes(name), `${context}: "${error.message}" does not name ${name}`);
  else assert.match(error.message, /request body|parameters|headers/, context);
}

describe('validation messages in words', () => {
  const dir = tempDir();
  let app: FastifyInstance;
  let base: string;
  let key: string;
  let doc: {
    paths: Record<string, Record<string, Schema>>;
    components?: { schemas?: Record<string, Schema> };
  };

  before(async () => {
    app = await buildApp(testConfig({}, dir.path), {
      logDestination: logCapture(),
      abuseLimits: RELAXED_ABUSE_LIMITS,
      dashboardDir: DASHBOARD_FIXTURE,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
    key = (await createOrg(app, 'enterprise')).adminKey;
    doc = (await (await fetch(`${base}/openapi.json`)).json()) as typeof doc;
  });
  after(async () => {
    await app.close();
    dir.remove();
  });

  const resolve = (schema: unknown): Schema => {
    let s = (schema ?? {}) as Schema;
    while (typeof s.$ref === 'string')
      s = doc.components?.schemas?.[s.$ref.split('/').at(-1) as string] ?? {};
    return s;
  };

  /** A value the schema accepts (for the fields around the one under test). */
  function validValue(schema: unknown): unknown {
    const s = resolve(schema);
    const union = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
    if (union) return validValue(union.find((b) => resolve(b).type !== 'null') ?? union[0]);
    if ('const' in s) return s.const;
    if (Array.isArray(s.enum)) return s.enum[0];
    if (s.format === 'date-time') return '2027-01-31T00:00:00Z';
    if (s.format === 'date') return '2027-01-31';
    if (s.format === 'email') return 'someone@example.com';
    if (s.format === 'uri') return 'https://example.com/callback';
    const example = typeof s['x-message'] === 'string' ? /such as "([^"]+)"/.exec(s['x-message']) : null;
    if (example) return example[1];
    switch (s.type) {
      case 'integer':
      case 'number':
        return typeof s.minimum === 'number' ? s.minimum : 1;
      case 'boolean':
        return true;
      case 'array':
        return typeof s.minItems === 'number' && s.minItems > 0 ? [validValue(s.items)] : [];
      case 'object': {
        const out: Record<string, unknown> = {};
        const properties = (s.properties ?? {}) as Record<string, unknown>;
        for (const name of (s.required ?? []) as string[]) out[name] = validValue(properties[name]);
        return out;
      }
      default:
        return 'x'.repeat(Math.max(1, typeof s.minLength === 'number' ? s.minLength : 1));
    }
  }

  interface Target {
    location: 'body' | 'query' | 'path' | 'header';
    name: string;
    /** Segments below the body (body targets). */
    segments: string[];
    kind: string;
  }

  /** Every pattern, format and enum under `schema`, with where it sits. */
  function targetsIn(
    schema: unknown,
    location: Target['location'],
    name: string,
    segments: string[],
    out: Target[],
  ) {
    const s = resolve(schema);
    const add = (kind: string) => out.push({ location, name, segments, kind });
    if (typeof s.pattern === 'string') add('pattern');
    if (typeof s.format === 'string') add(`format ${s.format}`);
    if (Array.isArray(s.enum)) add('enum');
    const union = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
    if (union) {
      const before = out.length;
      for (const branch of union) targetsIn(branch, location, name, segments, out);
      // A union of enums is one enum to a client; a union holding a format or pattern is tested by those.
      const found = out.splice(before);
      const kinds = new Set(found.map((f) => f.kind));
      if (kinds.size === 1 && kinds.has('enum')) add('enum');
      else out.push(...found.filter((f, i) => found.findIndex((g) => g.kind === f.kind) === i));
    }
    for (const [prop, sub] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) {
      targetsIn(sub, location, location === 'body' ? prop : name, [...segments, prop], out);
    }
    if (s.items && typeof s.items === 'object') targetsIn(s.items, location, name, [...segments, '0'], out);
  }

  function setAt(root: Record<string, unknown>, segments: readonly string[], value: unknown): void {
    let at: Record<string, unknown> = root;
    segments.forEach((segment, i) => {
      if (i === segments.length - 1) {
        at[segment] = value;
        return;
      }
      const next = segments[i + 1] as string;
      at[segment] ??= /^\d+$/.test(next) ? [] : {};
      at = at[segment] as Record<string, unknown>;
    });
  }

  function schemaAt(root: unknown, segments: readonly string[]): unknown {
    let s: unknown = root;
    for (const segment of segments) {
      const r = resolve(s);
      const union = (r.anyOf ?? r.oneOf) as unknown[] | undefined;
      const object = union
        ? resolve(union.find((b) => resolve(b).type === 'object' || resolve(b).type === 'array'))
        : r;
      s = /^\d+$/.test(segment)
        ? object.items
        : ((object.properties ?? {}) as Record<string, unknown>)[segment];
    }
    return s;
  }

  test('every pattern, format and enum of every route answers in words that name the field', async () => {
    let checked = 0;
    const kinds: Record<string, number> = {};
    const missed: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const parameters = (operation.parameters ?? []) as { in: string; name: string; schema: unknown }[];
        const bodySchema = resolve(
          (operation.requestBody as { content?: Record<string, { schema: unknown }> } | undefined)?.content?.[
            'application/json'
          ]?.schema,
        );
        const targets: Target[] = [];
        for (const p of parameters) {
          if (p.in === 'query' || p.in === 'path' || p.in === 'header') {
            targetsIn(p.schema, p.in, p.name, [], targets);
          }
        }
        if (bodySchema.type) targetsIn(bodySchema, 'body', '', [], targets);

        for (const target of targets) {
          const context = `${method.toUpperCase()} ${path} ${target.location}/${[target.name, ...target.segments.slice(1)].filter(Boolean).join('/') || target.segments.join('/')} (${target.kind})`;
          const body = (bodySchema.type === 'object' ? validValue(bodySchema) : undefined) as
            | Record<string, unknown>
            | undefined;
          if (target.location === 'body' && body) setAt(body, target.segments, BAD);
          const wanted =
            target.location === 'body'
              ? ['body', ...target.segments].join('/')
              : `${target.location}/${target.location === 'header' ? target.name.toLowerCase() : target.name}`;
          let reached = false;
          for (let attempt = 0; attempt < 8 && !reached; attempt++) {
            const url = new URL(
              path.replace(/\{(\w+)\}/g, (_, name: string) =>
                target.location === 'path' && name === target.name ? encodeURIComponent(BAD) : 'x1',
              ),
              base,
            );
            if (target.location === 'query') url.searchParams.set(target.name, BAD);
            const headers: Record<string, string> = { authorization: `Bearer ${key}` };
            if (target.location === 'header') headers[target.name.toLowerCase()] = BAD.trim();
            if (body !== undefined) headers['content-type'] = 'application/json';
            const res = await fetch(url, {
              method: method.toUpperCase(),
              headers,
              ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
            });
            const text = await res.text();
            if (res.status !== 400) break;
            const problem = JSON.parse(text) as Problem;
            for (const error of problem.errors ?? []) {
              assertReadable(error, context);
              assert.ok(problem.detail.includes(error.message), `${context}: detail lacks the message`);
              if (error.field === wanted) reached = true;
              else if (target.location === 'body' && body && error.field.startsWith('body/')) {
                // Another field stood in the way (a required one, say): make it valid and try again.
                const segments = error.field.split('/').slice(1);
                setAt(body, segments, validValue(schemaAt(bodySchema, segments)));
              }
            }
            if (!problem.errors) assert.doesNotMatch(problem.detail, REGEX_RUN, context);
          }
          if (reached) {
            checked++;
            kinds[target.kind] = (kinds[target.kind] ?? 0) + 1;
          } else missed.push(context);
        }
      }
    }
    // Every target must be reached: a route whose check runs before validation would hide its messages.
    assert.deepEqual(missed, [], `not reached:\n${missed.join('\n')}`);
    // Today: 45 patterns, 27 enums, 2 e-mail formats; a walker that silently found nothing would pass.
    assert.ok(checked >= 70, `only ${checked} fields checked`);
    assert.ok(
      (kinds.pattern ?? 0) > 0 && (kinds.enum ?? 0) > 0 && (kinds['format email'] ?? 0) > 0,
      JSON.stringify(kinds),
    );
  });

  test('the examples of the issue, and route params and query strings', async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      assert.equal(res.status, 400);
      return (await res.json()) as Problem;
    };
    const country = await call('POST', '/v1/suppliers', { name: 'Acme', country: 'Germany' });
    assert.deepEqual(country.errors, [
      { field: 'body/country', message: 'country must be an ISO 3166 alpha-2 code such as "DE"' },
    ]);
    assert.equal(country.detail, 'country must be an ISO 3166 alpha-2 code such as "DE"');
    const email = await call('POST', '/v1/suppliers', {
      name: 'Acme',
      country: 'DE',
      contact_email: 'nobody',
    });
    assert.match(email.errors?.[0]?.message ?? '', /^contact_email must be an e-mail address such as/);
    const status = await call('GET', '/v1/certificates?status=lost');
    assert.deepEqual(status.errors, [
      { field: 'query/status', message: 'query parameter status must be "valid", "expired" or "revoked"' },
    ]);
    const limit = await call('GET', '/v1/suppliers?limit=1000');
    assert.deepEqual(limit.errors, [
      { field: 'query/limit', message: 'query parameter limit must be 100 or less' },
    ]);
    const notNumber = await call('GET', '/v1/suppliers?limit=many');
    assert.equal(notNumber.errors?.[0]?.message, 'query parameter limit must be a whole number');
    const unknown = await call('POST', '/v1/suppliers', { name: 'Acme', country: 'DE', colour: 'red' });
    assert.match(
      unknown.errors?.[0]?.message ?? '',
      /^colour is not a known field; known fields: name, country/,
    );
    const required = await call('POST', '/v1/suppliers', { name: 'Acme' });
    assert.deepEqual(required.errors, [{ field: 'body/country', message: 'country is required' }]);
    const uid = await fetch(`${base}/oauth/interaction/${encodeURIComponent('a b')}`);
    assert.equal(uid.status, 400);
    const uidProblem = (await uid.json()) as Problem;
    assert.equal(uidProblem.errors?.[0]?.field, 'path/uid');
    assert.match(uidProblem.errors?.[0]?.message ?? '', /^path parameter uid must be the sign-in step id/);
  });

  test('every Ajv keyword has a sentence', () => {
    const at = (
      keyword: string,
      params: Record<string, unknown>,
      parentSchema: Schema = {},
      path = '/field',
    ) =>
      fieldErrors(undefined, [
        { instancePath: path, schemaPath: `#/properties/field/${keyword}`, keyword, params, parentSchema },
      ])[0]?.message;
    assert.equal(at('required', { missingProperty: 'name' }, {}, ''), 'name is required');
    assert.equal(at('type', { type: 'string' }), 'field must be a string');
    assert.equal(at('type', { type: 'integer' }), 'field must be a whole number');
    assert.equal(at('enum', { allowedValues: ['a', 'b', 'c'] }), 'field must be one of "a", "b" or "c"');
    assert.equal(at('minLength', { limit: 1 }), 'field must not be empty');
    assert.equal(at('minLength', { limit: 8 }), 'field must be at least 8 characters long');
    assert.equal(at('maxLength', { limit: 200 }), 'field must be at most 200 characters long');
    assert.equal(at('minimum', { limit: 1 }), 'field must be 1 or more');
    assert.equal(at('maximum', { limit: 90 }), 'field must be 90 or less');
    assert.equal(at('pattern', { pattern: '^[a-z]+$' }), 'field is not in the expected format');
    assert.equal(
      at('pattern', { pattern: '^[a-z]+$' }, { description: 'lowercase letters' }),
      'field is not valid: expected lowercase letters',
    );
    assert.equal(
      at('format', { format: 'date-time' }),
      'field must be an ISO 8601 date-time such as "2027-01-31T00:00:00Z"',
    );
    assert.equal(at('format', { format: 'date' }), 'field must be a date such as "2027-01-31"');
    assert.equal(
      at('format', { format: 'email' }),
      'field must be an e-mail address such as "name@example.com"',
    );
    assert.equal(
      at('format', { format: 'uri' }),
      'field must be an absolute URL such as "https://example.com/callback"',
    );
    assert.equal(
      at(
        'additionalProperties',
        { additionalProperty: 'colour' },
        { properties: { name: {}, country: {} } },
        '',
      ),
      'colour is not a known field; known fields: name, country',
    );
    assert.equal(at('minItems', { limit: 1 }), 'field must not be empty');
    assert.equal(at('minItems', { limit: 2 }), 'field must have at least 2 items');
    assert.equal(at('maxItems', { limit: 10 }), 'field must have at most 10 items');
    assert.equal(
      at('uniqueItems', { i: 3, j: 1 }),
      'field must not list the same value twice (items 1 and 3 are equal)',
    );
    assert.equal(at('type', { type: 'object' }, {}, ''), 'the request body must be a JSON object');
    assert.equal(at('somethingNew', {}), 'field is not valid');
    const nested = fieldErrors(undefined, [
      {
        instancePath: '/product_ids/2',
        keyword: 'pattern',
        params: {},
        parentSchema: { 'x-message': 'must be a product id' },
      },
    ]);
    assert.deepEqual(nested, [
      { field: 'body/product_ids/2', message: 'product_ids[2] must be a product id' },
    ]);
  });
});
