/**
 * The expiration choice of the Create-key dialog: 30, 60 or 90 days (the default, as the reference
 * documentation recommends setting one), a custom date, or never. Turned into the API's parameters, and
 * checked against the organization's maximum key lifetime when it has one.
 */

export type ExpiryChoice = '30' | '60' | '90' | 'custom' | 'never';

export const EXPIRY_OPTIONS: { value: ExpiryChoice; label: string }[] = [
  { value: '30', label: '30 days' },
  { value: '60', label: '60 days' },
  { value: '90', label: '90 days (recommended)' },
  { value: 'custom', label: 'Custom date' },
  { value: 'never', label: 'Never' },
];

export const DEFAULT_EXPIRY: ExpiryChoice = '90';

const DAY_MS = 86_400_000;

export type ExpiryParams = { expires_in_days: number } | { expires_at: string } | Record<string, never>;

/** `YYYY-MM-DD` of a day from now, in UTC (the date field's proposal). */
export function dateFromNow(days: number, now = Date.now()): string {
  return new Date(now + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The request parameters, or the reason the choice is not acceptable (shown next to the field).
 * `maxDays` is the organization's policy (`max_key_lifetime_days`), null when it has none.
 */
export function expiryParams(
  choice: ExpiryChoice,
  customDate: string,
  maxDays: number | null,
  now = Date.now(),
): { params: ExpiryParams } | { error: string } {
  if (choice === 'never') {
    if (maxDays !== null)
      return { error: `Your organization requires keys to expire within ${maxDays} days.` };
    return { params: {} };
  }
  if (choice === 'custom') {
    const day = customDate.trim();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return { error: 'Enter the date as YYYY-MM-DD, e.g. 2027-01-31.' };
    const end = Date.parse(`${day}T23:59:59Z`);
    // 2027-02-31 is not a day (and must not quietly become March 3rd).
    if (Number.isNaN(end) || new Date(end).toISOString().slice(0, 10) !== day)
      return { error: `${day} is not a date in the calendar.` };
    if (end <= now) return { error: 'The date must be in the future.' };
    if (maxDays !== null && end > now + maxDays * DAY_MS) {
      return { error: `Your organization allows at most ${maxDays} days.` };
    }
    // The plain date, never a Date made from it: the server reads it as the end of that day in UTC, so
    // the key comes back with the day that was typed, whatever the browser's time zone.
    return { params: { expires_at: day } };
  }
  const days = Number(choice);
  if (maxDays !== null && days > maxDays)
    return { error: `Your organization allows at most ${maxDays} days.` };
  return { params: { expires_in_days: days } };
}
