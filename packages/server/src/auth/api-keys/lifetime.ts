/**
 * A rolled key's expiry under the organization's key policy (DESIGN §5.1): `max_key_lifetime_days` caps what
 * a roll inherits, as `requestedExpiry` (grants.ts, shared with service-account keys) caps what
 * `POST /v1/api-keys` and a roll ask for, so no way of making a key outlives the policy.
 */
import { isoAt } from '../../clock.ts';
import type { ApiKeysTable } from '../../storage/schema.ts';
import type { ExpiryInput } from '../grants.ts';

const DAY_MS = 86_400_000;

/** Whether the body names an expiry at all (a roll without one keeps the old key's lifetime length). */
export function asksForExpiry(body: ExpiryInput): boolean {
  return body.expires_at !== undefined || body.expires_in_days !== undefined;
}

/** The last second of a UTC day, which is what an expiry given as a plain date means (`2027-01-31`). */
const END_OF_DAY = 'T23:59:59.000Z';

function endOfDayAfter(dayMs: number, days: number): string {
  return `${isoAt(dayMs + days * DAY_MS).slice(0, 10)}${END_OF_DAY}`;
}

/**
 * A rolled key's default expiry: the old key's lifetime length from now, so a 90-day key rolls into a
 * 90-day key; but never beyond the org's maximum key lifetime, which may have been set since the old key
 * was made (and then a key without expiry rolls into one that expires).
 *
 * A key that expires at the end of a day (it was given a date) rolls into one that also does: its lifetime
 * is counted in calendar days, so a key made on the 3rd to last until the 17th and rolled on the 10th lasts
 * until the 24th, not until a few seconds into the 25th.
 */
export function inheritedExpiry(
  old: Pick<ApiKeysTable, 'created_at' | 'expires_at'>,
  now: number,
  maxDays: number | null,
): string | null {
  const cap = maxDays === null ? null : now + maxDays * DAY_MS;
  if (old.expires_at === null) return cap === null ? null : isoAt(cap);
  if (old.expires_at.endsWith(END_OF_DAY)) {
    const days = Math.round(
      (Date.parse(old.expires_at.slice(0, 10)) - Date.parse(old.created_at.slice(0, 10))) / DAY_MS,
    );
    const expiry = endOfDayAfter(now, days);
    // Under a maximum lifetime, the last whole day that the cap still covers.
    if (cap !== null && Date.parse(expiry) > cap) return endOfDayAfter(cap - DAY_MS + 1000, 0);
    return expiry;
  }
  let lifetime = Date.parse(old.expires_at) - Date.parse(old.created_at);
  if (maxDays !== null && lifetime > maxDays * DAY_MS) lifetime = maxDays * DAY_MS;
  return isoAt(now + lifetime);
}
