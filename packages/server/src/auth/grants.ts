/**
 * Rules shared by every route that mints a credential (API keys, service accounts, later OAuth clients):
 * which modes a caller may manage, that nobody grants a scope they lack, how an expiry is given, and the
 * organization's maximum key lifetime (DESIGN §5.1), which API keys and service-account keys obey alike.
 */
import { type Mode, type Scope, scopesBeyond } from '@cohera/shared';
import type { Kysely } from 'kysely';
import { isoAt } from '../clock.ts';
import { ApiError, invalidField } from '../http/errors.ts';
import { findOrg } from '../orgs/repository.ts';
import { parseTimestamp } from '../resources/common.ts';
import type { DB } from '../storage/schema.ts';
import type { AuthContext } from './context.ts';

const DAY_MS = 86_400_000;

/** A test-mode credential manages test credentials only, so a sandbox key can never reach production. */
export function manageableModes(auth: AuthContext): Mode[] {
  return auth.mode === 'test' ? ['test'] : ['live', 'test'];
}

/**
 * The mode a new credential is made in: the one asked for, else the caller's own. A test-mode credential
 * cannot make live ones (`what` names them in the error, e.g. "live keys").
 */
export function modeToCreate(auth: AuthContext, requested: Mode | undefined, what: string): Mode {
  const mode = requested ?? auth.mode;
  if (auth.mode === 'test' && mode === 'live') {
    throw new ApiError('forbidden', `A test-mode credential cannot create ${what}`);
  }
  return mode;
}

/** No escalation (DESIGN §3): a credential never grants a scope it does not itself hold. */
export function requireGrantable(auth: AuthContext, scopes: readonly Scope[]): void {
  const beyond = scopesBeyond(scopes, auth.scopes);
  if (beyond.length === 0) return;
  throw new ApiError('insufficient_scope', `You cannot grant scopes you do not hold: ${beyond.join(', ')}`, {
    headers: {
      'www-authenticate': `Bearer realm="cohera", error="insufficient_scope", scope="${beyond.join(' ')}"`,
    },
    extra: { required_scope: beyond.join(' ') },
  });
}

export interface ExpiryInput {
  expires_at?: string;
  expires_in_days?: number;
}

/**
 * Resolves `expires_at` (date-time, or a date meaning the end of that day) or `expires_in_days` into the
 * stored form; null means "never". Returns the body field it came from, for error messages about it.
 */
export function parseExpiry(body: ExpiryInput, now: number): { expiresAt: string | null; field: string } {
  if (body.expires_at !== undefined && body.expires_in_days !== undefined) {
    throw invalidField('body/expires_at', 'give either expires_at or expires_in_days, not both');
  }
  if (body.expires_at !== undefined) {
    const expiresAt = parseTimestamp('body/expires_at', body.expires_at, 'end-of-day');
    if (expiresAt <= isoAt(now)) throw invalidField('body/expires_at', 'must be in the future');
    return { expiresAt, field: 'body/expires_at' };
  }
  if (body.expires_in_days !== undefined) {
    return { expiresAt: isoAt(now + body.expires_in_days * DAY_MS), field: 'body/expires_in_days' };
  }
  return { expiresAt: null, field: 'body/expires_at' };
}

/**
 * The org's maximum key lifetime in days (null: no limit), read when a key is made so a change of the policy
 * applies to the next key at once.
 */
export async function maxKeyLifetimeDays(db: Kysely<DB>, orgId: string): Promise<number | null> {
  return (await findOrg(db, orgId))?.max_key_lifetime_days ?? null;
}

/**
 * The expiry a body asks for (`expires_at` or `expires_in_days`; neither means never), refused with a 400
 * naming the field when the org requires keys to expire (`max_key_lifetime_days`, null when it does not), or
 * to expire sooner. Every way of making a key goes through this, so no key outlives the policy.
 */
export function requestedExpiry(body: ExpiryInput, now: number, maxDays: number | null): string | null {
  const { expiresAt, field } = parseExpiry(body, now);
  if (maxDays === null) return expiresAt;
  if (expiresAt === null) {
    // Names both fields, so the sentence reads whole ("expires_at or expires_in_days is required: …").
    throw invalidField(
      field,
      `expires_at or expires_in_days is required: your organization requires keys to expire within ${maxDays} days`,
    );
  }
  if (expiresAt > isoAt(now + maxDays * DAY_MS)) {
    throw invalidField(field, `must be within the organization's maximum key lifetime of ${maxDays} days`);
  }
  return expiresAt;
}
