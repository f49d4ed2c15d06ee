/** How management tables show values: ISO dates, an em dash for nothing, key prefixes redacted. */

/** `2026-11-22T10:00:00Z` (seconds, no milliseconds), or `—` for none. */
export function date(value: string | null | undefined): string {
  if (!value) return '—';
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? value : parsed.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function text(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === '' ? '—' : String(value);
}

export function list(values: readonly string[] | null | undefined): string {
  return values && values.length > 0 ? values.join(',') : '—';
}

/** A key as people recognise it without its secret: `ck_live_Ab12…9xYz`. */
export function redacted(prefix: string, last4: string): string {
  return `${prefix}…${last4}`;
}
