/** The people of an org, with their e-mail and role: always scoped by the org (the tenant). */
import type { Kysely } from 'kysely';
import type { DB, Role } from '../storage/schema.ts';

export interface MemberRow {
  user_id: string;
  email: string;
  role: Role;
  joined_at: string;
}

/** One page of members by user id (keyset pagination), newest account first like every list. */
export async function listMembers(
  db: Kysely<DB>,
  orgId: string,
  page: { limit: number; after: string | null },
): Promise<MemberRow[]> {
  let query = db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select([
      'memberships.user_id as user_id',
      'users.email as email',
      'memberships.role as role',
      'memberships.created_at as joined_at',
    ])
    .where('memberships.org_id', '=', orgId);
  if (page.after) query = query.where('memberships.user_id', '<', page.after);
  return query
    .orderBy('memberships.user_id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

export async function findMember(db: Kysely<DB>, orgId: string, userId: string): Promise<MemberRow | null> {
  return (
    (await db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select([
        'memberships.user_id as user_id',
        'users.email as email',
        'memberships.role as role',
        'memberships.created_at as joined_at',
      ])
      .where('memberships.org_id', '=', orgId)
      .where('memberships.user_id', '=', userId)
      .executeTakeFirst()) ?? null
  );
}
