/**
 * Foreign-key races (issue 14): two nodes (two apps; on PostgreSQL each with its own connection pool, on
 * SQLite sharing the one connection as a process does) on one database, creating products and
 * certificates that reference a supplier or product while the other node deletes it. A reference checked
 * in one statement and written in another used to lose the race on both sides: the insert hit the foreign
 * key after the delete, or the delete hit it after the insert — a 500 each time. Every answer must now be
 * one the API gives without a race (201, 200, 204, 400 naming the reference, 404, 409 resource_in_use),
 * and the answers must agree with the data: a delete that succeeded means nothing was created on it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import type { Database } from '../../src/storage/database.ts';
import { capturedLogs, createOrg, startTestApp, type TestApp } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

const ROUNDS = 20;

interface Outcome {
  kind: 'create' | 'delete';
  response: LightMyRequestResponse;
}

/** The problem's code and the fields it names, or null for a success. */
function problemOf(response: LightMyRequestResponse): { code: string; fields: string[] } | null {
  if (response.statusCode < 400) return null;
  const problem = response.json<{ code: string; errors?: { field: string }[] }>();
  return { code: problem.code, fields: (problem.errors ?? []).map((e) => e.field) };
}

/** Every answer is one the API also gives without a race; the created ones are counted. */
function checkAnswers(outcomes: Outcome[], createdStatus: number, referenceField: string) {
  let created = 0;
  let deleted = 0;
  for (const { kind, response } of outcomes) {
    const context = `${kind} → ${response.statusCode} ${response.body.slice(0, 300)}`;
    assert.ok(response.statusCode < 500, context);
    const problem = problemOf(response);
    if (kind === 'create') {
      if (response.statusCode === createdStatus) created++;
      else
        assert.deepEqual(
          [response.statusCode, problem],
          [400, { code: 'validation_failed', fields: [referenceField] }],
          context,
        );
    } else if (response.statusCode === 204) {
      deleted++;
    } else {
      assert.ok(
        (response.statusCode === 409 && problem?.code === 'resource_in_use') ||
          (response.statusCode === 404 && problem?.code === 'not_found'),
        context,
      );
    }
  }
  return { created, deleted };
}

/** Runs the requests at once, in an order that puts the deletes among the creations. */
async function race(requests: (() => Promise<Outcome>)[]): Promise<Outcome[]> {
  return Promise.all(requests.map((request) => request()));
}

forEachEngine('foreign-key races between two nodes', (engine, handle) => {
  const clock = new ManualClock();
  let shared: Database | undefined;
  let a: TestApp;
  let b: TestApp;
  let key: string;
  let counter = 0;

  let orgId: string;

  before(async () => {
    if (engine === 'sqlite') shared = await handle().open();
    const options = { clock, ...(shared ? { database: shared } : {}) };
    a = await startTestApp(handle(), { ...options, beforeReady: constraintRoutes });
    b = await startTestApp(handle(), options);
    const org = await createOrg(a.app, 'enterprise');
    key = org.adminKey;
    orgId = org.orgId;
  });

  /**
   * Routes that write without any check, as an overlooked path would: the database's own constraint is all
   * that stands in the way, and the error handler must answer it (http/errors.ts), not crash.
   */
  function constraintRoutes(app: FastifyInstance) {
    const access = { config: { access: { public: true as const } } };
    const row = (id: string, supplierId: string) => ({
      id,
      org_id: orgId,
      mode: 'live' as const,
      name: 'P',
      sku: id,
      supplier_id: supplierId,
      created_at: '2026-11-22T10:00:00.000Z',
      updated_at: '2026-11-22T10:00:00.000Z',
    });
    app.post<{ Params: { supplier: string } }>('/test/products/:supplier', access, async (request, reply) => {
      await app.deps.db
        .insertInto('products')
        .values(row(`prd_${++counter}`, request.params.supplier))
        .execute();
      return reply.code(201).send({});
    });
    app.post<{ Params: { id: string } }>('/test/suppliers/:id', access, async (request, reply) => {
      await app.deps.db
        .insertInto('suppliers')
        .values({
          id: request.params.id,
          org_id: orgId,
          mode: 'live',
          name: 'S',
          country: 'DE',
          contact_email: null,
          status: 'active',
          created_at: '2026-11-22T10:00:00.000Z',
          updated_at: '2026-11-22T10:00:00.000Z',
        })
        .execute();
      return reply.code(201).send({});
    });
    app.delete<{ Params: { id: string } }>('/test/suppliers/:id', access, async (request, reply) => {
      await app.deps.db.deleteFrom('suppliers').where('id', '=', request.params.id).execute();
      return reply.code(204).send();
    });
  }
  after(async () => {
    await a?.close();
    await b?.close();
    await shared?.destroy();
  });

  const nodes = () => [a, b] as const;
  const create = (node: TestApp, url: string, body: object) => async (): Promise<Outcome> => ({
    kind: 'create',
    response: await node.call(key, 'POST', url, body),
  });
  const update = (node: TestApp, url: string, body: object) => async (): Promise<Outcome> => ({
    kind: 'create',
    response: await node.call(key, 'PATCH', url, body),
  });
  const remove = (node: TestApp, url: string) => async (): Promise<Outcome> => ({
    kind: 'delete',
    response: await node.call(key, 'DELETE', url),
  });
  async function made(url: string, body: object): Promise<string> {
    const response = await a.call(key, 'POST', url, body);
    assert.equal(response.statusCode, 201, response.body);
    return response.json().id as string;
  }
  const supplier = () => made('/v1/suppliers', { name: `S${++counter}`, country: 'DE' });
  const product = (supplierId: string) =>
    made('/v1/products', { name: 'P', sku: `sku-${++counter}`, supplier_id: supplierId });
  const certificate = (supplierId: string, productIds: string[]) => ({
    standard: 'ISO 9001',
    number: `N-${++counter}`,
    issuer: 'TÜV',
    supplier_id: supplierId,
    product_ids: productIds,
    issued_at: '2026-01-01',
    expires_at: '2028-01-01',
  });

  async function count(table: 'products' | 'certificates', supplierId: string): Promise<number> {
    const rows = await a.app.deps.db
      .selectFrom(table)
      .select('id')
      .where('supplier_id', '=', supplierId)
      .execute();
    return rows.length;
  }
  async function exists(table: 'suppliers' | 'products', id: string): Promise<boolean> {
    const row = await a.app.deps.db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst();
    return row !== undefined;
  }

  test('products and certificates created while their supplier is deleted on the other node', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const supplierId = await supplier();
      const [first, second] = round % 2 === 0 ? nodes() : [b, a];
      const requests = [
        create(first, '/v1/products', { name: 'P', sku: `sku-${++counter}`, supplier_id: supplierId }),
        create(second, '/v1/certificates', certificate(supplierId, [])),
        remove(second, `/v1/suppliers/${supplierId}`),
        create(first, '/v1/products', { name: 'P', sku: `sku-${++counter}`, supplier_id: supplierId }),
        create(second, '/v1/products', { name: 'P', sku: `sku-${++counter}`, supplier_id: supplierId }),
        remove(first, `/v1/suppliers/${supplierId}`),
        create(first, '/v1/certificates', certificate(supplierId, [])),
        create(second, '/v1/products', { name: 'P', sku: `sku-${++counter}`, supplier_id: supplierId }),
      ];
      // Rotate so the deletes start at a different point among the creations each round. A delete has no
      // body to read, so it tends to overtake creations sent just before it; every third round therefore
      // lets one creation finish first, so that the deletes also run against a supplier already in use.
      const shift = round % requests.length;
      const rotated = [...requests.slice(shift), ...requests.slice(0, shift)];
      const head = round % 3 === 2 ? [await (requests[0] as () => Promise<Outcome>)()] : [];
      const outcomes = [
        ...head,
        ...(await race(rotated.filter((r) => head.length === 0 || r !== requests[0]))),
      ];
      const { created, deleted } = checkAnswers(outcomes, 201, 'body/supplier_id');
      const left = (await count('products', supplierId)) + (await count('certificates', supplierId));
      assert.equal(left, created, 'every 201 is a row, and every row had a 201');
      assert.ok(deleted <= 1, 'one supplier is deleted once');
      assert.equal(await exists('suppliers', supplierId), deleted === 0);
      if (deleted === 1) assert.equal(created, 0, 'a deleted supplier had nothing created on it');
      if (head.length > 0) assert.equal(deleted, 0, 'a supplier in use is not deleted');
      clock.advance(61_000);
    }
  });

  test('products moved to, and certificates pointed at, a supplier being deleted', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const home = await supplier();
      const target = await supplier();
      const productId = await product(home);
      const certificateId = await made('/v1/certificates', certificate(home, []));
      const [first, second] = round % 2 === 0 ? nodes() : [b, a];
      const requests = [
        update(first, `/v1/products/${productId}`, { supplier_id: target }),
        remove(second, `/v1/suppliers/${target}`),
        update(second, `/v1/certificates/${certificateId}`, { supplier_id: target }),
      ];
      const shift = round % requests.length;
      const outcomes = await race([...requests.slice(shift), ...requests.slice(0, shift)]);
      const { created, deleted } = checkAnswers(outcomes, 200, 'body/supplier_id');
      assert.equal((await count('products', target)) + (await count('certificates', target)), created);
      assert.equal(await exists('suppliers', target), deleted === 0);
      if (deleted === 1) assert.equal(created, 0);
      clock.advance(61_000);
    }
  });

  test('certificates covering a product while it is deleted on the other node', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const supplierId = await supplier();
      const productId = await product(supplierId);
      const spare = await product(supplierId);
      const [first, second] = round % 2 === 0 ? nodes() : [b, a];
      const requests = [
        create(first, '/v1/certificates', certificate(supplierId, [productId])),
        remove(second, `/v1/products/${productId}`),
        create(second, '/v1/certificates', certificate(supplierId, [spare, productId])),
        remove(first, `/v1/products/${productId}`),
        create(first, '/v1/certificates', certificate(supplierId, [productId, spare])),
      ];
      const shift = round % requests.length;
      const outcomes = await race([...requests.slice(shift), ...requests.slice(0, shift)]);
      const { created, deleted } = checkAnswers(outcomes, 201, 'body/product_ids');
      const covering = await a.app.deps.db
        .selectFrom('certificate_products')
        .select('certificate_id')
        .where('product_id', '=', productId)
        .execute();
      assert.equal(covering.length, created);
      assert.ok(deleted <= 1);
      assert.equal(await exists('products', productId), deleted === 0);
      if (deleted === 1) assert.equal(created, 0);
      clock.advance(61_000);
    }
  });

  test('a constraint only the database enforced is a 409 on any route, never a 500 or a stack', async () => {
    const supplierId = await supplier();
    await product(supplierId);
    const answers = [
      [await a.inject({ method: 'POST', url: '/test/products/sup_gone' }), 409, 'conflict'],
      [await a.inject({ method: 'POST', url: `/test/suppliers/${supplierId}` }), 409, 'conflict'],
      [await a.inject({ method: 'DELETE', url: `/test/suppliers/${supplierId}` }), 409, 'resource_in_use'],
    ] as const;
    const ids = new Set<string>();
    for (const [response, status, code] of answers) {
      assert.equal(response.statusCode, status, response.body);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      assert.equal(response.json().code, code, response.body);
      // The answer names no value from the database's message (which may hold user data).
      assert.doesNotMatch(response.body, /sup_gone|violates|constraint failed/);
      ids.add(response.json().request_id);
    }
    const lines = capturedLogs.filter((line) => ids.has(/"request_id":"([^"]+)"/.exec(line)?.[1] ?? ''));
    assert.ok(lines.some((line) => line.includes('database constraint answered as a conflict')));
    for (const line of lines) {
      assert.doesNotMatch(line, /"stack"|violates|constraint failed/, line.slice(0, 300));
      assert.ok((JSON.parse(line) as { level: number }).level < 50, line.slice(0, 300));
    }
  });

  test('the data holds no reference to a deleted row', async () => {
    const db = a.app.deps.db;
    const orphanProducts = await db
      .selectFrom('products')
      .leftJoin('suppliers', 'suppliers.id', 'products.supplier_id')
      .select('products.id')
      .where('suppliers.id', 'is', null)
      .execute();
    const orphanCovers = await db
      .selectFrom('certificate_products')
      .leftJoin('products', 'products.id', 'certificate_products.product_id')
      .select('certificate_products.certificate_id')
      .where('products.id', 'is', null)
      .execute();
    assert.deepEqual([orphanProducts, orphanCovers], [[], []]);
  });
});
