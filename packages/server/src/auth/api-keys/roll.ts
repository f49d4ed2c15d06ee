/**
 * What `POST /v1/api-keys/:id/roll` may change: the grace period of the old key, and for the new key
 * narrower scopes (the security report's "unused scopes" action) and a new expiry (its "set an
 * expiration" action). Everything else — name, mode, rate limit — is the old key's.
 */
import { normalizeScopes, SCOPES, type Scope, scopesBeyond } from '@cohera/shared';
import { Type } from 'typebox';
import { invalidField } from '../../http/errors.ts';
import { TimestampInput } from '../../resources/common.ts';

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
