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

/**
 * The two seconds `isoAt` formatted last, each with its text up to the milliseconds (`2026-11-22T10:00:00.`).
 * Two, not one: a request often formats now and an expiry in turn (a token's row, a cache entry), and one
 * slot then formatted anew on every call.
 */
let recentSecond = Number.NaN;
let recentPrefix = '';
let olderSecond = Number.NaN;
let olderPrefix = '';
/** From 1970 to the end of 9999: the years `toISOString` writes with four digits. */
const FOUR_DIGIT_YEARS_END = 253_402_300_800_000;

function secondPrefix(second: number): string {
  if (second === recentSecond) return recentPrefix;
  if (second === olderSecond) {
    // Swap, so that the one formatted least recently is the one replaced next.
    const prefix = olderPrefix;
    olderSecond = recentSecond;
    olderPrefix = recentPrefix;
    recentSecond = second;
    recentPrefix = prefix;
    return prefix;
  }
  olderSecond = recentSecond;
  olderPrefix = recentPrefix;
  recentSecond = second;
  recentPrefix = new Date(second).toISOString().slice(0, 20);
  return recentPrefix;
}

/**
 * The stored form of a timestamp: ISO 8601 UTC with milliseconds (sorts as text). Exactly
 * `new Date(ms).toISOString()`, which costs about half a microsecond: the text of recent seconds is kept
 * and only the milliseconds written, since timestamps are made on hot paths (an audit event per API call
 * under COHERA_AUDIT_API_CALLS=all, usage, rate-limit events, a token's row and its expiry).
 */
export function isoAt(ms: number): string {
  const whole = Math.floor(ms);
  if (!(whole >= 0 && whole < FOUR_DIGIT_YEARS_END)) return new Date(ms).toISOString();
  const millis = whole % 1000;
  const prefix = secondPrefix(whole - millis);
  return `${prefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/** The second `writeIsoAt` wrote last, and its text up to the milliseconds as bytes. */
let bytesSecond = Number.NaN;
const bytesPrefix = new Uint8Array(20);

/**
 * Writes `isoAt(ms)` (no quotes) into `bytes` at `at`, one byte per character, and returns where it ends, or
 * -1 for a time `isoAt` does not write with a four-digit year (its caller writes the text instead). For the
 * audit segments (audit/segments.ts): the text would be a rope of the second's text and the milliseconds,
 * which writing it first flattens.
 */
export function writeIsoAt(bytes: Uint8Array, at: number, ms: number): number {
  const whole = Math.floor(ms);
  if (!(whole >= 0 && whole < FOUR_DIGIT_YEARS_END)) return -1;
  const millis = whole % 1000;
  const second = whole - millis;
  if (second !== bytesSecond) {
    const prefix = secondPrefix(second);
    for (let i = 0; i < 20; i++) bytesPrefix[i] = prefix.charCodeAt(i);
    bytesSecond = second;
  }
  bytes.set(bytesPrefix, at);
  const hundreds = (millis / 100) | 0;
  const tens = ((millis - hundreds * 100) / 10) | 0;
  bytes[at + 20] = 0x30 + hundreds;
  bytes[at + 21] = 0x30 + tens;
  bytes[at + 22] = 0x30 + (millis - hundreds * 100 - tens * 10);
  bytes[at + 23] = 0x5a; // Z
  return at + 24;
}

/** The API form of a stored timestamp: ISO 8601 UTC to the second, e.g. `2026-11-22T10:00:00Z`. */
export function apiTime(stored: string): string;
export function apiTime(stored: string | null): string | null;
export function apiTime(stored: string | null): string | null {
  return stored === null ? null : `${stored.slice(0, 19)}Z`;
}
