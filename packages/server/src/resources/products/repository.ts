/** Products of one tenant. A product's supplier must be a supplier of the same tenant. */
import { newId } from '@cohera/shared';
import type { Kysely } from 'kysely';
import type { Tenant } from '../../auth/context.ts';
import { isoAt } from '../../clock.ts';
import type { DB, ProductsTable } from '../../storage/schema.ts';

export interface ProductInput {
  name: string;
  sku: string;
  supplier_id: string;
}

export async function supplierExists(db: Kysely<DB>, tenant: Tenant, supplierId: string): Promise<boolean> {
  const row = await db
    .selectFrom('suppliers')
    .select('id')
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', supplierId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function createProduct(db: Kysely<DB>, tenant: Tenant, input: ProductInput, now: number) {
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
  await db.insertInto('products').values(row).execute();
  return row;
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

export async function updateProduct(
  db: Kysely<DB>,
  tenant: Tenant,
  id: string,
  patch: Partial<ProductInput>,
  now: number,
): Promise<ProductsTable | null> {
  const result = await db
    .updateTable('products')
    .set({ ...patch, updated_at: isoAt(now) })
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', id)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) return null;
  return getProduct(db, tenant, id);
}

/** Deletes a product; `in_use` while a certificate still covers it. */
export async function deleteProduct(db: Kysely<DB>, tenant: Tenant, id: string) {
  return db.transaction().execute(async (trx) => {
    const exists = await trx
      .selectFrom('products')
      .select('id')
      .where('org_id', '=', tenant.orgId)
      .where('mode', '=', tenant.mode)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!exists) return 'not_found' as const;
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
