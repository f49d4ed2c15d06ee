/**
 * `api_keys.replaced_by_id`: the one key a roll made from this one. A roll claims the old key by setting it
 * in a conditional UPDATE (only while the key is not revoked, not expired and not already rolled), so the
 * row itself is the lock that gives a key at most one successor and makes roll and revoke exclusive, on
 * SQLite and PostgreSQL alike (issue 14).
 *
 * Existing lineage is carried over: a key gets its earliest successor (the id sorts by creation time); a
 * key that an earlier version rolled twice keeps both successors, and names the first.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

/** Sets `replaced_by_id` from the existing lineage: each rolled key names its earliest successor. */
export async function carryOverLineage(db: Kysely<unknown>): Promise<void> {
  await sql`
    update api_keys set replaced_by_id = (
      select min(successor.id) from api_keys successor where successor.rolled_from_id = api_keys.id
    )
    where replaced_by_id is null
      and exists (select 1 from api_keys successor where successor.rolled_from_id = api_keys.id)
  `.execute(db);
}

export function apiKeySuccessor(dialect: Dialect) {
  const id = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('api_keys').addColumn('replaced_by_id', id).execute();
      await carryOverLineage(db);
    },
    async down(): Promise<void> {
      throw new Error('migration 0010-api-key-successor cannot be reverted');
    },
  };
}
