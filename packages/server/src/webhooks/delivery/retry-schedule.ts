/**
 * When a failed delivery is tried again (DESIGN §5.5): after the schedule's n-th delay (5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 14 h, 20 h, 24 h by default) with ±10 % jitter, so the retries of many deliveries that
 * failed together (a receiver's outage) do not all arrive at the same instant; after the last one the
 * delivery is `failed`. A 429 or 503 with `Retry-After` (RFC 9110 §10.2.3: seconds or an HTTP date) sets
 * the delay instead, bounded by the schedule's longest step so a receiver cannot park a delivery forever.
 */

/**
 * The delay before the next attempt after `attempts` attempts, or null when the schedule is exhausted.
 * `random` is in [0, 1).
 */
export function retryDelayMs(
  schedule: readonly number[],
  attempts: number,
  random: number = Math.random(),
): number | null {
  const seconds = schedule[attempts - 1];
  if (seconds === undefined) return null;
  return Math.round(seconds * 1000 * (0.9 + 0.2 * random));
}

/** The delay a `Retry-After` value asks for, bounded to [0, max(schedule)]; null when it is not valid. */
export function retryAfterMs(header: string | null, now: number, schedule: readonly number[]): number | null {
  if (header === null) return null;
  const value = header.trim();
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else {
    // An HTTP date always names its weekday or month; Date.parse alone would read `-5` as a year.
    const date = /[A-Za-z]/.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(date)) return null;
    ms = date - now;
  }
  const max = Math.max(0, ...schedule) * 1000;
  return Math.min(Math.max(ms, 0), max);
}
