/** People and their role in an org. Emails are unique across the installation, compared lower-cased. */
import { newId } from '@cohera/shared';
import type { Kysely, Transaction } from 'kysely';
import { isoAt } from '../clock.ts';
import { preparedQuery } from '../storage/prepared-query.ts';
import type { DB, Role, UsersTable } from '../storage/schema.ts';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function insertUser(
  db: Kysely<DB> | Transaction<DB>,
  input: { email: string; passwordHash: string },
  now: number,
): Promise<UsersTable> {
  const row: UsersTable = {
    id: newId('user', now),
    email: normalizeEmail(input.email),
    password_hash: input.passwordHash,
    created_at: isoAt(now),
  };
  await db.insertInto('users').values(row).execute();
  return row;
}

export async function addMembership(
  db: Kysely<DB> | Transaction<DB>,
  input: { orgId: string; userId: string; role: Role },
  now: number,
): Promise<void> {
  await db
    .insertInto('memberships')
    .values({ org_id: input.orgId, user_id: input.userId, role: input.role, created_at: isoAt(now) })
    .execute();
}

export async function findUserByEmail(db: Kysely<DB>, email: string): Promise<UsersTable | null> {
  return (
    (await db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', normalizeEmail(email))
      .executeTakeFirst()) ?? null
  );
}

/** The org a user signs in to: their oldest membership (multi-org switching comes with the dashboard). */
// Read on every OAuth token request (the engine checks the account still exists): compiled once.
const firstMembership = preparedQuery((db, userId: string) =>
  db
    .selectFrom('memberships')
    .select(['org_id', 'role'])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('org_id'),
);

export async function primaryMembership(db: Kysely<DB>, userId: string) {
  return (await firstMembership.first(db, userId)) ?? null;
}
