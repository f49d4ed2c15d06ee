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

/** The stored form of a timestamp: ISO 8601 UTC with milliseconds (sorts as text). */
export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}

/** The API form of a stored timestamp: ISO 8601 UTC to the second, e.g. `2026-11-22T10:00:00Z`. */
export function apiTime(stored: string): string;
export function apiTime(stored: string | null): string | null;
export function apiTime(stored: string | null): string | null {
  return stored === null ? null : `${stored.slice(0, 19)}Z`;
}
