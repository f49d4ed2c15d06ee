/**
 * Option parsers of the management commands. Each throws commander's `InvalidArgumentError`, which the
 * program turns into a usage error (exit 2) that names the option.
 */
import { InvalidArgumentError } from '@commander-js/extra-typings';

/** A whole number in a range, e.g. `--limit 1..100`. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    if (!/^\d{1,15}$/.test(value)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected ${min}–${max}, got ${n}`);
    return n;
  };
}

/** `read:certificates,write:products` → a list without blanks or repeats. */
export function commaList(value: string): string[] {
  const items = [...new Set(value.split(',').map((item) => item.trim()))].filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return items;
}

/** For a repeatable option (`--redirect-uri A --redirect-uri B`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A duration in seconds: `90` (seconds), `90s`, `30m`, `24h`, `7d`; `0` ends the old secret at once. */
export function duration(value: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  if (!match)
    throw new InvalidArgumentError(`expected seconds or a duration like 30m, 24h, 7d; got "${value}"`);
  return Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
}

/** One of a fixed set of words. */
export function oneOf<const T extends string>(...choices: T[]): (value: string) => T {
  return (value) => {
    if (!(choices as string[]).includes(value))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}; got "${value}"`);
    return value as T;
  };
}

/** An ISO 8601 date-time or a plain date, passed to the API as given (it validates and names the field). */
export function timestamp(value: string): string {
  if (
    !/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ||
    Number.isNaN(Date.parse(value))
  )
    throw new InvalidArgumentError(`expected a date (2027-01-31) or an ISO 8601 date-time; got "${value}"`);
  return value;
}
