/**
 * Dashboard sessions. The cookie carries a random 256-bit token; the database keeps only its SHA-256, so
 * a leaked database cannot be replayed as sessions. CSRF tokens are an HMAC of the session, so they need
 * no storage and cannot be forged without the master key (OWASP's signed double-submit pattern).
 */

import {
  createHash,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { newId, type Scope } from '@cohera/shared';
import type { Kysely } from 'kysely';
import { isoAt } from '../../clock.ts';
import type { DB, Role, Tier } from '../../storage/schema.ts';

export const SESSION_COOKIE = 'cohera_session';
export const CSRF_COOKIE = 'cohera_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** Absolute session lifetime; a new login makes a new session (rotation at login). */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const VIEWER_SCOPES: readonly Scope[] = Object.freeze(['read:*'] as Scope[]);
const MEMBER_SCOPES: readonly Scope[] = Object.freeze(['read:*', 'write:*'] as Scope[]);
const ADMIN_SCOPES: readonly Scope[] = Object.freeze(['admin'] as Scope[]);

/**
 * The scopes a person holds by role (docs/team.md): viewers read data, members read and write it, owners
 * and admins hold `admin`. The one place roles become scopes: sessions, OAuth tokens (narrowed to it at the
 * API) and API keys (capped by their creator's role, api-keys/creator-ceiling.ts) all read it. The arrays
 * are frozen and shared, so callers may compare them by identity and cache what they derive from them.
 */
export function scopesForRole(role: Role): readonly Scope[] {
  if (role === 'viewer') return VIEWER_SCOPES;
  if (role === 'member') return MEMBER_SCOPES;
  return ADMIN_SCOPES;
}

export interface SessionRecord {
  id: string;
  tokenHash: string;
  userId: string;
  email: string;
  orgId: string;
  role: Role;
  tier: Tier;
  createdAt: string;
  expiresAt: string;
}

export async function createSession(
  db: Kysely<DB>,
  input: { userId: string; orgId: string; ip: string | null; userAgent: string | null },
  now: number,
): Promise<{ token: string; record: { id: string; tokenHash: string; expiresAt: string } }> {
  const token = randomBytes(32).toString('base64url');
  const tokenHash = hashSessionToken(token);
  const row = {
    token_hash: tokenHash,
    id: newId('session', now),
    user_id: input.userId,
    org_id: input.orgId,
    created_at: isoAt(now),
    expires_at: isoAt(now + SESSION_TTL_MS),
    ip: input.ip,
    user_agent: input.userAgent?.slice(0, 512) ?? null,
  };
  await db.insertInto('sessions').values(row).execute();
  return { token, record: { id: row.id, tokenHash, expiresAt: row.expires_at } };
}

/** The live session for a cookie token, with the user's current role (a removed member loses access). */
export async function findSession(db: Kysely<DB>, token: string, now: number): Promise<SessionRecord | null> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('memberships', (join) =>
      join
        .onRef('memberships.user_id', '=', 'sessions.user_id')
        .onRef('memberships.org_id', '=', 'sessions.org_id'),
    )
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .innerJoin('orgs', 'orgs.id', 'sessions.org_id')
    .select([
      'sessions.id',
      'sessions.token_hash',
      'sessions.user_id',
      'sessions.org_id',
      'sessions.created_at',
      'sessions.expires_at',
      'memberships.role',
      'users.email',
      'orgs.tier',
    ])
    .where('sessions.token_hash', '=', hashSessionToken(token))
    .where('sessions.expires_at', '>', isoAt(now))
    .executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id,
    tokenHash: row.token_hash,
    userId: row.user_id,
    email: row.email,
    orgId: row.org_id,
    role: row.role,
    tier: row.tier,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export async function deleteSession(db: Kysely<DB>, token: string): Promise<void> {
  await db.deleteFrom('sessions').where('token_hash', '=', hashSessionToken(token)).execute();
}

export async function purgeExpiredSessions(db: Kysely<DB>, now: number): Promise<void> {
  await db.deleteFrom('sessions').where('expires_at', '<=', isoAt(now)).execute();
}

/**
 * Derives and keeps the CSRF HMAC key, separate from every other use of the master key. A KeyObject, not a
 * Buffer: Node 24's createHmac throws and catches two errors to tell a Buffer key apart (~10 µs a call).
 */
export class CsrfTokens {
  readonly #key: KeyObject;
  constructor(masterKey: Buffer) {
    this.#key = createSecretKey(
      Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'cohera/csrf/v1', 32)),
    );
  }
  tokenFor(sessionTokenHash: string): string {
    return createHmac('sha256', this.#key).update(sessionTokenHash).digest('base64url');
  }
  /** Constant-time check of a presented CSRF token. */
  verify(sessionTokenHash: string, presented: string | undefined): boolean {
    if (!presented) return false;
    const expected = Buffer.from(this.tokenFor(sessionTokenHash));
    const actual = Buffer.from(presented);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
