/**
 * `/v1/suppliers` on every engine: CRUD, timestamps, cursor pagination, the status filter, input
 * validation and deletion while referenced.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { apiTimeOf, assertProblem } from '../support/problem.ts';

interface Supplier {
  id: string;
  object: string;
  name: string;
  country: string;
  contact_email: string | null;
  status: string;
  created_at: string;
  updated_at: string;
}
interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

const API_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

forEachEngine('suppliers', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  before(async () => {
    clock = new ManualClock();
    t = await startTestApp(handle(), { clock });
    org = await createOrg(t.app);
  });
  after(() => t.close());

  const create = async (key: string, body: Record<string, unknown>) => {
    const res = await t.call(key, 'POST', '/v1/suppliers', body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json<Supplier>();
  };

  /** Follows `next_cursor` to the end; checks every page is full but the last. */
  async function walk(key: string, query: string, limit: number) {
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/suppliers?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await t.call(key, 'GET', url);
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json<Page<Supplier>>();
      assert.ok(page.data.length <= limit);
      if (page.next_cursor !== null) assert.equal(page.data.length, limit, 'only the last page may be short');
      sizes.push(page.data.length);
      seen.push(...page.data.map((s) => s.id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    return { seen, sizes };
  }

  test('create, get, update, delete', async () => {
    const createdAt = clock.now();
    const res = await t.call(org.adminKey, 'POST', '/v1/suppliers', {
      name: 'Acme',
      country: 'de',
      contact_email: 'ops@acme.example',
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json<Supplier>();
    assert.match(body.id, /^sup_[0-9A-Za-z]{22}$/);
    assert.equal(body.object, 'supplier');
    assert.equal(body.name, 'Acme');
    assert.equal(body.country, 'DE');
    assert.equal(body.contact_email, 'ops@acme.example');
    assert.equal(body.status, 'active');
    assert.match(body.created_at, API_TIME);
    assert.equal(body.created_at, apiTimeOf(createdAt));
    assert.equal(body.updated_at, body.created_at);

    const got = await t.call(org.adminKey, 'GET', `/v1/suppliers/${body.id}`);
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json(), body);

    clock.advance(90_000);
    const patched = await t.call(org.adminKey, 'PATCH', `/v1/suppliers/${body.id}`, {
      status: 'suspended',
      country: 'fr',
      contact_email: null,
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const updated = patched.json<Supplier>();
    assert.deepEqual(updated, {
      ...body,
      status: 'suspended',
      country: 'FR',
      contact_email: null,
      updated_at: apiTimeOf(clock.now()),
    });
    assert.notEqual(updated.updated_at, body.updated_at);
    assert.deepEqual((await t.call(org.adminKey, 'GET', `/v1/suppliers/${body.id}`)).json(), updated);

    const deleted = await t.call(org.adminKey, 'DELETE', `/v1/suppliers/${body.id}`);
    assert.equal(deleted.statusCode, 204);
    assert.equal(deleted.body, '');
    assertProblem(await t.call(org.adminKey, 'GET', `/v1/suppliers/${body.id}`), 404, 'not_found');
    assertProblem(await t.call(org.adminKey, 'DELETE', `/v1/suppliers/${body.id}`), 404, 'not_found');
    assertProblem(
      await t.call(org.adminKey, 'PATCH', `/v1/suppliers/${body.id}`, { name: 'x' }),
      404,
      'not_found',
    );
  });

  test('ids that are not suppliers are 404', async () => {
    for (const id of [
      'sup_0000000000000000000000',
      'prd_0000000000000000000000',
      'nope',
      'sup_%27%20or%201=1',
    ]) {
      assertProblem(await t.call(org.adminKey, 'GET', `/v1/suppliers/${id}`), 404, 'not_found');
    }
  });

  describe('pagination', () => {
    let own: TestOrg;
    let newestFirst: string[];
    before(async () => {
      own = await createOrg(t.app);
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        ids.push((await create(own.adminKey, { name: `Supplier ${i}`, country: 'NL' })).id);
        clock.advance(1); // ids sort by creation time: one millisecond apart makes the order certain
      }
      newestFirst = ids.reverse();
    });

    test('walking with limit=7 sees every supplier once, newest first', async () => {
      const { seen, sizes } = await walk(own.adminKey, '', 7);
      assert.deepEqual(seen, newestFirst);
      assert.deepEqual(sizes, [7, 7, 7, 4]);
      assert.deepEqual([...seen].sort().reverse(), seen, 'ids descend in the order the list returns them');
    });

    test('a limit that divides the total ends without an empty page', async () => {
      const { seen, sizes } = await walk(own.adminKey, '', 5);
      assert.deepEqual(seen, newestFirst);
      assert.deepEqual(sizes, [5, 5, 5, 5, 5]);
    });

    test('the default page is 20 and the largest is 100', async () => {
      const first = (await t.call(own.adminKey, 'GET', '/v1/suppliers')).json<Page<Supplier>>();
      assert.deepEqual(
        first.data.map((s) => s.id),
        newestFirst.slice(0, 20),
      );
      assert.notEqual(first.next_cursor, null);
      const all = (await t.call(own.adminKey, 'GET', '/v1/suppliers?limit=100')).json<Page<Supplier>>();
      assert.equal(all.data.length, 25);
      assert.equal(all.next_cursor, null);
    });

    test('a limit outside 1..100 or not an integer is a 400 naming query/limit', async () => {
      for (const limit of ['0', '101', 'abc', '-1', '1.5', '']) {
        assertProblem(
          await t.call(own.adminKey, 'GET', `/v1/suppliers?limit=${limit}`),
          400,
          'validation_failed',
          'query/limit',
        );
      }
    });

    test('a forged cursor is a 400 naming query/cursor', async () => {
      const b64 = (text: string) => Buffer.from(text).toString('base64url');
      const forged = [
        'not-a-cursor!!',
        b64('prd_0000000000000000000000'), // another list's cursor
        b64('sup_short'),
        b64("sup_0' OR 1=1 --"),
        'x'.repeat(201),
      ];
      for (const cursor of forged) {
        assertProblem(
          await t.call(own.adminKey, 'GET', `/v1/suppliers?cursor=${encodeURIComponent(cursor)}`),
          400,
          'validation_failed',
          'query/cursor',
        );
      }
    });

    test('an unknown query parameter is a 400 naming it', async () => {
      assertProblem(
        await t.call(own.adminKey, 'GET', '/v1/suppliers?colour=red'),
        400,
        'validation_failed',
        'query/colour',
      );
    });
  });

  test('status filter', async () => {
    const own = await createOrg(t.app);
    const active: string[] = [];
    const suspended: string[] = [];
    for (let i = 0; i < 6; i++) {
      const status = i % 3 === 0 ? 'suspended' : 'active';
      const s = await create(own.adminKey, { name: `S${i}`, country: 'IT', status });
      (status === 'active' ? active : suspended).push(s.id);
      clock.advance(1);
    }
    // A status changed by PATCH moves the supplier between the filtered lists.
    const moved = active.shift() as string;
    const res = await t.call(own.adminKey, 'PATCH', `/v1/suppliers/${moved}`, { status: 'suspended' });
    assert.equal(res.statusCode, 200);
    suspended.push(moved);

    const byId = (ids: string[]) => [...ids].sort().reverse();
    assert.deepEqual((await walk(own.adminKey, 'status=active', 2)).seen, byId(active));
    assert.deepEqual((await walk(own.adminKey, 'status=suspended', 2)).seen, byId(suspended));
    assert.deepEqual((await walk(own.adminKey, '', 100)).seen, byId([...active, ...suspended]));
    assertProblem(
      await t.call(own.adminKey, 'GET', '/v1/suppliers?status=deleted'),
      400,
      'validation_failed',
      'query/status',
    );
  });

  test('validation names the offending field and creates nothing', async () => {
    const own = await createOrg(t.app);
    const valid = { name: 'Acme', country: 'DE' };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, nickname: 'A' }, 'body/nickname'],
      [{ country: 'DE' }, 'body/name'],
      [{ name: 'Acme' }, 'body/country'],
      [{ ...valid, name: '' }, 'body/name'],
      [{ ...valid, name: 42 }, 'body/name'],
      [{ ...valid, country: 'XX' }, 'body/country'],
      [{ ...valid, country: '123' }, 'body/country'],
      [{ ...valid, country: 'D' }, 'body/country'],
      [{ ...valid, country: 'DEU' }, 'body/country'],
      [{ ...valid, contact_email: 'not-an-email' }, 'body/contact_email'],
      [{ ...valid, status: 'deleted' }, 'body/status'],
    ];
    for (const [body, field] of cases) {
      assertProblem(
        await t.call(own.adminKey, 'POST', '/v1/suppliers', body),
        400,
        'validation_failed',
        field,
      );
    }
    const list = (await t.call(own.adminKey, 'GET', '/v1/suppliers')).json<Page<Supplier>>();
    assert.deepEqual(list.data, []);

    const s = await create(own.adminKey, { name: 'Acme', country: 'gb' });
    assert.equal(s.country, 'GB');
    assertProblem(await t.call(own.adminKey, 'PATCH', `/v1/suppliers/${s.id}`, {}), 400, 'validation_failed');
    const patchCases: [Record<string, unknown>, string][] = [
      [{ nickname: 'A' }, 'body/nickname'],
      [{ country: 'XX' }, 'body/country'],
      [{ country: '123' }, 'body/country'],
      [{ status: 'deleted' }, 'body/status'],
    ];
    for (const [body, field] of patchCases) {
      assertProblem(
        await t.call(own.adminKey, 'PATCH', `/v1/suppliers/${s.id}`, body),
        400,
        'validation_failed',
        field,
      );
    }
    assert.deepEqual((await t.call(own.adminKey, 'GET', `/v1/suppliers/${s.id}`)).json(), s);
  });

  test('a supplier referenced by a product or a certificate cannot be deleted', async () => {
    const own = await createOrg(t.app);
    const withProduct = await create(own.adminKey, { name: 'P', country: 'DE' });
    const withCertificate = await create(own.adminKey, { name: 'C', country: 'DE' });
    const product = await t.call(own.adminKey, 'POST', '/v1/products', {
      name: 'Widget',
      sku: 'W-1',
      supplier_id: withProduct.id,
    });
    assert.equal(product.statusCode, 201, product.body);
    const certificate = await t.call(own.adminKey, 'POST', '/v1/certificates', {
      standard: 'ISO 9001',
      number: 'Q-1',
      issuer: 'TÜV',
      supplier_id: withCertificate.id,
      issued_at: '2026-01-01',
      expires_at: '2028-01-01',
    });
    assert.equal(certificate.statusCode, 201, certificate.body);

    for (const supplier of [withProduct, withCertificate]) {
      assertProblem(
        await t.call(own.adminKey, 'DELETE', `/v1/suppliers/${supplier.id}`),
        409,
        'resource_in_use',
      );
      assert.equal((await t.call(own.adminKey, 'GET', `/v1/suppliers/${supplier.id}`)).statusCode, 200);
    }

    const productId = product.json<{ id: string }>().id;
    const certificateId = certificate.json<{ id: string }>().id;
    assert.equal((await t.call(own.adminKey, 'DELETE', `/v1/products/${productId}`)).statusCode, 204);
    assert.equal((await t.call(own.adminKey, 'DELETE', `/v1/certificates/${certificateId}`)).statusCode, 204);
    for (const supplier of [withProduct, withCertificate]) {
      assert.equal((await t.call(own.adminKey, 'DELETE', `/v1/suppliers/${supplier.id}`)).statusCode, 204);
    }
  });
});
