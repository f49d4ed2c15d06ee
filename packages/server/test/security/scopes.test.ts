/**
 * The scope guard and the 401 answers of the pipeline (DESIGN §3, §4). The matrix crosses every resource
 * route in the route table with every scope; the expectation is computed here from the DESIGN rules, not
 * by the code under test. It tests the pipeline, not storage, so it runs on SQLite only.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateApiKey, type IdKind, newId, SCOPES, type Scope } from '@cohera/shared';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';

const RESOURCES = ['suppliers', 'products', 'certificates'] as const;
type Resource = (typeof RESOURCES)[number];
const RESOURCE_ROUTE = /^\/v1\/(suppliers|products|certificates)(\/:id)?$/;
const ID_KIND: Record<Resource, IdKind> = {
  suppliers: 'supplier',
  products: 'product',
  certificates: 'certificate',
};
const PATCH_BODY: Record<Resource, Record<string, unknown>> = {
  suppliers: { name: 'x' },
  products: { name: 'x' },
  certificates: { number: 'x' },
};

/** DESIGN §4: `read:X` for GET, `write:X` for POST/PATCH/DELETE. */
function requiredScope(method: string, resource: Resource): Scope {
  return method === 'GET' || method === 'HEAD' ? `read:${resource}` : `write:${resource}`;
}

/**
 * DESIGN §3, written out independently of `hasScope`: `admin` implies every scope; `write:X` implies
 * `read:X`; `read:*` / `write:*` cover every resource.
 */
function grants(held: Scope, required: Scope): boolean {
  if (held === 'admin' || held === required) return true;
  if (required === 'admin') return false;
  const [heldAction, heldResource] = held.split(':');
  const [needAction, needResource] = required.split(':');
  const actionOk = heldAction === needAction || (heldAction === 'write' && needAction === 'read');
  const resourceOk = heldResource === '*' || heldResource === needResource;
  return actionOk && resourceOk;
}

interface Problem {
  status: number;
  code: string;
  request_id: string;
}

function assertUnauthorized(res: LightMyRequestResponse, code: string) {
  assert.equal(res.statusCode, 401, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const problem = res.json<Problem>();
  assert.equal(problem.code, code);
  assert.equal(problem.request_id, res.headers['x-request-id']);
  assert.match(String(res.headers['www-authenticate']), /^Bearer\b/);
  if (code !== 'missing_credential') {
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
  }
}

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

let clientCounter = 0;
/**
 * Failed authentication is rate limited per client IP (DESIGN §5.2); each failing request here comes from
 * its own address so these tests see the authentication answer, not that limiter's.
 */
const freshClient = () => {
  clientCounter++;
  return `10.${(clientCounter >> 16) & 255}.${(clientCounter >> 8) & 255}.${clientCounter & 255}`;
};

describe('scopes and credentials [sqlite]', () => {
  let engine: EngineHandle;
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  const keys = new Map<Scope, string>();

  before(async () => {
    engine = await prepareEngine('sqlite');
    clock = new ManualClock();
    t = await startTestApp(engine, { clock });
    org = await createOrg(t.app);
    for (const scope of SCOPES) keys.set(scope, await createKey(t.app, org, [scope]));
  });
  after(async () => {
    await t.close();
    await engine.cleanup();
  });

  /** A request expected to fail authentication, from a client address of its own. */
  const refused = (authorization: string | undefined, method: string, url: string, body?: unknown) =>
    t.inject({
      method: method as InjectOptions['method'],
      url,
      remoteAddress: freshClient(),
      headers: authorization === undefined ? {} : { authorization },
      ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }),
    });

  const resourceRoutes = () =>
    t.app.routeTable
      .filter((r) => RESOURCE_ROUTE.test(r.url))
      .map((r) => {
        const resource = RESOURCES.find((name) => r.url.split('/')[2] === name);
        if (!resource) throw new Error(`not a resource route: ${r.url}`);
        return { ...r, resource };
      });

  /** A request the route would accept past the guard, and the answer it gives then. */
  function probe(method: string, url: string, resource: Resource) {
    const path = url.replace(':id', newId(ID_KIND[resource]));
    if (method === 'POST') return { path, body: {}, allowedStatus: 400 }; // guard passed, body invalid
    if (method === 'PATCH') return { path, body: PATCH_BODY[resource], allowedStatus: 404 };
    return { path, body: undefined, allowedStatus: url.endsWith(':id') ? 404 : 200 };
  }

  test('every resource route declares the scope DESIGN gives it', () => {
    const routes = resourceRoutes();
    const seen = new Set(routes.map((r) => `${r.method} ${r.url}`));
    for (const resource of RESOURCES) {
      for (const expected of [
        `POST /v1/${resource}`,
        `GET /v1/${resource}`,
        `GET /v1/${resource}/:id`,
        `PATCH /v1/${resource}/:id`,
        `DELETE /v1/${resource}/:id`,
      ]) {
        assert.ok(seen.has(expected), `${expected} is in the route table`);
      }
    }
    for (const route of routes) {
      const access = route.access;
      assert.ok(access && 'scope' in access, `${route.method} ${route.url} declares a scope`);
      assert.equal(access.scope, requiredScope(route.method, route.resource), `${route.method} ${route.url}`);
    }
  });

  test('scope matrix: each route against a key holding each single scope', async (ctx) => {
    const routes = resourceRoutes();
    assert.ok(routes.length >= 15);
    let allowed = 0;
    let denied = 0;
    for (const route of routes) {
      const required = requiredScope(route.method, route.resource);
      await ctx.test(`${route.method} ${route.url}`, async () => {
        for (const scope of SCOPES) {
          const key = keys.get(scope);
          assert.ok(key);
          const { path, body, allowedStatus } = probe(route.method, route.url, route.resource);
          const res = await t.call(key, route.method as InjectOptions['method'], path, body);
          const label = `${scope} on ${route.method} ${route.url}: ${res.statusCode} ${res.body}`;
          if (grants(scope, required)) {
            allowed++;
            assert.notEqual(res.statusCode, 401, label);
            assert.notEqual(res.statusCode, 403, label);
            assert.equal(res.statusCode, allowedStatus, label);
          } else {
            denied++;
            assert.equal(res.statusCode, 403, label);
            const challenge = String(res.headers['www-authenticate']);
            assert.match(challenge, /^Bearer\b/, label);
            assert.ok(challenge.includes('error="insufficient_scope"'), label);
            assert.ok(challenge.includes(`scope="${required}"`), label);
            if (route.method !== 'HEAD') {
              assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
              const problem = res.json<Problem>();
              assert.equal(problem.code, 'insufficient_scope', label);
              assert.equal(problem.request_id, res.headers['x-request-id']);
            }
          }
        }
      });
    }
    // Both sides of the matrix were exercised.
    assert.ok(allowed > 0 && denied > 0, `allowed ${allowed}, denied ${denied}`);
  });

  test('no credential is a 401 missing_credential on every resource route', async () => {
    for (const route of resourceRoutes()) {
      const { path, body } = probe(route.method, route.url, route.resource);
      const res = await refused(undefined, route.method, path, body);
      if (route.method === 'HEAD') {
        assert.equal(res.statusCode, 401);
        assert.match(String(res.headers['www-authenticate']), /^Bearer\b/);
      } else {
        assertUnauthorized(res, 'missing_credential');
      }
    }
  });

  test('a malformed credential is a 401 invalid_credential', async () => {
    const real = keys.get('admin');
    assert.ok(real);
    for (const authorization of [
      'Bearer ck_live_short',
      'Bearer not-a-key',
      `Bearer ${real}x`,
      `Bearer ${real.slice(0, -1)}`,
      'Basic dXNlcjpwYXNz',
      `Bearer ${real} extra`,
      real,
    ]) {
      assertUnauthorized(await refused(authorization, 'GET', '/v1/suppliers'), 'invalid_credential');
    }
    // `Bearer` and nothing presents no credential (an empty variable): missing, with that hint.
    assertUnauthorized(await refused('Bearer', 'GET', '/v1/suppliers'), 'missing_credential');
  });

  test('a well-formed key with a wrong checksum is a 401 invalid_credential', async () => {
    const real = keys.get('admin');
    assert.ok(real);
    const last = real.at(-1);
    const wrong = `${real.slice(0, -1)}${last === '0' ? '1' : '0'}`;
    assert.equal(wrong.length, real.length);
    assertUnauthorized(await refused(`Bearer ${wrong}`, 'GET', '/v1/suppliers'), 'invalid_credential');
    // The real key still works: the failure was the checksum, not the key.
    assert.equal((await t.call(real, 'GET', '/v1/suppliers')).statusCode, 200);
  });

  test('an unknown key with a valid checksum is a 401 invalid_credential', async () => {
    for (const mode of ['live', 'test'] as const) {
      const unknown = generateApiKey(mode);
      assertUnauthorized(await refused(`Bearer ${unknown}`, 'GET', '/v1/suppliers'), 'invalid_credential');
      // Asked twice (the second answer may come from the negative cache): the same.
      assertUnauthorized(await refused(`Bearer ${unknown}`, 'GET', '/v1/suppliers'), 'invalid_credential');
    }
  });

  test('an expired key is a 401 expired_credential', async () => {
    const past = new Date(clock.now() - 60_000).toISOString();
    const expired = await createKey(t.app, org, ['admin'], 'live', { expiresAt: past });
    assertUnauthorized(await refused(`Bearer ${expired}`, 'GET', '/v1/suppliers'), 'expired_credential');

    // A key that works now stops working when the clock passes its expiry, even while cached.
    const expiring = await createKey(t.app, org, ['admin'], 'live', {
      expiresAt: new Date(clock.now() + 60_000).toISOString(),
    });
    assert.equal((await t.call(expiring, 'GET', '/v1/suppliers')).statusCode, 200);
    clock.advance(60_001);
    assertUnauthorized(await refused(`Bearer ${expiring}`, 'GET', '/v1/suppliers'), 'expired_credential');
  });

  test('a revoked key is a 401 revoked_credential', async () => {
    const revoke = (key: string) =>
      t.app.deps.db
        .updateTable('api_keys')
        .set({ revoked_at: new Date(clock.now()).toISOString() })
        .where('key_hash', '=', sha256(key))
        .executeTakeFirstOrThrow();

    // A key already in the verifier's cache: revoked in the database, then dropped from the cache.
    const used = await createKey(t.app, org, ['admin']);
    assert.equal((await t.call(used, 'GET', '/v1/suppliers')).statusCode, 200);
    const result = await revoke(used);
    assert.equal(result.numUpdatedRows, 1n);
    t.app.deps.apiKeys.invalidate(sha256(used));
    assertUnauthorized(await refused(`Bearer ${used}`, 'GET', '/v1/suppliers'), 'revoked_credential');

    // A key revoked before it was ever used.
    const fresh = await createKey(t.app, org, ['read:suppliers']);
    await revoke(fresh);
    assertUnauthorized(await refused(`Bearer ${fresh}`, 'GET', '/v1/suppliers'), 'revoked_credential');
    // Revocation beats scope: a revoked key is a 401, not a 403, even on a route it lacks the scope for.
    assertUnauthorized(await refused(`Bearer ${fresh}`, 'POST', '/v1/products', {}), 'revoked_credential');
  });
});
