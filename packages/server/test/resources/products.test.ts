/**
 * `/v1/products` on every engine: CRUD, pagination, the supplier filter, validation, supplier references
 * that must stay inside the tenant, sku uniqueness per org and mode, and deletion while covered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newId } from '@cohera/shared';
import { ManualClock } from '../../src/clock.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { apiTimeOf, assertProblem, type ProblemBody } from '../support/problem.ts';

interface Product {
  id: string;
  object: string;
  name: string;
  sku: string;
  supplier_id: string;
  created_at: string;
  updated_at: string;
}
interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

const API_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** A problem without its per-request parts, to compare answers across requests. */
const sansRequestId = ({ request_id: _, ...rest }: ProblemBody) => rest;

forEachEngine('products', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  before(async () => {
    clock = new ManualClock();
    t = await startTestApp(handle(), { clock });
  });
  after(() => t.close());

  async function post<T>(key: string, url: string, body: Record<string, unknown>): Promise<T> {
    const res = await t.call(key, 'POST', url, body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json<T>();
  }
  const supplier = (key: string, name = 'Acme') =>
    post<{ id: string }>(key, '/v1/suppliers', { name, country: 'DE' }).then((s) => s.id);
  const product = (key: string, body: Record<string, unknown>) => post<Product>(key, '/v1/products', body);
  const list = async (key: string, query = '') => {
    const res = await t.call(key, 'GET', `/v1/products?limit=100${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Page<Product>>();
  };

  test('create, get, update, delete', async () => {
    const org = await createOrg(t.app);
    const supplierA = await supplier(org.adminKey, 'A');
    const supplierB = await supplier(org.adminKey, 'B');
    const createdAt = clock.now();
    const body = await product(org.adminKey, { name: 'Widget', sku: 'W-1', supplier_id: supplierA });
    assert.match(body.id, /^prd_[0-9A-Za-z]{22}$/);
    assert.equal(body.object, 'product');
    assert.deepEqual(
      { name: body.name, sku: body.sku, supplier_id: body.supplier_id },
      { name: 'Widget', sku: 'W-1', supplier_id: supplierA },
    );
    assert.match(body.created_at, API_TIME);
    assert.equal(body.created_at, apiTimeOf(createdAt));
    assert.equal(body.updated_at, body.created_at);

    const got = await t.call(org.adminKey, 'GET', `/v1/products/${body.id}`);
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json(), body);

    clock.advance(61_000);
    const patched = await t.call(org.adminKey, 'PATCH', `/v1/products/${body.id}`, {
      name: 'Widget v2',
      sku: 'W-2',
      supplier_id: supplierB,
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const updated = patched.json<Product>();
    assert.deepEqual(updated, {
      ...body,
      name: 'Widget v2',
      sku: 'W-2',
      supplier_id: supplierB,
      updated_at: apiTimeOf(clock.now()),
    });
    assert.notEqual(updated.updated_at, body.updated_at);
    assert.deepEqual((await t.call(org.adminKey, 'GET', `/v1/products/${body.id}`)).json(), updated);

    const deleted = await t.call(org.adminKey, 'DELETE', `/v1/products/${body.id}`);
    assert.equal(deleted.statusCode, 204);
    assert.equal(deleted.body, '');
    assertProblem(await t.call(org.adminKey, 'GET', `/v1/products/${body.id}`), 404, 'not_found');
    assertProblem(await t.call(org.adminKey, 'DELETE', `/v1/products/${body.id}`), 404, 'not_found');
    assertProblem(
      await t.call(org.adminKey, 'PATCH', `/v1/products/${body.id}`, { name: 'x' }),
      404,
      'not_found',
    );
    // The sku of a deleted product is free again.
    await product(org.adminKey, { name: 'Again', sku: 'W-2', supplier_id: supplierA });
  });

  test('pagination walks every product once, newest first', async () => {
    const org = await createOrg(t.app);
    const supplierId = await supplier(org.adminKey);
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) {
      ids.push((await product(org.adminKey, { name: `P${i}`, sku: `SKU-${i}`, supplier_id: supplierId })).id);
      clock.advance(1);
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.call(
        org.adminKey,
        'GET',
        `/v1/products?limit=4${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(res.statusCode, 200, res.body);
      const page: Page<Product> = res.json<Page<Product>>();
      sizes.push(page.data.length);
      seen.push(...page.data.map((p) => p.id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    assert.deepEqual(seen, ids.reverse());
    assert.deepEqual(sizes, [4, 4, 4, 3]);

    for (const limit of ['0', '101', 'abc']) {
      assertProblem(
        await t.call(org.adminKey, 'GET', `/v1/products?limit=${limit}`),
        400,
        'validation_failed',
        'query/limit',
      );
    }
    // A supplier list's cursor is not a product list's cursor.
    const foreignCursor = Buffer.from(supplierId).toString('base64url');
    assertProblem(
      await t.call(org.adminKey, 'GET', `/v1/products?cursor=${foreignCursor}`),
      400,
      'validation_failed',
      'query/cursor',
    );
  });

  test('supplier_id filter', async () => {
    const org = await createOrg(t.app);
    const a = await supplier(org.adminKey, 'A');
    const b = await supplier(org.adminKey, 'B');
    const empty = await supplier(org.adminKey, 'C');
    const bySupplier = new Map<string, string[]>([
      [a, []],
      [b, []],
    ]);
    for (let i = 0; i < 5; i++) {
      const supplierId = i % 2 === 0 ? a : b;
      const p = await product(org.adminKey, { name: `P${i}`, sku: `F-${i}`, supplier_id: supplierId });
      bySupplier.get(supplierId)?.push(p.id);
      clock.advance(1);
    }
    for (const [supplierId, ids] of bySupplier) {
      const page = await list(org.adminKey, `&supplier_id=${supplierId}`);
      assert.deepEqual(
        page.data.map((p) => p.id),
        [...ids].reverse(),
      );
      assert.ok(page.data.every((p) => p.supplier_id === supplierId));
    }
    assert.deepEqual((await list(org.adminKey, `&supplier_id=${empty}`)).data, []);
    assert.deepEqual((await list(org.adminKey, `&supplier_id=${newId('supplier')}`)).data, []);
    assert.equal((await list(org.adminKey)).data.length, 5);
    assertProblem(
      await t.call(org.adminKey, 'GET', '/v1/products?supplier_id=nope'),
      400,
      'validation_failed',
      'query/supplier_id',
    );
  });

  test('validation names the offending field and creates nothing', async () => {
    const org = await createOrg(t.app);
    const supplierId = await supplier(org.adminKey);
    const valid = { name: 'Widget', sku: 'W-1', supplier_id: supplierId };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, colour: 'red' }, 'body/colour'],
      [{ sku: 'W-1', supplier_id: supplierId }, 'body/name'],
      [{ name: 'Widget', supplier_id: supplierId }, 'body/sku'],
      [{ name: 'Widget', sku: 'W-1' }, 'body/supplier_id'],
      [{ ...valid, sku: '' }, 'body/sku'],
      [{ ...valid, sku: ' W-1 ' }, 'body/sku'],
      [{ ...valid, name: '' }, 'body/name'],
      [{ ...valid, supplier_id: 'sup_short' }, 'body/supplier_id'],
      [{ ...valid, supplier_id: newId('product') }, 'body/supplier_id'],
    ];
    for (const [body, field] of cases) {
      assertProblem(
        await t.call(org.adminKey, 'POST', '/v1/products', body),
        400,
        'validation_failed',
        field,
      );
    }
    assert.deepEqual((await list(org.adminKey)).data, []);

    const p = await product(org.adminKey, valid);
    assertProblem(await t.call(org.adminKey, 'PATCH', `/v1/products/${p.id}`, {}), 400, 'validation_failed');
    assertProblem(
      await t.call(org.adminKey, 'PATCH', `/v1/products/${p.id}`, { colour: 'red' }),
      400,
      'validation_failed',
      'body/colour',
    );
    assert.deepEqual((await t.call(org.adminKey, 'GET', `/v1/products/${p.id}`)).json(), p);
  });

  describe('references and uniqueness', () => {
    let orgA: TestOrg;
    let orgB: TestOrg;
    let testKeyA: string;
    let supplierA: string;
    let supplierB: string;
    let supplierATest: string;
    before(async () => {
      orgA = await createOrg(t.app);
      orgB = await createOrg(t.app);
      testKeyA = await createKey(t.app, orgA, ['admin'], 'test');
      supplierA = await supplier(orgA.adminKey);
      supplierB = await supplier(orgB.adminKey);
      supplierATest = await supplier(testKeyA);
    });

    test('a supplier of another org, of the other mode, or of no one is refused alike', async () => {
      const foreign = [supplierB, supplierATest, newId('supplier')];
      const answers: Omit<ProblemBody, 'request_id'>[] = [];
      for (const [i, supplierId] of foreign.entries()) {
        const res = await t.call(orgA.adminKey, 'POST', '/v1/products', {
          name: 'Widget',
          sku: `REF-${i}`,
          supplier_id: supplierId,
        });
        answers.push(sansRequestId(assertProblem(res, 400, 'validation_failed', 'body/supplier_id')));
      }
      // The same answer every time: the response must not reveal that the id exists elsewhere.
      assert.deepEqual(answers[1], answers[0]);
      assert.deepEqual(answers[2], answers[0]);
      assert.deepEqual(
        (await list(orgA.adminKey)).data.filter((p) => p.sku.startsWith('REF-')),
        [],
        'no product was linked',
      );

      // PATCH cannot move a product to such a supplier either.
      const p = await product(orgA.adminKey, { name: 'Mine', sku: 'REF-OWN', supplier_id: supplierA });
      for (const supplierId of foreign) {
        const res = await t.call(orgA.adminKey, 'PATCH', `/v1/products/${p.id}`, { supplier_id: supplierId });
        assert.deepEqual(
          sansRequestId(assertProblem(res, 400, 'validation_failed', 'body/supplier_id')),
          answers[0],
        );
      }
      assert.deepEqual((await t.call(orgA.adminKey, 'GET', `/v1/products/${p.id}`)).json(), p);
    });

    test('sku is unique per org and mode', async () => {
      const first = await product(orgA.adminKey, { name: 'One', sku: 'DUP-1', supplier_id: supplierA });
      assertProblem(
        await t.call(orgA.adminKey, 'POST', '/v1/products', {
          name: 'Two',
          sku: 'DUP-1',
          supplier_id: supplierA,
        }),
        409,
        'conflict',
      );
      // The same sku in another org, or in the same org's test mode, is another product.
      const inB = await product(orgB.adminKey, { name: 'B', sku: 'DUP-1', supplier_id: supplierB });
      const inTest = await product(testKeyA, { name: 'T', sku: 'DUP-1', supplier_id: supplierATest });
      assert.equal(inB.sku, 'DUP-1');
      assert.equal(inTest.sku, 'DUP-1');

      // Renaming onto a taken sku conflicts; keeping one's own sku does not.
      const second = await product(orgA.adminKey, { name: 'Two', sku: 'DUP-2', supplier_id: supplierA });
      assertProblem(
        await t.call(orgA.adminKey, 'PATCH', `/v1/products/${second.id}`, { sku: 'DUP-1' }),
        409,
        'conflict',
      );
      assert.deepEqual((await t.call(orgA.adminKey, 'GET', `/v1/products/${second.id}`)).json(), second);
      const same = await t.call(orgA.adminKey, 'PATCH', `/v1/products/${first.id}`, { sku: 'DUP-1' });
      assert.equal(same.statusCode, 200, same.body);
      assert.equal(
        (await list(orgA.adminKey)).data.filter((p) => p.sku === 'DUP-1').length,
        1,
        'one DUP-1 in org A live',
      );
    });

    test('a product a certificate covers cannot be deleted', async () => {
      const p = await product(orgA.adminKey, { name: 'Covered', sku: 'COV-1', supplier_id: supplierA });
      const cert = await post<{ id: string }>(orgA.adminKey, '/v1/certificates', {
        standard: 'ISO 9001',
        number: 'COV',
        issuer: 'TÜV',
        supplier_id: supplierA,
        product_ids: [p.id],
        issued_at: '2026-01-01',
        expires_at: '2028-01-01',
      });
      assertProblem(await t.call(orgA.adminKey, 'DELETE', `/v1/products/${p.id}`), 409, 'resource_in_use');
      assert.deepEqual((await t.call(orgA.adminKey, 'GET', `/v1/products/${p.id}`)).json(), p);
      // Once the certificate no longer covers it, the product can go.
      const uncovered = await t.call(orgA.adminKey, 'PATCH', `/v1/certificates/${cert.id}`, {
        product_ids: [],
      });
      assert.equal(uncovered.statusCode, 200, uncovered.body);
      assert.equal((await t.call(orgA.adminKey, 'DELETE', `/v1/products/${p.id}`)).statusCode, 204);
    });
  });
});
