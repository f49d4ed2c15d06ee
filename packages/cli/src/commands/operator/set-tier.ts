/** `cohera admin set-tier`: an org's tier, and custom rate limits for enterprise. */
import { operatorAuditLog, rateLimitsOf, setTier, systemClock } from '@cohera/server';
import type { CliContext } from '../../context.ts';
import { CliError, UsageError } from '../../output/error.ts';
import { withDatabase } from './config.ts';
import { parseCount, parseTier, required } from './parse.ts';

export interface SetTierOptions {
  org?: string;
  tier?: string;
  perMinute?: string;
  perDay?: string;
}

export async function runSetTier(options: SetTierOptions, ctx: CliContext): Promise<void> {
  const orgId = required('--org', options.org);
  const tier = parseTier(options.tier);
  const perMinute = parseCount('--per-minute', options.perMinute);
  const perDay = parseCount('--per-day', options.perDay);
  if ((perMinute !== null || perDay !== null) && tier !== 'enterprise') {
    throw new UsageError('--per-minute and --per-day set custom limits, which only the enterprise tier has');
  }
  await withDatabase({ create: 'never' }, ctx, async (settings, database) => {
    const org = await setTier(
      database.db,
      orgId,
      { tier, perMinute, perDay },
      Date.now(),
      operatorAuditLog(database.db, settings.masterKey, systemClock),
    );
    if (!org) throw new CliError(`no organization with id ${orgId}`, 1, 'not_found');
    const summary = { id: org.id, name: org.name, tier: org.tier, rate_limits: rateLimitsOf(org) };
    if (ctx.jsonMode) return ctx.output.json(summary);
    ctx.output.line(
      `${org.id} (${org.name}) is now ${org.tier}: ${summary.rate_limits.per_minute}/min, ${summary.rate_limits.per_day}/day`,
    );
  });
}
