/** How the dashboard writes times, counts and keys. Times are shown in UTC, as the API stores them. */

export function formatDate(iso: string | null | undefined, fallback = '—'): string {
  if (!iso) return fallback;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return fallback;
  return `${date.toISOString().slice(0, 10)}`;
}

export function formatDateTime(iso: string | null | undefined, fallback = '—'): string {
  if (!iso) return fallback;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return fallback;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `2026-12-03 10:00:07 UTC`: a moment to the second, for when a key stops working. */
export function formatSecond(iso: string | null | undefined, fallback = '—'): string {
  if (!iso) return fallback;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return fallback;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "3 days ago", "in 2 hours", "just now". */
export function relativeTime(iso: string | null | undefined, now = Date.now(), fallback = 'never'): string {
  if (!iso) return fallback;
  const ms = Date.parse(iso) - now;
  if (Number.isNaN(ms)) return fallback;
  const abs = Math.abs(ms);
  const units: [number, string][] = [
    [365 * 86_400_000, 'year'],
    [30 * 86_400_000, 'month'],
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
  ];
  for (const [size, name] of units) {
    if (abs >= size) {
      const count = Math.floor(abs / size);
      const words = `${count} ${name}${count === 1 ? '' : 's'}`;
      return ms < 0 ? `${words} ago` : `in ${words}`;
    }
  }
  return 'just now';
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `ck_live_Ab12…wxyz`: enough to recognise a key, never enough to use it. */
export function keyLabel(prefix: string, last4: string): string {
  return `${prefix}…${last4}`;
}

/** "resets in 42 s" / "resets in 3 h 5 min". */
export function resetsIn(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
