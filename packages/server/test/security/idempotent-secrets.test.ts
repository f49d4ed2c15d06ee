/**
 * Shown-once secrets are never kept for idempotent replays (issue 14, finding 2), on every engine. For each
 * POST whose answer hands out a secret (an API key created or rolled, an OAuth client's secret at creation
 * and rotation, a generated service-account private key), the first request with an `Idempotency-Key`
 * gets the secret; its replay is `409 secret_already_shown` holding the rest of the answer; the row the
 * idempotency store keeps does not contain the secret, neither in its raw bytes nor once opened with the
 * test's master key. Answers without a secret are still replayed as they were.
 *
 * And the enumeration: every route whose response schema has a secret-looking field declares it in
 * `config.secretFields`, so a new route handing out a secret cannot be replayed with it by omission.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { RouteEntry } from '../../src/app.ts';
import { idempotencyBox } from '../../src/idempotency/repository.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { type EngineHandle, forEachEngine, prepareEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

forEachEngine('idempotent replays of shown-once secrets', (_engine, handle) => {
  let t: TestApp;
  let org: TestOrg;
  before(async () => {
    t = await startTestApp(handle());
    org = await createOrg(t.app);
  });
  after(() => t.close());

  const post = (url: string, body: unknown, idempotencyKey?: string) =>
    t.inject({
      method: 'POST',
      url,
      headers: {
        authorization: `Bearer ${org.adminKey}`,
        ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
      },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });

  const created = async (url: string, body: unknown) => {
    const response = await post(url, body);
    assert.ok(response.statusCode < 300, response.body);
    return response.json();
  };

  /**
   * The first request hands out the secret; the replay is a 409 without it whose `result` is the rest of
   * the first answer; the stored row holds the secret nowhere. Returns the replay's problem.
   */
  async function assertSecretNotReplayed(
    url: string,
    body: unknown,
    field: string,
    /** Distinctive parts of the secret to search for besides the whole of it. */
    parts: (secret: string) => string[] = () => [],
  ) {
    const idempotencyKey = randomUUID();
    const first = await post(url, body, idempotencyKey);
    assert.ok(first.statusCode === 200 || first.statusCode === 201, first.body);
    const secret = first.json()[field] as string;
    assert.equal(typeof secret, 'string', `the first answer hands out ${field}`);
    const needles = [secret, ...parts(secret)];

    const replay = await post(url, body, idempotencyKey);
    // Not assertProblem: a replayed problem names the first request, not this one's X-Request-Id.
    assert.equal(replay.statusCode, 409, replay.body);
    assert.match(String(replay.headers['content-type']), /^application\/problem\+json/);
    const problem = replay.json<{
      code: string;
      status: number;
      request_id: string;
      detail: string;
      result?: Record<string, unknown>;
    }>();
    assert.equal(problem.code, 'secret_already_shown');
    assert.equal(problem.status, 409);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(problem.request_id, first.headers['x-request-id'], 'the first request is named');
    assert.match(String(problem.detail), new RegExp(`held ${field}\\b`));
    const { [field]: _secret, ...rest } = first.json() as Record<string, unknown>;
    assert.deepEqual(problem.result, rest, 'the first answer without its secret');
    for (const needle of needles) assert.ok(!replay.body.includes(needle), `the replay holds ${field}`);
    await assertStoredWithoutSecret(idempotencyKey, field, needles);
    return { first, replay, problem };
  }

  /** The idempotency row: no secret in its raw columns, nor in its body once opened with the master key. */
  async function assertStoredWithoutSecret(idempotencyKey: string, field: string, needles: string[]) {
    const rows = await t.app.deps.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('key_hash', '=', sha256(idempotencyKey))
      .execute();
    assert.equal(rows.length, 1);
    const row = rows[0] as (typeof rows)[number];
    const raw = JSON.stringify(row);
    for (const needle of needles) assert.ok(!raw.includes(needle), `${field} is in the raw row`);
    assert.equal(row.status_code, 409);
    const opened = idempotencyBox(t.config.masterKey).open(
      String(row.response_body),
      `${row.org_id}/${row.mode}/${row.actor_kind}/${row.actor_id}/${row.key_hash}`,
    );
    for (const needle of needles) assert.ok(!opened.includes(needle), `${field} is in the sealed body`);
    const stored = JSON.parse(opened) as { code: string; result: Record<string, unknown> };
    assert.equal(stored.code, 'secret_already_shown');
    assert.ok(!(field in stored.result), `${field} is a member of the stored result`);
  }

  /** One request made: the objects a URL lists with `name`, counted through the API. */
  const named = async (url: string, name: string) => {
    const response = await t.call(org.adminKey, 'GET', `${url}?limit=100`);
    assert.equal(response.statusCode, 200, response.body);
    return (response.json().data as { name: string }[]).filter((o) => o.name === name).length;
  };

  describe('every secret-bearing POST', () => {
    test('POST /v1/api-keys: the key is not replayed, and one key is made', async () => {
      const body = { name: 'replayed key', scopes: ['read:suppliers'] };
      const { first, problem } = await assertSecretNotReplayed('/v1/api-keys', body, 'key', (k) => [
        k.slice(8),
      ]);
      assert.equal(problem.result?.id, first.json().id);
      assert.equal(await named('/v1/api-keys', 'replayed key'), 1);
      // The key from the first answer is the live one: nothing else was made or changed.
      assert.equal((await t.call(first.json().key, 'GET', '/health')).json().auth.id, first.json().id);
    });

    test('POST /v1/api-keys/:id/roll: the new key is not replayed, and the key is rolled once', async () => {
      const old = await created('/v1/api-keys', { name: 'to roll', scopes: ['read:suppliers'] });
      const url = `/v1/api-keys/${old.id}/roll`;
      const { first, problem } = await assertSecretNotReplayed(
        url,
        { grace_period_seconds: 60 },
        'key',
        (k) => [k.slice(8)],
      );
      assert.equal(problem.result?.id, first.json().id);
      assert.equal(problem.result?.rolled_from, old.id);
      const successors = await t.app.deps.db
        .selectFrom('api_keys')
        .select('id')
        .where('rolled_from_id', '=', old.id)
        .execute();
      assert.deepEqual(
        successors.map((s) => s.id),
        [first.json().id],
      );
    });

    test('POST /v1/oauth/clients (confidential): the client secret is not replayed', async () => {
      const body = {
        name: 'replayed app',
        redirect_uris: ['https://app.example.com/callback'],
        client_type: 'confidential',
        scopes: ['read:suppliers'],
      };
      const { first, problem } = await assertSecretNotReplayed('/v1/oauth/clients', body, 'client_secret');
      assert.equal(problem.result?.id, first.json().id);
      assert.equal(await named('/v1/oauth/clients', 'replayed app'), 1);
    });

    test('POST /v1/oauth/clients/:id/rotate-secret: the new secret is not replayed, one rotation', async () => {
      const app = await created('/v1/oauth/clients', {
        name: 'rotated app',
        redirect_uris: ['https://app.example.com/callback'],
        client_type: 'confidential',
        scopes: ['read:suppliers'],
      });
      const { first } = await assertSecretNotReplayed(
        `/v1/oauth/clients/${app.id}/rotate-secret`,
        { grace_period_seconds: 60 },
        'client_secret',
      );
      const row = await t.app.deps.db
        .selectFrom('oauth_clients')
        .select(['secret_hash', 'previous_secret_hash'])
        .where('id', '=', app.id)
        .executeTakeFirstOrThrow();
      assert.equal(
        row.secret_hash,
        sha256(first.json().client_secret),
        'the first rotation’s secret is live',
      );
      assert.equal(row.previous_secret_hash, sha256(app.client_secret), 'rotated once, not twice');
    });

    test('POST /v1/service-accounts/:id/keys (generated): the private key is not replayed', async () => {
      const account = await created('/v1/service-accounts', { name: 'replayed sa', scopes: ['read:*'] });
      const url = `/v1/service-accounts/${account.id}/keys`;
      // The PEM's base64 lines: any of them would give part of the key away.
      const lines = (pem: string) =>
        pem.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-'));
      const { first, problem } = await assertSecretNotReplayed(url, {}, 'private_key', lines);
      assert.equal(problem.result?.private_key_id, first.json().private_key_id);
      const keys = await t.call(org.adminKey, 'GET', url);
      assert.equal(keys.json().data.length, 1, 'one key was made');
    });
  });

  describe('answers without a secret are replayed as they were', () => {
    const assertReplayOf = (replay: LightMyRequestResponse, first: LightMyRequestResponse) => {
      assert.equal(replay.statusCode, first.statusCode, replay.body);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.equal(replay.body, first.body);
    };

    test('a public OAuth client (client_secret null)', async () => {
      const key = randomUUID();
      const body = {
        name: 'public app',
        redirect_uris: ['https://app.example.com/callback'],
        client_type: 'public',
        scopes: ['read:suppliers'],
      };
      const first = await post('/v1/oauth/clients', body, key);
      assert.equal(first.statusCode, 201, first.body);
      assert.equal(first.json().client_secret, null);
      assertReplayOf(await post('/v1/oauth/clients', body, key), first);
    });

    test('an uploaded service-account public key, and an error', async () => {
      const account = await created('/v1/service-accounts', { name: 'uploading sa', scopes: ['read:*'] });
      const url = `/v1/service-accounts/${account.id}/keys`;
      const publicKey = generateKeyPairSync('ed25519')
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString();
      const key = randomUUID();
      const first = await post(url, { public_key: publicKey }, key);
      assert.equal(first.statusCode, 201, first.body);
      assertReplayOf(await post(url, { public_key: publicKey }, key), first);

      const badKey = randomUUID();
      const refused = await post('/v1/api-keys', { name: 'bad', scopes: ['nope'] }, badKey);
      assertProblem(refused, 400, 'validation_failed');
      assertReplayOf(await post('/v1/api-keys', { name: 'bad', scopes: ['nope'] }, badKey), refused);
    });
  });
});

/**
 * Field names that hold a credential or a key's private half. `csrf_token` (GET /auth/session, POST
 * /auth/login) is not among them on purpose: it is bound to the session, read again from GET
 * /auth/session at will, and neither route is under `/v1/` where `Idempotency-Key` applies.
 */
const SECRET_LOOKING =
  /^(key|secret|password|token|client_secret|private_key|api_key|access_token|refresh_token|accept_url)$|_(secret|password|private_key)$/;

type Schema = Record<string, unknown>;

/** Every property path in a response schema (`a`, `a.b`, `a[].b`), through allOf/anyOf/oneOf and $ref. */
function propertyPaths(schema: unknown, resolve: (ref: string) => unknown, prefix = ''): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const s = schema as Schema;
  const paths: string[] = [];
  if (typeof s.$ref === 'string') paths.push(...propertyPaths(resolve(s.$ref), resolve, prefix));
  for (const [name, sub] of Object.entries((s.properties as Schema | undefined) ?? {})) {
    const path = `${prefix}${name}`;
    paths.push(path, ...propertyPaths(sub, resolve, `${path}.`));
  }
  for (const combinator of ['allOf', 'anyOf', 'oneOf'] as const) {
    for (const sub of (s[combinator] as unknown[] | undefined) ?? []) {
      paths.push(...propertyPaths(sub, resolve, prefix));
    }
  }
  if (s.items !== undefined)
    paths.push(...propertyPaths(s.items, resolve, `${prefix.replace(/\.$/, '')}[].`));
  return paths;
}

/** What is wrong with the routes' declarations of shown-once fields; empty when nothing is. */
function undeclaredSecrets(routes: readonly RouteEntry[], resolve: (ref: string) => unknown): string[] {
  const problems: string[] = [];
  for (const route of routes) {
    const declared = new Set(route.secretFields ?? []);
    const found = new Set<string>();
    for (const schema of Object.values((route.response as Schema | undefined) ?? {})) {
      for (const path of propertyPaths(schema, resolve)) {
        const name = path.split(/\.|\[\]\./).at(-1) as string;
        if (SECRET_LOOKING.test(name)) found.add(path);
      }
    }
    for (const path of found) {
      if (/\.|\[\]/.test(path)) {
        problems.push(
          `${route.method} ${route.url}: ${path} is nested; a shown-once secret must be top-level`,
        );
      } else if (!declared.has(path)) {
        problems.push(`${route.method} ${route.url}: ${path} looks secret but is not in config.secretFields`);
      }
    }
    for (const field of declared) {
      if (!found.has(field))
        problems.push(`${route.method} ${route.url}: declares ${field}, not in its response`);
    }
  }
  return problems;
}

describe('shown-once fields are declared', () => {
  let engine: EngineHandle;
  let t: TestApp;
  before(async () => {
    engine = await prepareEngine('sqlite');
    t = await startTestApp(engine);
  });
  after(async () => {
    await t.close();
    await engine.cleanup();
  });
  const resolve = (ref: string) => t.app.getSchema(ref.replace(/#$/, ''));

  test('every route whose response has a secret-looking field lists it in config.secretFields', () => {
    assert.deepEqual(undeclaredSecrets(t.app.routeTable, resolve), []);
    const declaring = t.app.routeTable
      .filter((r) => r.secretFields !== undefined)
      .map((r) => `${r.method} ${r.url} ${r.secretFields?.join(',')}`);
    // The known ones, at least: the enumeration must be looking at the real route table.
    for (const expected of [
      'POST /v1/api-keys key',
      'POST /v1/api-keys/:id/roll key',
      'POST /v1/oauth/clients client_secret',
      'POST /v1/oauth/clients/:id/rotate-secret client_secret',
      'POST /v1/service-accounts/:id/keys private_key',
    ]) {
      assert.ok(declaring.includes(expected), `${expected} in ${JSON.stringify(declaring)}`);
    }
  });

  test('the check catches an undeclared, a nested and a stale declaration', () => {
    const object = (properties: Record<string, unknown>) => ({ type: 'object', properties });
    const route = (url: string, response: unknown, secretFields?: string[]): RouteEntry => ({
      method: 'POST',
      url,
      access: { scope: 'admin' },
      secretFields,
      response,
    });
    const problems = undeclaredSecrets(
      [
        route('/v1/webhooks', { 201: object({ id: {}, secret: {} }) }),
        route('/v1/union', { 201: { anyOf: [object({ id: {} }), object({ private_key: {} })] } }),
        route('/v1/nested', { 200: object({ data: { type: 'array', items: object({ api_key: {} }) } }) }),
        route('/v1/stale', { 201: object({ id: {} }) }, ['key']),
        route('/v1/fine', { 201: object({ id: {}, secret_last4: {}, key: {} }) }, ['key']),
      ],
      () => undefined,
    );
    assert.deepEqual(problems, [
      'POST /v1/webhooks: secret looks secret but is not in config.secretFields',
      'POST /v1/union: private_key looks secret but is not in config.secretFields',
      'POST /v1/nested: data[].api_key is nested; a shown-once secret must be top-level',
      'POST /v1/stale: declares key, not in its response',
    ]);
  });
});
