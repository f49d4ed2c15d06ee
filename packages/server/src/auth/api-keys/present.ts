/**
 * An API key as the API shows it (`ApiKey` in routes.ts): the routes, the webhook events about a key and
 * the expiry scheduler all use this one serializer, so an event's `data` is exactly the API's object. It
 * never includes the key itself (only `prefix` and `last4`): the key is shown once, in the create/roll
 * response, and nowhere else.
 */
import { apiTime, isoAt } from '../../clock.ts';
import type { ApiKeysTable } from '../../storage/schema.ts';

export function statusOf(row: Pick<ApiKeysTable, 'revoked_at' | 'expires_at'>, now: number) {
  if (row.revoked_at) return 'revoked' as const;
  if (row.expires_at && row.expires_at <= isoAt(now)) return 'expired' as const;
  return 'active' as const;
}

/** `lastUse` merges the usage recorder's not-yet-flushed last use with the stored one. */
export function presentApiKey(
  row: ApiKeysTable,
  now: number,
  lastUse: (id: string, stored: string | null) => string | null = (_id, stored) => stored,
) {
  return {
    id: row.id,
    object: 'api_key' as const,
    name: row.name,
    prefix: row.prefix,
    last4: row.last4,
    scopes: JSON.parse(row.scopes) as string[],
    mode: row.mode,
    status: statusOf(row, now),
    created_at: apiTime(row.created_at),
    expires_at: apiTime(row.expires_at),
    last_used_at: apiTime(lastUse(row.id, row.last_used_at)),
    revoked_at: apiTime(row.revoked_at),
    revoked_reason: row.revoked_reason ?? (row.revoked_at === null ? null : ('requested' as const)),
    leaked_at: apiTime(row.leaked_at),
    rate_limit_per_minute: row.rate_limit_per_minute,
    rolled_from: row.rolled_from_id,
    replaced_by: row.replaced_by_id,
    created_by: { kind: row.created_by_kind, id: row.created_by_id },
  };
}
