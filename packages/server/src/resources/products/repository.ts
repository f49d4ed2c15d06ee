/**
 * Products of one tenant. A product's supplier must be a supplier of the same tenant, checked in the
 * transaction that writes the reference (references.ts).
 */
import { newId } from '@cohera/shared';
import type { Kysely } from 'kysely';
import type { Tenant } from '../../auth/context.ts';
import { isoAt } from '../../clock.ts';
import { inTransaction } from '../../storage/database.ts';
import type { DB, ProductsTable } from '../../storage/schema.ts';
import { holdForDelete, holdSupplier } from '../references.ts';

export interface ProductInput {
  name: string;
  sku: string;
  supplier_id: string;
}

/** The product was not written: its `supplier_id` names no supplier of the tenant (or no longer does). */
export const NO_SUPPLIER = 'no_supplier';

/** Creates a product, its supplier checked and held in the same transaction (references.ts). */
export async function createProduct(
  db: Kysely<DB>,
  tenant: Tenant,
  input: ProductInput,
  now: number,
): Promise<ProductsTable | typeof NO_SUPPLIER> {
  const row: ProductsTable = {
    id: newId('product', now),
    org_id: tenant.orgId,
    mode: tenant.mode,
    name: input.name,
    sku: input.sku,
    supplier_id: input.supplier_id,
    created_at: isoAt(now),
    updated_at: isoAt(now),
  };
  return inTransaction(db, async (trx) => {
    if (!(await holdSupplier(trx, tenant, input.supplier_id))) return NO_SUPPLIER;
    await trx.insertInto('products').values(row).execute();
    return row;
  });
}

export async function getProduct(db: Kysely<DB>, tenant: Tenant, id: string): Promise<ProductsTable | null> {
  const row = await db
    .selectFrom('products')
    .selectAll()
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ?? null;
}

export async function listProducts(
  db: Kysely<DB>,
  tenant: Tenant,
  page: { limit: number; after: string | null; supplierId?: string | undefined },
) {
  let query = db
    .selectFrom('products')
    .selectAll()
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode);
  if (page.after) query = query.where('id', '<', page.after);
  if (page.supplierId) query = query.where('supplier_id', '=', page.supplierId);
  return query
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

/** Updates a product; a new `supplier_id` is checked and held in the same transaction (references.ts). */
export async function updateProduct(
  db: Kysely<DB>,
  tenant: Tenant,
  id: string,
  patch: Partial<ProductInput>,
  now: number,
): Promise<ProductsTable | typeof NO_SUPPLIER | null> {
  const updated = await inTransaction(db, async (trx) => {
    if (patch.supplier_id !== undefined && !(await holdSupplier(trx, tenant, patch.supplier_id))) {
      return NO_SUPPLIER;
    }
    const result = await trx
      .updateTable('products')
      .set({ ...patch, updated_at: isoAt(now) })
      .where('org_id', '=', tenant.orgId)
      .where('mode', '=', tenant.mode)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  });
  if (updated === NO_SUPPLIER) return NO_SUPPLIER;
  return updated ? getProduct(db, tenant, id) : null;
}

/** Deletes a product; `in_use` while a certificate still covers it. */
export async function deleteProduct(db: Kysely<DB>, tenant: Tenant, id: string) {
  return inTransaction(db, async (trx) => {
    // Held first, so no certificate can start covering it between the check below and the delete.
    if (!(await holdForDelete(trx, 'products', tenant, id))) return 'not_found' as const;
    const covered = await trx
      .selectFrom('certificate_products')
      .select('certificate_id')
      .where('org_id', '=', tenant.orgId)
      .where('mode', '=', tenant.mode)
      .where('product_id', '=', id)
      .executeTakeFirst();
    if (covered) return 'in_use' as const;
    await trx
      .deleteFrom('products')
      .where('org_id', '=', tenant.orgId)
      .where('mode', '=', tenant.mode)
      .where('id', '=', id)
      .execute();
    return 'deleted' as const;
  });
}
