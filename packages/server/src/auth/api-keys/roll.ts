/**
 * What `POST /v1/api-keys/:id/roll` may change: the grace period of the old key, and for the new key
 * narrower scopes (the security report's "unused scopes" action) and a new expiry (its "set an
 * expiration" action). Everything else — name, mode, rate limit — is the old key's. And when a key may
 * not be rolled at all: a key is rolled once, and only while it is live.
 */
import { normalizeScopes, SCOPES, type Scope, scopesBeyond } from '@cohera/shared';
import { Type } from 'typebox';
import { isoAt } from '../../clock.ts';
import { ApiError, invalidField } from '../../http/errors.ts';
import { TimestampInput } from '../../resources/common.ts';
import type { ApiKeysTable } from '../../storage/schema.ts';

const MAX_GRACE_SECONDS = 30 * 86_400;
export const DEFAULT_GRACE_SECONDS = 86_400;

const ScopeSchema = Type.Union(SCOPES.map((s) => Type.Literal(s)));

export const RollBody = Type.Object(
  {
    grace_period_seconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_GRACE_SECONDS,
        description: 'How long the old key keeps working (default 86400; 0 ends it now)',
      }),
    ),
    scopes: Type.Optional(
      Type.Array(ScopeSchema, {
        minItems: 1,
        maxItems: SCOPES.length,
        uniqueItems: true,
        description: "The new key's scopes (default: the old key's); the old key's scopes must cover them",
      }),
    ),
    expires_at: Type.Optional(TimestampInput),
    expires_in_days: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3650,
        description: "The new key's lifetime (default: the old key's lifetime length); not with expires_at",
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * The new key's scopes: the old key's, or the subset asked for. A roll only ever narrows: a scope the old
 * key does not cover (by the scope rules, so `admin` covers all) would turn "rotate this key" into "grant
 * more access", which is what creating a key, with its own checks and audit event, is for.
 */
export function rolledScopes(held: readonly Scope[], requested: readonly Scope[] | undefined): Scope[] {
  if (requested === undefined) return [...held];
  const beyond = scopesBeyond(requested, held);
  if (beyond.length > 0) {
    throw invalidField(
      'body/scopes',
      `a roll can keep or narrow the key's scopes, not widen them: ${beyond.join(', ')} not covered by ${held.join(', ')}`,
    );
  }
  return normalizeScopes(requested);
}

/**
 * Why a key cannot be rolled, or null when it can. A roll gives a key exactly one successor, and only a
 * live key gets one: a revoked key must stay dead (a successor would resurrect what the revoke ended), an
 * expired key has nothing left to hand over, and a key already rolled has its successor (a second roll
 * would leave two live keys where the owner believes there is one). Checked once before any work, for a
 * prompt answer, and again against the row as committed when the roll's claim does not match.
 */
export function rollRefusal(
  row: Pick<ApiKeysTable, 'revoked_at' | 'replaced_by_id' | 'expires_at'>,
  now: number,
): ApiError | null {
  if (row.revoked_at !== null) {
    return new ApiError('key_revoked', 'This key is revoked, so it cannot be rolled; create a new key');
  }
  if (row.replaced_by_id !== null) {
    return new ApiError(
      'key_already_rolled',
      `This key was already rolled into ${row.replaced_by_id}; roll that key instead ` +
        '(revoking this one ends its grace period now)',
    );
  }
  if (row.expires_at !== null && row.expires_at <= isoAt(now)) {
    return new ApiError('key_expired', 'This key has expired, so it cannot be rolled; create a new key');
  }
  return null;
}
