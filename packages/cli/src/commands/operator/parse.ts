/** Argument checks of the operator commands, with the messages they have always had. */
import { TIERS, type Tier } from '@cohera/server';
import { UsageError } from '../../output/error.ts';

export function parseTier(value: string | undefined, fallback?: Tier): Tier {
  if (value === undefined && fallback) return fallback;
  if (!TIERS.includes(value as Tier)) throw new UsageError(`--tier must be one of ${TIERS.join(', ')}`);
  return value as Tier;
}

export function parseCount(flag: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1)
    throw new UsageError(`${flag} must be a whole number ≥ 1`);
  return Number(value);
}

export function required(flag: string, value: string | undefined): string {
  if (!value) throw new UsageError(`${flag} is required`);
  return value;
}
