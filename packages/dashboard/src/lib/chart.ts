/**
 * Geometry of the usage bar chart: one bar per day, stacked as successful requests, errors and rate-limited
 * requests (the API's `requests` counts all three). Pure numbers, so the SVG component only draws.
 */
import type { UsageDay } from '../api/types.ts';

export interface Segment {
  kind: 'ok' | 'errors' | 'rate_limited';
  y: number;
  height: number;
  value: number;
}

export interface Bar {
  date: string;
  x: number;
  width: number;
  total: number;
  segments: Segment[];
}

/** A round axis maximum ≥ `max` (1, 2, 5 × a power of ten), so gridlines fall on readable numbers. */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

export function bars(
  days: readonly UsageDay[],
  width: number,
  height: number,
  gap = 2,
): { bars: Bar[]; max: number } {
  const max = niceMax(Math.max(0, ...days.map((d) => d.requests)));
  const slot = days.length === 0 ? width : width / days.length;
  const barWidth = Math.max(1, slot - gap);
  const scale = (value: number) => (value / max) * height;
  return {
    max,
    bars: days.map((day, index) => {
      const ok = Math.max(0, day.requests - day.errors - day.rate_limited);
      const parts: [Segment['kind'], number][] = [
        ['ok', ok],
        ['errors', day.errors],
        ['rate_limited', day.rate_limited],
      ];
      let top = height;
      const segments = parts
        .filter(([, value]) => value > 0)
        .map(([kind, value]) => {
          const h = scale(value);
          top -= h;
          return { kind, y: top, height: h, value };
        });
      return { date: day.date, x: index * slot + gap / 2, width: barWidth, total: day.requests, segments };
    }),
  };
}

export function totals(days: readonly UsageDay[]): {
  requests: number;
  errors: number;
  rate_limited: number;
} {
  return days.reduce(
    (sum, day) => ({
      requests: sum.requests + day.requests,
      errors: sum.errors + day.errors,
      rate_limited: sum.rate_limited + day.rate_limited,
    }),
    { requests: 0, errors: 0, rate_limited: 0 },
  );
}
