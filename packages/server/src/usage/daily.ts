/**
 * Daily usage as the API answers it (DESIGN §4), for a key and for an organization alike: `?days=1..90`
 * (default 30), and one entry per UTC day, oldest first and today last, with quiet days as zeros.
 */
import { Type } from 'typebox';
import { utcDate } from './recorder.ts';

const DAY_MS = 86_400_000;

export const UsageQuery = Type.Object(
  { days: Type.Optional(Type.Integer({ minimum: 1, maximum: 90, default: 30 })) },
  { additionalProperties: false },
);

export const UsageDay = Type.Object({
  date: Type.String(),
  requests: Type.Integer(),
  errors: Type.Integer(),
  rate_limited: Type.Integer(),
});

/** A stored day, or this node's unflushed counts of one. */
interface DayRow {
  date: string;
  requests: number;
  errors: number;
  rate_limited: number;
}

/** The UTC dates of the last `days` days, oldest first, ending with today's. */
export function usageDates(days: number, now: number): string[] {
  return Array.from({ length: days }, (_, i) => utcDate(now - (days - 1 - i) * DAY_MS));
}

/**
 * One entry per date, summing every row of that date (stored rows and this node's unflushed counts add
 * up); rows outside `dates` are ignored.
 */
export function usageSeries(dates: readonly string[], rows: Iterable<DayRow>) {
  const byDate = new Map(dates.map((date) => [date, { date, requests: 0, errors: 0, rate_limited: 0 }]));
  for (const row of rows) {
    const entry = byDate.get(row.date);
    if (!entry) continue;
    entry.requests += row.requests;
    entry.errors += row.errors;
    entry.rate_limited += row.rate_limited;
  }
  return [...byDate.values()];
}
