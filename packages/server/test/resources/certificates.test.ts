/**
 * `/v1/certificates` on every engine: CRUD, pagination, the derived `expired` status as the clock moves,
 * the `supplier_id` / `status` / `expires_before` filters, timestamp inputs (plain dates, offsets,
 * impossible dates) and references that must stay inside the tenant.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newId } from '@cohera/shared';
import { ManualClock } from '../../src/clock.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { apiTimeOf, assertProblem, type ProblemBody } from '../support/problem.ts';

interface Certificate {
  id: string;
  object: string;
  standard: string;
  number: string;
  issuer: string;
  supplier_id: string;
  product_ids: string[];
  issued_at: string;
  expires_at: string;
  status: string;
  created_at: string;
  updated_at: string;
}
interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

const API_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const START = Date.parse('2026-11-22T10:00:00Z');

const sansRequestId = ({ request_id: _, ...rest }: ProblemBody) => rest;

forEachEngine('certificates', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  before(async () => {
    clock = new ManualClock(START);
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
  const product = (key: string, supplierId: string, sku: string) =>
    post<{ id: string }>(key, '/v1/products', { name: sku, sku, supplier_id: supplierId }).then((p) => p.id);
  const base = (supplierId: string) => ({
    standard: 'ISO 9001',
    number: 'Q-1',
    issuer: 'TÜV',
    supplier_id: supplierId,
    issued_at: '2026-01-01',
    expires_at: '2028-01-01',
  });
  const certificate = (key: string, body: Record<string, unknown>) =>
    post<Certificate>(key, '/v1/certificates', body);
  /** Ids of the whole filtered list, in the order the API returns them. */
  const listIds = async (key: string, query = '') => {
    const res = await t.call(key, 'GET', `/v1/certificates?limit=100${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Page<Certificate>>().data.map((c) => c.id);
  };
  const newestFirst = (ids: string[]) => [...ids].sort().reverse();

  test('create, get, update, delete', async () => {
    clock.set(START);
    const org = await createOrg(t.app);
    const supplierId = await supplier(org.adminKey);
    const p1 = await product(org.adminKey, supplierId, 'P1');
    const p2 = await product(org.adminKey, supplierId, 'P2');
    const body = await certificate(org.adminKey, { ...base(supplierId), product_ids: [p2, p1] });
    assert.match(body.id, /^cert_[0-9A-Za-z]{22}$/);
    assert.equal(body.object, 'certificate');
    assert.deepEqual(
      {
        standard: body.standard,
        number: body.number,
        issuer: body.issuer,
        supplier_id: body.supplier_id,
        product_ids: body.product_ids,
        status: body.status,
      },
      {
        standard: 'ISO 9001',
        number: 'Q-1',
        issuer: 'TÜV',
        supplier_id: supplierId,
        product_ids: [p2, p1],
        status: 'valid',
      },
    );
    assert.match(body.created_at, API_TIME);
    assert.equal(body.created_at, apiTimeOf(START));
    assert.equal(body.updated_at, body.created_at);

    const got = await t.call(org.adminKey, 'GET', `/v1/certificates/${body.id}`);
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json(), body);

    clock.advance(3_600_000);
    const patched = await t.call(org.adminKey, 'PATCH', `/v1/certificates/${body.id}`, {
      number: 'Q-2',
      product_ids: [p1],
      status: 'revoked',
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const updated = patched.json<Certificate>();
    assert.deepEqual(updated, {
      ...body,
      number: 'Q-2',
      product_ids: [p1],
      status: 'revoked',
      updated_at: apiTimeOf(clock.now()),
    });
    assert.notEqual(updated.updated_at, body.updated_at);
    assert.deepEqual((await t.call(org.adminKey, 'GET', `/v1/certificates/${body.id}`)).json(), updated);
    // p2 is no longer covered, so it can be deleted; p1 still is.
    assert.equal((await t.call(org.adminKey, 'DELETE', `/v1/products/${p2}`)).statusCode, 204);
    assertProblem(await t.call(org.adminKey, 'DELETE', `/v1/products/${p1}`), 409, 'resource_in_use');

    const deleted = await t.call(org.adminKey, 'DELETE', `/v1/certificates/${body.id}`);
    assert.equal(deleted.statusCode, 204);
    assert.equal(deleted.body, '');
    assertProblem(await t.call(org.adminKey, 'GET', `/v1/certificates/${body.id}`), 404, 'not_found');
    assertProblem(await t.call(org.adminKey, 'DELETE', `/v1/certificates/${body.id}`), 404, 'not_found');
    assertProblem(
      await t.call(org.adminKey, 'PATCH', `/v1/certificates/${body.id}`, { number: 'x' }),
      404,
      'not_found',
    );
    // Deleting the certificate released its products.
    assert.equal((await t.call(org.adminKey, 'DELETE', `/v1/products/${p1}`)).statusCode, 204);
  });

  test('pagination walks every certificate once, newest first', async () => {
    clock.set(START);
    const org = await createOrg(t.app);
    const supplierId = await supplier(org.adminKey);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      ids.push((await certificate(org.adminKey, { ...base(supplierId), number: `N${i}` })).id);
      clock.advance(1);
    }
    const seen: string[] = [];
    let pages = 0;
    let cursor: string | null = null;
    do {
      const res = await t.call(
        org.adminKey,
        'GET',
        `/v1/certificates?limit=5${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(res.statusCode, 200, res.body);
      const page: Page<Certificate> = res.json<Page<Certificate>>();
      seen.push(...page.data.map((c) => c.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null);
    assert.deepEqual(seen, ids.reverse());
    assert.equal(pages, 3);
    assertProblem(
      await t.call(org.adminKey, 'GET', '/v1/certificates?limit=101'),
      400,
      'validation_failed',
      'query/limit',
    );
    assertProblem(
      await t.call(org.adminKey, 'GET', '/v1/certificates?cursor=Zm9yZ2Vk'),
      400,
      'validation_failed',
      'query/cursor',
    );
  });

  test('expired is derived from expires_at as the clock moves', async () => {
    clock.set(START); // 2026-11-22T10:00:00Z
    const org = await createOrg(t.app);
    const supplierId = await supplier(org.adminKey);
    const soon = await certificate(org.adminKey, {
      ...base(supplierId),
      number: 'SOON',
      expires_at: '2026-11-23', // valid through the whole of that day
    });
    const later = await certificate(org.adminKey, { ...base(supplierId), number: 'LATER' });
    const revokedLater = await certificate(org.adminKey, {
      ...base(supplierId),
      number: 'REV-LATER',
      status: 'revoked',
    });
    const revokedSoon = await certificate(org.adminKey, {
      ...base(supplierId),
      number: 'REV-SOON',
      expires_at: '2026-11-23',
      status: 'revoked',
    });
    assert.equal(soon.expires_at, '2026-11-23T23:59:59Z');
    assert.equal(soon.status, 'valid');
    assert.equal(revokedSoon.status, 'revoked');

    const expectLists = async (valid: string[], expired: string[], revoked: string[]) => {
      assert.deepEqual(await listIds(org.adminKey, '&status=valid'), newestFirst(valid), 'status=valid');
      assert.deepEqual(
        await listIds(org.adminKey, '&status=expired'),
        newestFirst(expired),
        'status=expired',
      );
      assert.deepEqual(
        await listIds(org.adminKey, '&status=revoked'),
        newestFirst(revoked),
        'status=revoked',
      );
    };
    const statusOf = async (id: string) =>
      (await t.call(org.adminKey, 'GET', `/v1/certificates/${id}`)).json<Certificate>().status;

    await expectLists([soon.id, later.id], [], [revokedLater.id, revokedSoon.id]);

    clock.set(Date.parse('2026-11-23T23:59:58Z')); // the last day, not yet over
    assert.equal(await statusOf(soon.id), 'valid');
    await expectLists([soon.id, later.id], [], [revokedLater.id, revokedSoon.id]);

    clock.set(Date.parse('2026-11-24T00:00:00Z'));
    assert.equal(await statusOf(soon.id), 'expired');
    assert.equal(await statusOf(later.id), 'valid');
    assert.equal(await statusOf(revokedSoon.id), 'revoked', 'revoked stays revoked after expiry');
    await expectLists([later.id], [soon.id], [revokedLater.id, revokedSoon.id]);
    const listed = (await t.call(org.adminKey, 'GET', '/v1/certificates?status=expired')).json<
      Page<Certificate>
    >();
    assert.deepEqual(
      listed.data.map((c) => c.status),
      ['expired'],
    );

    // Expiry is not stored: extending the certificate makes it valid again.
    const renewed = await t.call(org.adminKey, 'PATCH', `/v1/certificates/${soon.id}`, {
      expires_at: '2027-11-23',
    });
    assert.equal(renewed.statusCode, 200, renewed.body);
    assert.equal(renewed.json<Certificate>().status, 'valid');
    await expectLists([soon.id, later.id], [], [revokedLater.id, revokedSoon.id]);

    // `expired` describes time, not a decision: it cannot be written.
    assertProblem(
      await t.call(org.adminKey, 'PATCH', `/v1/certificates/${later.id}`, { status: 'expired' }),
      400,
      'validation_failed',
      'body/status',
    );
    assertProblem(
      await t.call(org.adminKey, 'GET', '/v1/certificates?status=lapsed'),
      400,
      'validation_failed',
      'query/status',
    );
  });

  test('supplier_id and expires_before filters', async () => {
    clock.set(START);
    const org = await createOrg(t.app);
    const a = await supplier(org.adminKey, 'A');
    const b = await supplier(org.adminKey, 'B');
    const jan = await certificate(org.adminKey, { ...base(a), number: 'JAN', expires_at: '2027-01-31' });
    clock.advance(1);
    const jun = await certificate(org.adminKey, {
      ...base(b),
      number: 'JUN',
      expires_at: '2027-06-30T12:00:00Z',
    });
    clock.advance(1);
    const next = await certificate(org.adminKey, { ...base(a), number: 'NEXT', expires_at: '2028-01-01' });

    assert.deepEqual(await listIds(org.adminKey, `&supplier_id=${a}`), newestFirst([jan.id, next.id]));
    assert.deepEqual(await listIds(org.adminKey, `&supplier_id=${b}`), [jun.id]);
    assert.deepEqual(await listIds(org.adminKey, `&supplier_id=${newId('supplier')}`), []);

    const expiringBefore = (value: string) =>
      listIds(org.adminKey, `&expires_before=${encodeURIComponent(value)}`);
    // A plain date in a query is the start of that day: JAN expires at the end of 2027-01-31.
    assert.deepEqual(await expiringBefore('2027-01-31'), []);
    assert.deepEqual(await expiringBefore('2027-02-01'), [jan.id]);
    assert.deepEqual(await expiringBefore('2027-06-30T12:00:00Z'), [jan.id], 'strictly before');
    assert.deepEqual(await expiringBefore('2027-06-30T12:00:01Z'), newestFirst([jan.id, jun.id]));
    assert.deepEqual(await expiringBefore('2027-06-30T14:00:01+02:00'), newestFirst([jan.id, jun.id]));
    assert.deepEqual(await expiringBefore('2030-01-01'), newestFirst([jan.id, jun.id, next.id]));

    // Filters combine.
    assert.deepEqual(
      await listIds(org.adminKey, `&supplier_id=${a}&expires_before=2027-12-31&status=valid`),
      [jan.id],
    );
    clock.set(Date.parse('2027-03-01T00:00:00Z'));
    assert.deepEqual(await listIds(org.adminKey, `&supplier_id=${a}&status=valid`), [next.id]);
    assert.deepEqual(await listIds(org.adminKey, `&supplier_id=${a}&status=expired`), [jan.id]);

    for (const [query, field] of [
      ['expires_before=2027-02-31', 'query/expires_before'],
      ['expires_before=tomorrow', 'query/expires_before'],
      ['supplier_id=acme', 'query/supplier_id'],
    ]) {
      assertProblem(
        await t.call(org.adminKey, 'GET', `/v1/certificates?${query}`),
        400,
        'validation_failed',
        field,
      );
    }
  });

  test('timestamp inputs: plain dates, offsets, impossible dates', async () => {
    clock.set(START);
    const org = await createOrg(t.app);
    const s = await supplier(org.adminKey);

    const dated = await certificate(org.adminKey, {
      ...base(s),
      issued_at: '2026-01-15',
      expires_at: '2027-01-31',
    });
    assert.equal(dated.issued_at, '2026-01-15T00:00:00Z', 'a plain issued_at is the start of the day');
    assert.equal(dated.expires_at, '2027-01-31T23:59:59Z', 'a plain expires_at is the end of the day');

    const sameDay = await certificate(org.adminKey, {
      ...base(s),
      issued_at: '2027-01-31',
      expires_at: '2027-01-31',
    });
    assert.equal(sameDay.issued_at, '2027-01-31T00:00:00Z');
    assert.equal(sameDay.expires_at, '2027-01-31T23:59:59Z');

    const offsets = await certificate(org.adminKey, {
      ...base(s),
      issued_at: '2026-01-15T08:30:00.123Z',
      expires_at: '2027-01-31T12:00:00+02:00',
    });
    assert.equal(offsets.issued_at, '2026-01-15T08:30:00Z');
    assert.equal(offsets.expires_at, '2027-01-31T10:00:00Z', 'stored and shown in UTC');

    const leap = await certificate(org.adminKey, { ...base(s), expires_at: '2028-02-29' });
    assert.equal(leap.expires_at, '2028-02-29T23:59:59Z');

    const cases: [Record<string, unknown>, string][] = [
      [{ expires_at: '2027-02-31' }, 'body/expires_at'],
      [{ expires_at: '2027-13-01' }, 'body/expires_at'],
      [{ expires_at: '2027-02-29' }, 'body/expires_at'], // 2027 is not a leap year
      [{ issued_at: '2026-04-31' }, 'body/issued_at'],
      [{ issued_at: '2026-01-01T25:00:00Z' }, 'body/issued_at'],
      [{ issued_at: 'yesterday' }, 'body/issued_at'],
      [{ issued_at: 1767225600 }, 'body/issued_at'],
      // expires_at must come after issued_at
      [{ issued_at: '2027-01-31T10:00:00Z', expires_at: '2027-01-31T10:00:00Z' }, 'body/expires_at'],
      [{ issued_at: '2027-02-01', expires_at: '2027-01-31' }, 'body/expires_at'],
    ];
    for (const [override, field] of cases) {
      assertProblem(
        await t.call(org.adminKey, 'POST', '/v1/certificates', { ...base(s), ...override }),
        400,
        'validation_failed',
        field,
      );
    }

    // PATCH checks the pair against the stored half.
    for (const [patch, field] of [
      [{ expires_at: '2026-01-14' }, 'body/expires_at'],
      [{ issued_at: '2027-02-01' }, 'body/expires_at'],
      [{ expires_at: '2027-02-30' }, 'body/expires_at'],
    ] as const) {
      assertProblem(
        await t.call(org.adminKey, 'PATCH', `/v1/certificates/${dated.id}`, patch),
        400,
        'validation_failed',
        field,
      );
    }
    assert.deepEqual((await t.call(org.adminKey, 'GET', `/v1/certificates/${dated.id}`)).json(), dated);
  });

  test('validation names the offending field and creates nothing', async () => {
    clock.set(START);
    const org = await createOrg(t.app);
    const s = await supplier(org.adminKey);
    const p = await product(org.adminKey, s, 'P');
    const valid = base(s);
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, grade: 'A' }, 'body/grade'],
      [{ ...valid, status: 'expired' }, 'body/status'],
      [{ ...valid, status: 'bogus' }, 'body/status'],
      [{ ...valid, product_ids: [p, p] }, 'body/product_ids'],
      [{ ...valid, product_ids: 'prd_x' }, 'body/product_ids'],
      [{ ...valid, standard: '' }, 'body/standard'],
    ];
    for (const field of ['standard', 'number', 'issuer', 'supplier_id', 'issued_at', 'expires_at'] as const) {
      const { [field]: _, ...missing } = valid;
      cases.push([missing, `body/${field}`]);
    }
    for (const [body, field] of cases) {
      assertProblem(
        await t.call(org.adminKey, 'POST', '/v1/certificates', body),
        400,
        'validation_failed',
        field,
      );
    }
    assert.deepEqual(await listIds(org.adminKey), []);

    const c = await certificate(org.adminKey, valid);
    assert.deepEqual(c.product_ids, [], 'product_ids defaults to none');
    assertProblem(
      await t.call(org.adminKey, 'PATCH', `/v1/certificates/${c.id}`, {}),
      400,
      'validation_failed',
    );
    assertProblem(
      await t.call(org.adminKey, 'PATCH', `/v1/certificates/${c.id}`, { grade: 'A' }),
      400,
      'validation_failed',
      'body/grade',
    );
  });

  describe('references stay inside the tenant', () => {
    let orgA: TestOrg;
    let supplierA: string;
    let productA: string;
    let foreignSuppliers: string[];
    let foreignProducts: string[];
    before(async () => {
      clock.set(START);
      orgA = await createOrg(t.app);
      const orgB = await createOrg(t.app);
      const testKeyA = await createKey(t.app, orgA, ['admin'], 'test');
      supplierA = await supplier(orgA.adminKey);
      productA = await product(orgA.adminKey, supplierA, 'MINE');
      const supplierB = await supplier(orgB.adminKey);
      const supplierATest = await supplier(testKeyA);
      foreignSuppliers = [supplierB, supplierATest, newId('supplier')];
      foreignProducts = [
        await product(orgB.adminKey, supplierB, 'THEIRS'),
        await product(testKeyA, supplierATest, 'SANDBOX'),
        newId('product'),
      ];
    });

    /** Posts each body; all must be the same 400 naming `field`, and nothing may be created. */
    async function refusedAlike(bodies: Record<string, unknown>[], field: string) {
      const existing = await listIds(orgA.adminKey);
      const answers = [];
      for (const body of bodies) {
        const res = await t.call(orgA.adminKey, 'POST', '/v1/certificates', body);
        answers.push(sansRequestId(assertProblem(res, 400, 'validation_failed', field)));
      }
      for (const answer of answers.slice(1)) assert.deepEqual(answer, answers[0]);
      assert.deepEqual(await listIds(orgA.adminKey), existing, 'no certificate was linked');
    }

    test('supplier_id of another org, the other mode, or no one', async () => {
      await refusedAlike(
        foreignSuppliers.map((id) => ({ ...base(id) })),
        'body/supplier_id',
      );
    });

    test('product_ids of another org, the other mode, or no one', async () => {
      await refusedAlike(
        foreignProducts.flatMap((id) => [
          { ...base(supplierA), product_ids: [id] },
          { ...base(supplierA), product_ids: [productA, id] },
        ]),
        'body/product_ids',
      );
    });

    test('PATCH cannot link them either', async () => {
      const c = await certificate(orgA.adminKey, { ...base(supplierA), product_ids: [productA] });
      for (const id of foreignSuppliers) {
        assertProblem(
          await t.call(orgA.adminKey, 'PATCH', `/v1/certificates/${c.id}`, { supplier_id: id }),
          400,
          'validation_failed',
          'body/supplier_id',
        );
      }
      for (const id of foreignProducts) {
        assertProblem(
          await t.call(orgA.adminKey, 'PATCH', `/v1/certificates/${c.id}`, { product_ids: [productA, id] }),
          400,
          'validation_failed',
          'body/product_ids',
        );
      }
      assert.deepEqual((await t.call(orgA.adminKey, 'GET', `/v1/certificates/${c.id}`)).json(), c);
    });
  });
});
