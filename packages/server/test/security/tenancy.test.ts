/**
 * DESIGN §6.4: cross-org and cross-mode access is a 404 for every resource route. The matrix is generated
 * from the app's route table, so a resource route added later is covered without editing this file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type IdKind, newId } from '@cohera/shared';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

const RESOURCES = ['suppliers', 'products', 'certificates'] as const;
type Resource = (typeof RESOURCES)[number];
const ITEM_ROUTE = /^\/v1\/(suppliers|products|certificates)\/:id$/;
const COLLECTION_ROUTE = /^\/v1\/(suppliers|products|certificates)$/;
const ID_KIND: Record<Resource, IdKind> = {
  suppliers: 'supplier',
  products: 'product',
  certificates: 'certificate',
};

/** A valid change per resource, so a refused PATCH is refused for tenancy and not for its body. */
const PATCH_BODY: Record<Resource, Record<string, unknown>> = {
  suppliers: { name: 'Taken over' },
  products: { name: 'Taken over' },
  certificates: { number: 'TAKEN-OVER' },
};

interface Problem {
  status: number;
  code: string;
  request_id: string;
}

/** Another tenant's object is not found — and says so exactly as a non-existent one does. */
function assertNotFound(res: LightMyRequestResponse, method: string): Omit<Problem, 'request_id'> | null {
  assert.equal(res.statusCode, 404, `${method}: ${res.body}`);
  if (method === 'HEAD') return null;
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const { request_id, ...rest } = res.json<Problem>();
  assert.equal(rest.code, 'not_found');
  assert.equal(request_id, res.headers['x-request-id']);
  return rest;
}

forEachEngine('tenancy', (_engine, handle) => {
  let t: TestApp;
  let orgA: TestOrg;
  let orgB: TestOrg;
  /** Org A's own key in test mode: same org, other data. */
  let testKeyA: string;
  /** Org A's live objects, as org A saw them when it created them. */
  const liveA = new Map<Resource, { id: string; body: string }>();
  const ownB = new Map<Resource, string>();

  async function createChain(key: string): Promise<Map<Resource, { id: string; body: string }>> {
    const created = new Map<Resource, { id: string; body: string }>();
    const post = async (resource: Resource, body: Record<string, unknown>) => {
      const res = await t.call(key, 'POST', `/v1/${resource}`, body);
      assert.equal(res.statusCode, 201, res.body);
      const id = res.json<{ id: string }>().id;
      created.set(resource, { id, body: res.body });
      return id;
    };
    const supplierId = await post('suppliers', { name: 'Acme', country: 'DE' });
    const productId = await post('products', { name: 'Widget', sku: 'W-1', supplier_id: supplierId });
    await post('certificates', {
      standard: 'ISO 9001',
      number: 'Q-1',
      issuer: 'TÜV',
      supplier_id: supplierId,
      product_ids: [productId],
      issued_at: '2026-01-01',
      expires_at: '2030-01-01',
    });
    return created;
  }

  before(async () => {
    t = await startTestApp(handle());
    orgA = await createOrg(t.app);
    orgB = await createOrg(t.app);
    testKeyA = await createKey(t.app, orgA, ['admin'], 'test');
    for (const [resource, object] of await createChain(orgA.adminKey)) liveA.set(resource, object);
    for (const [resource, object] of await createChain(orgB.adminKey)) ownB.set(resource, object.id);
  });
  after(() => t.close());

  const resourceOf = (url: string): Resource => {
    const name = url.split('/')[2];
    const resource = RESOURCES.find((r) => r === name);
    if (!resource) throw new Error(`not a resource route: ${url}`);
    return resource;
  };
  const request = (key: string, method: string, url: string, body?: unknown) =>
    t.call(key, method as InjectOptions['method'], url, body);

  test('the route table has GET, PATCH and DELETE by id for every resource', () => {
    const routes = t.app.routeTable.filter((r) => ITEM_ROUTE.test(r.url));
    for (const resource of RESOURCES) {
      const methods = routes.filter((r) => resourceOf(r.url) === resource).map((r) => r.method);
      for (const method of ['GET', 'PATCH', 'DELETE']) {
        assert.ok(methods.includes(method), `${method} /v1/${resource}/:id is in the route table`);
      }
    }
  });

  describe('by id: org A live objects are not found by other tenants', () => {
    const outsiders = [
      { who: "org B's admin key", key: () => orgB.adminKey },
      { who: "org A's test-mode admin key", key: () => testKeyA },
    ];
    // Routes are only known once the app is built, so each case is a subtest of one test per outsider.
    for (const outsider of outsiders) {
      test(`${outsider.who}`, async (ctx) => {
        const routes = t.app.routeTable.filter((r) => ITEM_ROUTE.test(r.url));
        assert.ok(routes.length >= 9, 'the matrix is not empty');
        for (const route of routes) {
          await ctx.test(`${route.method} ${route.url}`, async () => {
            const resource = resourceOf(route.url);
            const own = liveA.get(resource);
            assert.ok(own);
            const body = ['POST', 'PUT', 'PATCH'].includes(route.method) ? PATCH_BODY[resource] : undefined;
            const url = route.url.replace(':id', own.id);
            const foreign = assertNotFound(
              await request(outsider.key(), route.method, url, body),
              route.method,
            );
            // Indistinguishable from an id that exists nowhere.
            const nowhere = route.url.replace(':id', newId(ID_KIND[resource]));
            const missing = assertNotFound(
              await request(outsider.key(), route.method, nowhere, body),
              route.method,
            );
            assert.deepEqual(foreign, missing);
            // Untouched for its owner.
            const check = await t.call(orgA.adminKey, 'GET', url);
            assert.equal(check.statusCode, 200, check.body);
            assert.equal(check.body, own.body);
          });
        }
      });
    }
  });

  test('lists of org B and of test mode do not contain org A live objects', async () => {
    const routes = t.app.routeTable.filter((r) => r.method === 'GET' && COLLECTION_ROUTE.test(r.url));
    assert.equal(routes.length, RESOURCES.length);
    const supplierA = liveA.get('suppliers')?.id;
    for (const route of routes) {
      const resource = resourceOf(route.url);
      const ids = async (key: string, query = '') => {
        const res = await t.call(key, 'GET', `${route.url}?limit=100${query}`);
        assert.equal(res.statusCode, 200, res.body);
        return res.json<{ data: { id: string }[] }>().data.map((o) => o.id);
      };
      const own = liveA.get(resource)?.id;
      assert.ok(own);
      assert.deepEqual(await ids(orgA.adminKey), [own], `org A live sees its ${resource}`);
      assert.deepEqual(await ids(orgB.adminKey), [ownB.get(resource)], `org B sees only its ${resource}`);
      assert.deepEqual(await ids(testKeyA), [], `org A test mode sees no live ${resource}`);
      if (resource !== 'suppliers') {
        // Filtering by another tenant's supplier finds nothing either.
        assert.deepEqual(await ids(orgB.adminKey, `&supplier_id=${supplierA}`), []);
        assert.deepEqual(await ids(testKeyA, `&supplier_id=${supplierA}`), []);
      }
    }
  });

  test('test-mode data is invisible to live keys', async () => {
    const sandbox = await createChain(testKeyA);
    const readOnlyTestKey = await createKey(t.app, orgA, ['read:*'], 'test');
    for (const [resource, object] of sandbox) {
      const url = `/v1/${resource}/${object.id}`;
      assertNotFound(await t.call(orgA.adminKey, 'GET', url), 'GET');
      assertNotFound(await t.call(orgB.adminKey, 'GET', url), 'GET');
      const list = await t.call(orgA.adminKey, 'GET', `/v1/${resource}?limit=100`);
      assert.ok(!list.body.includes(object.id), `live ${resource} list leaks test data`);
      // Visible in test mode to any test key of the org: the data belongs to the mode, not to the key.
      for (const key of [testKeyA, readOnlyTestKey]) {
        const got = await t.call(key, 'GET', url);
        assert.equal(got.statusCode, 200, got.body);
        assert.equal(got.body, object.body);
      }
    }
  });
});
