/**
 * `cohera admin bootstrap`: an org, its owner (with a generated password) and an `admin` API key, in one
 * transaction, so a failure leaves nothing half-made. The password and key are returned once, never stored.
 */
import { generateApiKey } from '@cohera/shared';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/log.ts';
import { insertApiKey } from '../auth/api-keys/repository.ts';
import { isUniqueViolation } from '../storage/database.ts';
import type { DB, Tier } from '../storage/schema.ts';
import { generatePassword, hashPassword } from '../users/passwords.ts';
import { addMembership, findUserByEmail, insertUser, normalizeEmail } from '../users/repository.ts';
import { insertOrg } from './repository.ts';

export interface BootstrapInput {
  orgName: string;
  email: string;
  tier: Tier;
}

export interface BootstrapResult {
  org_id: string;
  user_id: string;
  email: string;
  password: string;
  api_key: string;
}

export class BootstrapError extends Error {
  readonly code: 'email_exists' | 'invalid_input';
  constructor(code: BootstrapError['code'], message: string) {
    super(message);
    this.name = 'BootstrapError';
    this.code = code;
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** `audit`: the operator CLI records `org.created` in the bootstrap's transaction. */
export async function bootstrap(
  db: Kysely<DB>,
  input: BootstrapInput,
  now: number,
  audit?: AuditLog,
): Promise<BootstrapResult> {
  const orgName = input.orgName.trim();
  const email = normalizeEmail(input.email);
  if (!orgName || orgName.length > 200)
    throw new BootstrapError('invalid_input', '--org must be 1 to 200 characters');
  if (!EMAIL.test(email) || email.length > 254)
    throw new BootstrapError('invalid_input', '--email must be an email address');
  if (await findUserByEmail(db, email)) {
    throw new BootstrapError('email_exists', `a user with email ${email} already exists`);
  }
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  const apiKey = generateApiKey('live');
  try {
    return await db.transaction().execute(async (trx) => {
      const org = await insertOrg(trx, { name: orgName, tier: input.tier }, now);
      const user = await insertUser(trx, { email, passwordHash }, now);
      await addMembership(trx, { orgId: org.id, userId: user.id, role: 'owner' }, now);
      const key = await insertApiKey(
        trx,
        { orgId: org.id, mode: 'live' },
        apiKey,
        {
          name: 'Bootstrap admin key',
          scopes: ['admin'],
          expiresAt: null,
          rateLimitPerMinute: null,
          createdBy: { kind: 'user', id: user.id },
        },
        now,
      );
      await audit?.record(trx, {
        orgId: org.id,
        actor: { kind: 'operator', id: 'cli' },
        action: 'org.created',
        target: { kind: 'org', id: org.id },
        metadata: { name: orgName, tier: input.tier, owner_user_id: user.id, admin_key_id: key.id },
      });
      return { org_id: org.id, user_id: user.id, email, password, api_key: apiKey };
    });
  } catch (error) {
    // Two bootstraps racing for one email: the unique index decides, and the loser gets the same answer.
    if (isUniqueViolation(error))
      throw new BootstrapError('email_exists', `a user with email ${email} already exists`);
    throw error;
  }
}
