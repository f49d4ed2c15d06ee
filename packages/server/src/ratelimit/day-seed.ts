/**
 * Where a Redis that lost its counters gets today's day windows back (ratelimit/redis-reseed.ts): the
 * usage table's count of each org's and mode's requests today, less those answered 429 (which the limiter
 * never counted). Approximate, and on the safe side: see redis-reseed.ts.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { DB } from '../storage/schema.ts';
import { usageOfDay } from '../usage/repository.ts';
import type { DaySeedSource } from './redis-reseed.ts';

/** The org's day window of a mode: the key `windowsFor` (hook.ts) gives it; a test holds the two together. */
export function orgDayWindowKey(orgId: string, mode: string): string {
  return `{${orgId}}:${mode}:d`;
}

export function daySeedFromUsage(db: Kysely<DB>, clock: Clock): DaySeedSource {
  return async () => {
    const now = clock.now();
    const dayIndex = Math.floor(now / 86_400_000);
    const rows = await usageOfDay(db, new Date(dayIndex * 86_400_000).toISOString().slice(0, 10));
    return rows
      .map((row) => ({
        key: orgDayWindowKey(row.org_id, row.mode),
        count: Number(row.requests) - Number(row.rate_limited),
        dayIndex,
      }))
      .filter((seed) => seed.count > 0);
  };
}
