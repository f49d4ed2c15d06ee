/** Organizations: the tenant root. Tiers change only through the operator CLI (DESIGN §9). */
import { newId } from '@cohera/shared';
import type { Kysely, Transaction } from 'kysely';
import type { AuditLog } from '../audit/log.ts';
import { isoAt } from '../clock.ts';
import { inTransaction } from '../storage/database.ts';
import type { DB, LeakedKeyAction, OrgsTable, Tier } from '../storage/schema.ts';

export const TIERS: readonly Tier[] = ['free', 'pro', 'enterprise'];

/** The reference's tiers. Enterprise has no default: the operator sets its limits per org. */
export const TIER_LIMITS: Readonly<
  Record<Exclude<Tier, 'enterprise'>, { perMinute: number; perDay: number }>
> = {
  free: { perMinute: 60, perDay: 1_000 },
  pro: { perMinute: 600, perDay: 50_000 },
};
/** What an enterprise org gets until the operator sets its custom limits. */
export const ENTERPRISE_DEFAULT_LIMITS = { perMinute: 6_000, perDay: 1_000_000 };

export function rateLimitsOf(org: Pick<OrgsTable, 'tier' | 'rate_limit_per_minute' | 'rate_limit_per_day'>) {
  const base = org.tier === 'enterprise' ? ENTERPRISE_DEFAULT_LIMITS : TIER_LIMITS[org.tier];
  return {
    per_minute: org.rate_limit_per_minute ?? base.perMinute,
    per_day: org.rate_limit_per_day ?? base.perDay,
  };
}

export async function insertOrg(
  db: Kysely<DB> | Transaction<DB>,
  input: { name: string; tier: Tier },
  now: number,
): Promise<OrgsTable> {
  const row: OrgsTable = {
    id: newId('organization', now),
    name: input.name,
    tier: input.tier,
    rate_limit_per_minute: null,
    rate_limit_per_day: null,
    max_key_lifetime_days: null,
    key_rotation_days: 90,
    leaked_key_action: 'revoke',
    created_at: isoAt(now),
    updated_at: isoAt(now),
  };
  await db.insertInto('orgs').values(row).execute();
  return row;
}

export async function findOrg(db: Kysely<DB>, orgId: string): Promise<OrgsTable | null> {
  return (await db.selectFrom('orgs').selectAll().where('id', '=', orgId).executeTakeFirst()) ?? null;
}

/**
 * Sets an org's tier and, optionally, custom limits. Custom limits are cleared when not given, so moving
 * an org from enterprise back to pro restores pro's limits.
 */
/** `audit`: the operator CLI records `org.tier_changed` in the change's transaction. */
export async function setTier(
  db: Kysely<DB>,
  orgId: string,
  input: { tier: Tier; perMinute: number | null; perDay: number | null },
  now: number,
  audit?: AuditLog,
): Promise<OrgsTable | null> {
  return inTransaction(db, async (trx) => {
    const before = await findOrg(trx, orgId);
    if (!before) return null;
    await trx
      .updateTable('orgs')
      .set({
        tier: input.tier,
        rate_limit_per_minute: input.perMinute,
        rate_limit_per_day: input.perDay,
        updated_at: isoAt(now),
      })
      .where('id', '=', orgId)
      .execute();
    await audit?.record(trx, {
      orgId,
      actor: { kind: 'operator', id: 'cli' },
      action: 'org.tier_changed',
      target: { kind: 'org', id: orgId },
      metadata: {
        from: {
          tier: before.tier,
          per_minute: before.rate_limit_per_minute,
          per_day: before.rate_limit_per_day,
        },
        to: { tier: input.tier, per_minute: input.perMinute, per_day: input.perDay },
      },
    });
    return findOrg(trx, orgId);
  });
}

/** Changes an org's key policy; fields left out keep their value. */
export async function setPolicy(
  db: Kysely<DB>,
  orgId: string,
  policy: {
    max_key_lifetime_days?: number | null;
    key_rotation_days?: number | null;
    leaked_key_action?: LeakedKeyAction;
  },
  now: number,
): Promise<OrgsTable | null> {
  await db
    .updateTable('orgs')
    .set({ ...policy, updated_at: isoAt(now) })
    .where('id', '=', orgId)
    .execute();
  return findOrg(db, orgId);
}
