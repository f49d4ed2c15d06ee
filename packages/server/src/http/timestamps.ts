/**
 * Timestamp inputs (DESIGN §4): an RFC 3339 date-time, or a plain date where a day is meant. One function,
 * `readTimestamp`, checks both, component by component, and computes the instant with `Date.UTC` from
 * numbers it has already bounded. `Date.parse` is not trusted with either: it rolls `2030-02-31T00:00:00Z`
 * over to 3 March and `24:00` to the next day, so a certificate would silently cover other days than the
 * ones its issuer wrote.
 *
 * Chosen rules: hours 00–23 (RFC 3339 §5.6 `time-hour`; ISO 8601's `24:00` end-of-day is refused as
 * ambiguous); seconds 00–59 — RFC 3339 allows a leap second `:60`, but the instants we store and compare
 * have none (POSIX and JavaScript time), none has been inserted since 2016 (and the CGPM decided in 2022 to
 * end them by 2035), and moving it to `:59` or the next minute would store a moment nobody wrote, so it
 * is refused with its reason; seconds may be left out (`10:00Z`); fractions of up to 9 digits are kept to the
 * millisecond; a zone is required: `Z` or an offset of at most ±23:59 (`-00:00`, RFC 3339's "offset
 * unknown", reads as UTC); the instant, once in UTC, must fall in the years 1900–9999.
 */
import { Type } from 'typebox';
import { invalidField } from './errors.ts';

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(?:(Z)|([+-])(\d{2}):(\d{2})))?$/;

/** A date-time, or a plain date where a day is meant (DESIGN §4). */
export const TimestampInput = Type.String({
  maxLength: 40,
  // The shape only (OpenAPI shows it); `readTimestamp` checks that the date and time exist.
  pattern: /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/
    .source,
  description: 'ISO 8601 date-time (`2027-01-31T00:00:00Z`) or date (`2027-01-31`)',
  'x-message': 'must be an ISO 8601 date-time such as "2027-01-31T00:00:00Z" or a date such as "2027-01-31"',
});

/** What a plain date stands for: the first or the last second of that day, in UTC. */
export type DateMeans = 'start-of-day' | 'end-of-day';

export type TimestampReading = { ok: true; ms: number; dateOnly: boolean } | { ok: false; problem: string };

const MIN_YEAR = 1900;
const MAX_YEAR = 9999;

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one; Date.UTC knows the Gregorian leap years.
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const refuse = (problem: string): TimestampReading => ({ ok: false, problem });

/**
 * Reads a timestamp input: the instant in ms since the epoch, or why it is not one. `kind` restricts the
 * form (`date-time` needs a time and zone, `date` forbids them); the default accepts either.
 */
export function readTimestamp(
  value: string,
  dateMeans: DateMeans = 'start-of-day',
  kind: 'date-time' | 'date' | 'either' = 'either',
): TimestampReading {
  const match = value.length <= 40 ? TIMESTAMP.exec(value) : null;
  if (!match) return refuse('must be an ISO 8601 date-time or date');
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, oh, om] = match;
  const dateOnly = h === undefined;
  if ((kind === 'date-time' && dateOnly) || (kind === 'date' && !dateOnly)) {
    return refuse(kind === 'date' ? 'must be a date' : 'must be a date-time with a time zone');
  }
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  // Before any Date.UTC: it reads years 0–99 as 1900–1999. 1899 stays, for an offset that lands in 1900.
  if (year < MIN_YEAR - 1) return refuse('is out of range');
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return refuse('is not a valid date');
  }
  if (dateOnly) {
    const ms =
      dateMeans === 'end-of-day'
        ? Date.UTC(year, month - 1, day, 23, 59, 59)
        : Date.UTC(year, month - 1, day);
    return inRange(ms, true);
  }
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59) return refuse('is not a valid time of day (hours 00-23, minutes 00-59)');
  if (second === 60) return refuse('is a leap second (:60), which is not accepted; use :59');
  if (second > 59) return refuse('is not a valid time of day (seconds 00-59)');
  let offsetMinutes = 0;
  if (zulu === undefined) {
    const offsetHours = Number(oh);
    const offsetMins = Number(om);
    if (offsetHours > 23 || offsetMins > 59) return refuse('has an invalid UTC offset (at most ±23:59)');
    offsetMinutes = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  // Digits, not floating point: `.57` is 570 ms, never 569.
  const millis = fraction === undefined ? 0 : Number(`${fraction.slice(1)}00`.slice(0, 3));
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  return inRange(ms, false);
}

function inRange(ms: number, dateOnly: boolean): TimestampReading {
  const year = new Date(ms).getUTCFullYear();
  if (Number.isNaN(ms) || year < MIN_YEAR || year > MAX_YEAR) return refuse('is out of range');
  return { ok: true, ms, dateOnly };
}

/**
 * Parses a timestamp input into the stored form (ISO 8601 UTC, milliseconds), or throws a 400 naming the
 * field. A plain date means the start of that day in UTC, or its last second when `dateMeans` is
 * `end-of-day` (a certificate "valid until 2027-01-31" covers that day).
 */
export function parseTimestamp(field: string, value: string, dateMeans: DateMeans = 'start-of-day'): string {
  const reading = readTimestamp(value, dateMeans);
  if (!reading.ok) throw invalidField(field, reading.problem);
  return new Date(reading.ms).toISOString();
}

/** Ajv's `date-time` and `date` formats, so a schema-validated field obeys the same calendar. */
export const isDateTime = (value: string): boolean => readTimestamp(value, 'start-of-day', 'date-time').ok;
export const isDate = (value: string): boolean => readTimestamp(value, 'start-of-day', 'date').ok;
