/**
 * Organization usage rows (`org_usage`): the recorder's batched upsert, and the one tenant-scoped read.
 * Counters are summed on conflict, so nodes flushing the same org and day at once add up rather than
 * overwrite each other.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Tenant } from '../auth/context.ts';
import type { DB, OrgUsageTable } from '../storage/schema.ts';

/** Rows per statement: well inside both engines' bound-parameter limits (6 columns each). */
const BATCH = 200;

export interface OrgUsageCounts {
  orgId: string;
  mode: OrgUsageTable['mode'];
  date: string;
  requests: number;
  errors: number;
  rateLimited: number;
}

/** Adds counts to the stored days, inside the recorder's flush transaction. */
export async function addOrgUsage(trx: Transaction<DB>, counts: readonly OrgUsageCounts[]): Promise<void> {
  const rows: OrgUsageTable[] = counts.map((c) => ({
    org_id: c.orgId,
    mode: c.mode,
    date: c.date,
    requests: c.requests,
    errors: c.errors,
    rate_limited: c.rateLimited,
  }));
  for (let i = 0; i < rows.length; i += BATCH) {
    await trx
      .insertInto('org_usage')
      .values(rows.slice(i, i + BATCH))
      .onConflict((oc) =>
        oc.columns(['org_id', 'mode', 'date']).doUpdateSet((eb) => ({
          requests: eb('org_usage.requests', '+', eb.ref('excluded.requests')),
          errors: eb('org_usage.errors', '+', eb.ref('excluded.errors')),
          rate_limited: eb('org_usage.rate_limited', '+', eb.ref('excluded.rate_limited')),
        })),
      )
      .execute();
  }
}

/** An org's stored days in one mode from `fromDate` (`YYYY-MM-DD`, inclusive), oldest first. */
export async function orgUsageSince(db: Kysely<DB>, tenant: Tenant, fromDate: string) {
  return db
    .selectFrom('org_usage')
    .select(['date', 'requests', 'errors', 'rate_limited'])
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('date', '>=', fromDate)
    .orderBy('date')
    .execute();
}

/**
 * Every org's and mode's counts of one day (`YYYY-MM-DD`), across tenants: the rate limiter seeds its day
 * windows from them when Redis lost its counters (ratelimit/day-seed.ts). Not a tenant read for an API.
 */
export async function usageOfDay(db: Kysely<DB>, date: string) {
  return db
    .selectFrom('org_usage')
    .select(['org_id', 'mode', 'requests', 'rate_limited'])
    .where('date', '=', date)
    .execute();
}
