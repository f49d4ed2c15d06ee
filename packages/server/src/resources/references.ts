/**
 * References between resources (a product's supplier, a certificate's supplier and products), checked and
 * written in one transaction that holds the referenced rows still.
 *
 * Without it, a check and the write that relies on it race a delete on another node: the check sees the
 * supplier, the delete commits, the insert hits the foreign key (a 500 on PostgreSQL); or the delete checks
 * "no products", a product is inserted, and the delete hits the foreign key. On PostgreSQL the writer takes
 * `FOR KEY SHARE` on the rows it references and the deleter `FOR UPDATE` on the row it deletes, which
 * conflict, so one waits for the other and then sees its outcome (READ COMMITTED reads afresh per
 * statement): a create after a delete finds no supplier (the same 400 as when it never existed), a delete
 * after a create finds the new product (409 `resource_in_use`). Key-share locks do not conflict with each
 * other, so creations referencing one supplier never wait for each other. SQLite needs no locks: one
 * connection runs one transaction at a time.
 */
import { type Kysely, PostgresAdapter, type Transaction } from 'kysely';
import type { Tenant } from '../auth/context.ts';
import type { DB } from '../storage/schema.ts';

export function locksRows(db: Kysely<DB>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** Whether the supplier exists in the tenant; on PostgreSQL it cannot be deleted until `trx` ends. */
export async function holdSupplier(
  trx: Transaction<DB>,
  tenant: Tenant,
  supplierId: string,
): Promise<boolean> {
  let query = trx
    .selectFrom('suppliers')
    .select('id')
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', supplierId);
  if (locksRows(trx)) query = query.forKeyShare();
  return (await query.executeTakeFirst()) !== undefined;
}

/** Whether every id is a product of the tenant; on PostgreSQL none can be deleted until `trx` ends. */
export async function holdProducts(
  trx: Transaction<DB>,
  tenant: Tenant,
  productIds: readonly string[],
): Promise<boolean> {
  if (productIds.length === 0) return true;
  let query = trx
    .selectFrom('products')
    .select('id')
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', 'in', productIds)
    // One order for every locker, so two transactions locking overlapping sets never wait on each other
    // in a cycle.
    .orderBy('id');
  if (locksRows(trx)) query = query.forKeyShare();
  const rows = await query.execute();
  return rows.length === new Set(productIds).size;
}

/**
 * Takes the row a delete is about to remove (`FOR UPDATE` on PostgreSQL), so that no transaction can add a
 * reference to it between the "still referenced?" checks and the delete. False when the row does not exist.
 */
export async function holdForDelete(
  trx: Transaction<DB>,
  table: 'suppliers' | 'products',
  tenant: Tenant,
  id: string,
): Promise<boolean> {
  let query = trx
    .selectFrom(table)
    .select('id')
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', id);
  if (locksRows(trx)) query = query.forUpdate();
  return (await query.executeTakeFirst()) !== undefined;
}
