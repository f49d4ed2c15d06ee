/** Suppliers of one tenant. Every function takes the tenant; no query path exists without it. */
import { newId } from '@cohera/shared';
import type { Kysely } from 'kysely';
import type { Tenant } from '../../auth/context.ts';
import { isoAt } from '../../clock.ts';
import { inTransaction } from '../../storage/database.ts';
import type { DB, SuppliersTable } from '../../storage/schema.ts';
import { holdForDelete } from '../references.ts';

export interface SupplierInput {
  name: string;
  country: string;
  contact_email?: string | null;
  status?: SuppliersTable['status'];
}

export async function createSupplier(db: Kysely<DB>, tenant: Tenant, input: SupplierInput, now: number) {
  const row: SuppliersTable = {
    id: newId('supplier', now),
    org_id: tenant.orgId,
    mode: tenant.mode,
    name: input.name,
    country: input.country,
    contact_email: input.contact_email ?? null,
    status: input.status ?? 'active',
    created_at: isoAt(now),
    updated_at: isoAt(now),
  };
  await db.insertInto('suppliers').values(row).execute();
  return row;
}

export async function getSupplier(
  db: Kysely<DB>,
  tenant: Tenant,
  id: string,
): Promise<SuppliersTable | null> {
  const row = await db
    .selectFrom('suppliers')
    .selectAll()
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ?? null;
}

export async function listSuppliers(
  db: Kysely<DB>,
  tenant: Tenant,
  page: { limit: number; after: string | null; status?: SuppliersTable['status'] | undefined },
) {
  let query = db
    .selectFrom('suppliers')
    .selectAll()
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode);
  if (page.after) query = query.where('id', '<', page.after);
  if (page.status) query = query.where('status', '=', page.status);
  return query
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

export async function updateSupplier(
  db: Kysely<DB>,
  tenant: Tenant,
  id: string,
  patch: Partial<SupplierInput>,
  now: number,
): Promise<SuppliersTable | null> {
  const result = await db
    .updateTable('suppliers')
    .set({ ...patch, updated_at: isoAt(now) })
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', id)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) return null;
  return getSupplier(db, tenant, id);
}

/** Deletes a supplier; `in_use` when products or certificates still reference it. */
export async function deleteSupplier(db: Kysely<DB>, tenant: Tenant, id: string) {
  return inTransaction(db, async (trx) => {
    // Held first, so no product or certificate can start referencing it between these checks and the delete.
    if (!(await holdForDelete(trx, 'suppliers', tenant, id))) return 'not_found' as const;
    const referenced =
      (await trx
        .selectFrom('products')
        .select('id')
        .where('org_id', '=', tenant.orgId)
        .where('mode', '=', tenant.mode)
        .where('supplier_id', '=', id)
        .executeTakeFirst()) ??
      (await trx
        .selectFrom('certificates')
        .select('id')
        .where('org_id', '=', tenant.orgId)
        .where('mode', '=', tenant.mode)
        .where('supplier_id', '=', id)
        .executeTakeFirst());
    if (referenced) return 'in_use' as const;
    await trx
      .deleteFrom('suppliers')
      .where('org_id', '=', tenant.orgId)
      .where('mode', '=', tenant.mode)
      .where('id', '=', id)
      .execute();
    return 'deleted' as const;
  });
}
