/**
 * Security invariant 3 (DESIGN §6): every route declares its scope or is explicitly public. The test reads
 * the route table (every route Fastify registered, with the `access` of its config), so a route added
 * anywhere is checked without anyone remembering to list it here. Public routes are an allow-list: a new
 * one needs a deliberate edit below.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hasScope, SCOPES, type Scope } from '@cohera/shared';
import type { RouteEntry } from '../../src/app.ts';
import { buildApp } from '../../src/app.ts';
import {
  createKey,
  createOrg,
  logCapture,
  startTestApp,
  type TestApp,
  type TestOrg,
} from '../support/app.ts';
import { tempDir, testConfig } from '../support/config.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';

/** The only routes anyone may call without a credential. Adding one here is a security decision. */
const PUBLIC_ROUTES = [
  'GET /health',
  'HEAD /health',
  // Readiness: says only whether this node's database answers (system/ready.ts).
  'GET /ready',
  'HEAD /ready',
  'GET /openapi.json',
  'HEAD /openapi.json',
  'GET /auth/login',
  'HEAD /auth/login',
  'POST /auth/login',
  // Public to the pipeline, but the handler answers 404 unless COHERA_METRICS_TOKEN is presented (§4).
  'GET /metrics',
  'HEAD /metrics',
  // The dashboard's static files (a redirect at /): the app signs in with the session like any page.
  'GET /',
  'HEAD /',
  'GET /dashboard',
  'HEAD /dashboard',
  'GET /dashboard/*',
  'HEAD /dashboard/*',
  // The OAuth protocol endpoints (DESIGN §4): the engine authenticates clients itself, RFC 6749's way.
  'GET /oauth/authorize',
  'HEAD /oauth/authorize',
  'GET /oauth/authorize/:uid',
  'HEAD /oauth/authorize/:uid',
  'POST /oauth/token',
  'OPTIONS /oauth/token',
  'POST /oauth/revoke',
  'OPTIONS /oauth/revoke',
  'POST /oauth/introspect',
  // The device authorization grant (RFC 8628): the device's request, and the page where a person enters the
  // code (its attempts limited per IP and in all), which continues into the sign-in and consent pages.
  'POST /oauth/device/auth',
  'OPTIONS /oauth/device/auth',
  'GET /oauth/device',
  'HEAD /oauth/device',
  'POST /oauth/device',
  'GET /oauth/device/:uid',
  'HEAD /oauth/device/:uid',
  // An invitation's page (docs/team.md): the link's single-use token is the credential; unknown tokens count
  // as failed authentications of the IP.
  'GET /invitations/accept',
  'HEAD /invitations/accept',
  'POST /invitations/accept',
  'GET /.well-known/oauth-authorization-server',
  'HEAD /.well-known/oauth-authorization-server',
  'OPTIONS /.well-known/oauth-authorization-server',
  'GET /.well-known/jwks.json',
  'HEAD /.well-known/jwks.json',
  // The public key of signed audit digests: auditors who hold a digest but no credential verify with it.
  'GET /v1/audit-events/digest-keys',
  'HEAD /v1/audit-events/digest-keys',
  // Sign-in and consent inside an authorization: bound to the engine's interaction cookie and our session.
  'GET /oauth/interaction/:uid',
  'HEAD /oauth/interaction/:uid',
  'POST /oauth/interaction/:uid/decision',
  // Leak intake (DESIGN §5.6): anyone may report a found key (always 202, never an oracle, per-IP limit),
  // and GitHub's secret-scanning reports are authenticated by GitHub's signature, not by a credential.
  'POST /v1/credentials/revoke',
  'POST /v1/leaks/github',
];

const ROLES = new Set(['owner', 'admin', 'member', 'viewer']);

/** Why a route's access declaration is unacceptable, or null when it is one of the three valid shapes. */
function accessProblem(access: unknown): string | null {
  if (access === undefined || access === null) return 'declares no access';
  if (typeof access !== 'object') return 'access is not an object';
  const fields = Object.keys(access);
  const record = access as Record<string, unknown>;
  if ('public' in record) {
    if (record.public !== true) return 'public must be true';
    if (fields.some((f) => f !== 'public' && f !== 'optionalAuth')) return 'public access with other fields';
    if ('optionalAuth' in record && typeof record.optionalAuth !== 'boolean')
      return 'optionalAuth not boolean';
    return null;
  }
  if ('session' in record) {
    if (record.session !== true) return 'session must be true';
    if (fields.length !== 1) return 'session access with other fields';
    return null;
  }
  if ('scope' in record) {
    if (!(SCOPES as readonly unknown[]).includes(record.scope))
      return `unknown scope ${String(record.scope)}`;
    if (fields.some((f) => f !== 'scope' && f !== 'sessionRoles')) return 'scope access with other fields';
    const roles = record.sessionRoles;
    if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => ROLES.has(r)))) {
      return 'sessionRoles must be a list of roles';
    }
    return null;
  }
  return `access ${JSON.stringify(access)} is neither public, session nor scope`;
}

function problemsOf(routes: readonly RouteEntry[]): string[] {
  return routes.flatMap((route) => {
    const problem = accessProblem(route.access);
    return problem ? [`${route.method} ${route.url}: ${problem}`] : [];
  });
}

const name = (route: RouteEntry) => `${route.method} ${route.url}`;

describe('route table', () => {
  let handle: EngineHandle;
  let t: TestApp;
  let org: TestOrg;
  before(async () => {
    handle = await prepareEngine('sqlite');
    t = await startTestApp(handle);
    org = await createOrg(t.app);
  });
  after(async () => {
    await t.close();
    await handle.cleanup();
  });

  test('lists every route Fastify serves, and each route once', () => {
    const routes = t.app.routeTable;
    // The foundation's routes at least; the table grows as capabilities land.
    for (const expected of ['GET /health', 'POST /v1/suppliers', 'PATCH /v1/certificates/:id']) {
      assert.ok(
        routes.some((r) => name(r) === expected),
        `${expected} is missing from the table`,
      );
    }
    for (const route of routes) {
      assert.ok(t.app.hasRoute({ method: route.method, url: route.url }), `${name(route)} is not served`);
    }
    assert.equal(new Set(routes.map(name)).size, routes.length, 'a route appears twice');
  });

  test('every route declares public, session or a known scope', () => {
    assert.deepEqual(problemsOf(t.app.routeTable), []);
  });

  test('the check catches a route without access, and one with a made-up scope', async () => {
    const dir = tempDir();
    const app = await buildApp(testConfig({}, dir.path), { logDestination: logCapture() });
    try {
      app.get('/test/forgotten', async () => ({ ok: true }));
      app.get('/test/typo', { config: { access: { scope: 'read:supplier' as Scope } } }, async () => ({}));
      app.get(
        '/test/ambiguous',
        { config: { access: { public: true, session: true } as never } },
        () => ({}),
      );
      await app.ready();
      assert.deepEqual(problemsOf(app.routeTable).sort(), [
        'GET /test/ambiguous: public access with other fields',
        'GET /test/forgotten: declares no access',
        'GET /test/typo: unknown scope read:supplier',
        'HEAD /test/ambiguous: public access with other fields',
        'HEAD /test/forgotten: declares no access',
        'HEAD /test/typo: unknown scope read:supplier',
      ]);
    } finally {
      await app.close();
      dir.remove();
    }
  });

  test('the public routes are exactly the allow-list', () => {
    const publicRoutes = t.app.routeTable
      .filter((r) => r.access !== undefined && 'public' in r.access)
      .map(name)
      .sort();
    assert.deepEqual(publicRoutes, [...PUBLIC_ROUTES].sort());
  });

  test('/metrics, public to the pipeline, does not exist without the metrics token', async () => {
    assert.equal(t.config.metricsToken, null);
    for (const headers of [{}, { authorization: `Bearer ${org.adminKey}` }]) {
      const response = await t.inject({ method: 'GET', url: '/metrics', headers });
      assert.equal(response.statusCode, 404);
      assert.equal(response.json().code, 'route_not_found');
    }
  });

  test('every non-public route refuses a request without a credential', async () => {
    for (const route of t.app.routeTable) {
      if (route.access === undefined || 'public' in route.access) continue;
      const url = route.url.replace(/:[a-z_]+/g, 'x_123');
      const response = await t.inject({ method: route.method as 'GET', url });
      assert.equal(response.statusCode, 401, `${name(route)} answered ${response.statusCode}`);
      if (route.method !== 'HEAD') assert.equal(response.json().code, 'missing_credential', name(route));
    }
  });

  test('every scoped route refuses a key that lacks its scope', async () => {
    const keys = new Map<Scope, string>();
    for (const route of t.app.routeTable) {
      if (route.access === undefined || !('scope' in route.access)) continue;
      const needed = route.access.scope;
      // A real, valid key holding every scope that does not imply the one the route needs.
      const held = SCOPES.filter((s) => !hasScope([s], needed));
      assert.ok(held.length > 0, `no scope falls short of ${needed}`);
      let key = keys.get(needed);
      if (key === undefined) {
        key = await createKey(t.app, org, held);
        keys.set(needed, key);
      }
      const url = route.url.replace(/:[a-z_]+/g, 'x_123');
      const response = await t.call(key, route.method as 'GET', url, route.method === 'GET' ? undefined : {});
      assert.equal(response.statusCode, 403, `${name(route)} answered ${response.statusCode}`);
      if (route.method !== 'HEAD') {
        assert.equal(response.json().code, 'insufficient_scope', name(route));
        assert.equal(response.json().required_scope, needed, name(route));
      }
    }
    assert.ok(keys.size > 0);
  });
});

describe('/openapi.json', () => {
  let handle: EngineHandle;
  let t: TestApp;
  let document: {
    openapi: string;
    paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
  };
  before(async () => {
    handle = await prepareEngine('sqlite');
    t = await startTestApp(handle);
    const response = await t.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(response.statusCode, 200);
    document = response.json();
  });
  after(async () => {
    await t.close();
    await handle.cleanup();
  });

  test('is public and OpenAPI 3.1', () => {
    assert.match(document.openapi, /^3\.1\.\d+$/);
    const entry = t.app.routeTable.find((r) => name(r) === 'GET /openapi.json');
    assert.deepEqual(entry?.access, { public: true });
  });

  test('lists every /v1 route, marking scoped ones with the scope they need', () => {
    const v1 = t.app.routeTable.filter((r) => r.url.startsWith('/v1/') && r.method !== 'HEAD');
    assert.ok(v1.length >= 15, `only ${v1.length} /v1 routes`);
    for (const route of v1) {
      const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
      const operation = document.paths[path]?.[route.method.toLowerCase()];
      assert.ok(operation, `${name(route)} is missing from /openapi.json`);
      if (route.access !== undefined && 'scope' in route.access) {
        assert.deepEqual(operation.security, [{ bearer: [route.access.scope] }], name(route));
      }
    }
  });

  test('public routes carry no security requirement', () => {
    for (const route of t.app.routeTable) {
      if (route.access === undefined || !('public' in route.access) || route.method === 'HEAD') continue;
      const operation = document.paths[route.url]?.[route.method.toLowerCase()];
      if (operation) assert.equal(operation.security, undefined, name(route));
    }
  });
});
