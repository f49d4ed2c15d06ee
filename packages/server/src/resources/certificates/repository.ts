/**
 * Certificates of one tenant, with the products they cover. `expired` is not stored: a `valid`
 * certificate whose `expires_at` has passed reads as `expired`, and the status filter asks the same.
 */
import { type Mode, newId } from '@cohera/shared';
import type { Kysely, Transaction } from 'kysely';
import type { Tenant } from '../../auth/context.ts';
import { isoAt } from '../../clock.ts';
import { inTransaction } from '../../storage/database.ts';
import type { CertificatesTable, DB } from '../../storage/schema.ts';
import { holdProducts, holdSupplier, locksRows } from '../references.ts';

export type CertificateStatus = 'valid' | 'expired' | 'revoked';

export interface CertificateInput {
  standard: string;
  number: string;
  issuer: string;
  supplier_id: string;
  product_ids: string[];
  issued_at: string;
  expires_at: string;
  status: 'valid' | 'revoked';
}

export interface CertificateRecord extends CertificatesTable {
  product_ids: string[];
}

export function statusAt(
  row: Pick<CertificatesTable, 'status' | 'expires_at'>,
  now: number,
): CertificateStatus {
  if (row.status === 'revoked') return 'revoked';
  return row.expires_at <= isoAt(now) ? 'expired' : 'valid';
}

/** The certificate was not written: a reference names no object of the tenant (or no longer does). */
export type MissingReference = { missing: 'supplier_id' | 'product_ids' };

/** Checks and holds (references.ts) the supplier and products a write is about to reference. */
async function holdReferences(
  trx: Transaction<DB>,
  tenant: Tenant,
  input: Partial<CertificateInput>,
): Promise<MissingReference | null> {
  if (input.supplier_id !== undefined && !(await holdSupplier(trx, tenant, input.supplier_id))) {
    return { missing: 'supplier_id' };
  }
  if (input.product_ids !== undefined && !(await holdProducts(trx, tenant, input.product_ids))) {
    return { missing: 'product_ids' };
  }
  return null;
}

async function setProducts(
  trx: Transaction<DB>,
  tenant: Tenant,
  certificateId: string,
  productIds: readonly string[],
) {
  await trx
    .deleteFrom('certificate_products')
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('certificate_id', '=', certificateId)
    .execute();
  if (productIds.length === 0) return;
  await trx
    .insertInto('certificate_products')
    .values(
      productIds.map((productId, position) => ({
        org_id: tenant.orgId,
        mode: tenant.mode as Mode,
        certificate_id: certificateId,
        product_id: productId,
        position,
      })),
    )
    .execute();
}

async function productIdsOf(db: Kysely<DB>, tenant: Tenant, certificateIds: readonly string[]) {
  const byCertificate = new Map<string, string[]>(certificateIds.map((id) => [id, []]));
  if (certificateIds.length === 0) return byCertificate;
  const rows = await db
    .selectFrom('certificate_products')
    .select(['certificate_id', 'product_id'])
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('certificate_id', 'in', certificateIds)
    .orderBy('certificate_id')
    .orderBy('position')
    .execute();
  for (const row of rows) byCertificate.get(row.certificate_id)?.push(row.product_id);
  return byCertificate;
}

/**
 * The stored status of a certificate about to be changed in `trx`, its row held (`FOR UPDATE` on
 * PostgreSQL) until `trx` ends: two concurrent PATCHes that both revoke see each other's result, so exactly
 * one of them is the change that revoked. Null when the certificate does not exist.
 */
export async function storedStatusForUpdate(
  trx: Transaction<DB>,
  tenant: Tenant,
  id: string,
): Promise<CertificatesTable['status'] | null> {
  let query = trx
    .selectFrom('certificates')
    .select('status')
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', id);
  if (locksRows(trx)) query = query.forUpdate();
  return (await query.executeTakeFirst())?.status ?? null;
}

export async function createCertificate(
  db: Kysely<DB>,
  tenant: Tenant,
  input: CertificateInput,
  now: number,
): Promise<CertificateRecord | MissingReference> {
  const { product_ids, ...fields } = input;
  const row: CertificatesTable = {
    id: newId('certificate', now),
    org_id: tenant.orgId,
    mode: tenant.mode,
    ...fields,
    created_at: isoAt(now),
    updated_at: isoAt(now),
  };
  const missing = await inTransaction(db, async (trx) => {
    const missing = await holdReferences(trx, tenant, input);
    if (missing) return missing;
    await trx.insertInto('certificates').values(row).execute();
    await setProducts(trx, tenant, row.id, product_ids);
    return null;
  });
  return missing ?? { ...row, product_ids: [...product_ids] };
}

export async function getCertificate(
  db: Kysely<DB>,
  tenant: Tenant,
  id: string,
): Promise<CertificateRecord | null> {
  const row = await db
    .selectFrom('certificates')
    .selectAll()
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) return null;
  const products = await productIdsOf(db, tenant, [row.id]);
  return { ...row, product_ids: products.get(row.id) ?? [] };
}

export interface CertificateFilters {
  limit: number;
  after: string | null;
  supplierId?: string | undefined;
  status?: CertificateStatus | undefined;
  expiresBefore?: string | undefined;
}

export async function listCertificates(
  db: Kysely<DB>,
  tenant: Tenant,
  filters: CertificateFilters,
  now: number,
): Promise<CertificateRecord[]> {
  let query = db
    .selectFrom('certificates')
    .selectAll()
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode);
  if (filters.after) query = query.where('id', '<', filters.after);
  if (filters.supplierId) query = query.where('supplier_id', '=', filters.supplierId);
  if (filters.expiresBefore) query = query.where('expires_at', '<', filters.expiresBefore);
  if (filters.status === 'revoked') query = query.where('status', '=', 'revoked');
  if (filters.status === 'valid')
    query = query.where('status', '=', 'valid').where('expires_at', '>', isoAt(now));
  if (filters.status === 'expired')
    query = query.where('status', '=', 'valid').where('expires_at', '<=', isoAt(now));
  const rows = await query
    .orderBy('id', 'desc')
    .limit(filters.limit + 1)
    .execute();
  const products = await productIdsOf(
    db,
    tenant,
    rows.map((r) => r.id),
  );
  return rows.map((row) => ({ ...row, product_ids: products.get(row.id) ?? [] }));
}

export async function updateCertificate(
  db: Kysely<DB>,
  tenant: Tenant,
  id: string,
  patch: Partial<CertificateInput>,
  now: number,
): Promise<CertificateRecord | MissingReference | null> {
  const { product_ids, ...fields } = patch;
  const updated = await inTransaction(db, async (trx) => {
    const missing = await holdReferences(trx, tenant, patch);
    if (missing) return missing;
    const result = await trx
      .updateTable('certificates')
      .set({ ...fields, updated_at: isoAt(now) })
      .where('org_id', '=', tenant.orgId)
      .where('mode', '=', tenant.mode)
      .where('id', '=', id)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return false;
    if (product_ids !== undefined) await setProducts(trx, tenant, id, product_ids);
    return true;
  });
  if (typeof updated === 'object') return updated;
  return updated ? getCertificate(db, tenant, id) : null;
}

export async function deleteCertificate(db: Kysely<DB>, tenant: Tenant, id: string): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    await trx
      .deleteFrom('certificate_products')
      .where('org_id', '=', tenant.orgId)
      .where('mode', '=', tenant.mode)
      .where('certificate_id', '=', id)
      .execute();
    const result = await trx
      .deleteFrom('certificates')
      .where('org_id', '=', tenant.orgId)
      .where('mode', '=', tenant.mode)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  });
}
