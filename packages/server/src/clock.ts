/** An injectable clock, so tests move time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests can set and advance. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start: number = Date.parse('2026-11-22T10:00:00Z')) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  set(ms: number): void {
    this.#now = ms;
  }
}

/** The second `isoAt` last formatted, and its text up to the milliseconds (`2026-11-22T10:00:00.`). */
let formattedSecond = Number.NaN;
let secondPrefix = '';
/** From 1970 to the end of 9999: the years `toISOString` writes with four digits. */
const FOUR_DIGIT_YEARS_END = 253_402_300_800_000;

/**
 * The stored form of a timestamp: ISO 8601 UTC with milliseconds (sorts as text). Exactly
 * `new Date(ms).toISOString()`, which costs about half a microsecond: the text of the current second is
 * kept and only the milliseconds written, since timestamps are made on hot paths (an audit event per API
 * call under COHERA_AUDIT_API_CALLS=all, usage, rate-limit events).
 */
export function isoAt(ms: number): string {
  const whole = Math.floor(ms);
  if (!(whole >= 0 && whole < FOUR_DIGIT_YEARS_END)) return new Date(ms).toISOString();
  const millis = whole % 1000;
  const second = whole - millis;
  if (second !== formattedSecond) {
    secondPrefix = new Date(second).toISOString().slice(0, 20);
    formattedSecond = second;
  }
  return `${secondPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/** The API form of a stored timestamp: ISO 8601 UTC to the second, e.g. `2026-11-22T10:00:00Z`. */
export function apiTime(stored: string): string;
export function apiTime(stored: string | null): string | null;
export function apiTime(stored: string | null): string | null {
  return stored === null ? null : `${stored.slice(0, 19)}Z`;
}
