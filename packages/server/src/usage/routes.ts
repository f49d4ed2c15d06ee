/**
 * `GET /v1/usage?days=N` (DESIGN §4, §5.4): the caller's organization's daily traffic in the caller's mode,
 * every authenticated request whatever its credential (API keys, service-account and OAuth tokens,
 * dashboard sessions), for the dashboard's charts; with the org's limits and where this request left both
 * rate-limit windows. Needs `admin` (owner and admin sessions hold it; a member's session does not).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app-deps.ts';
import { tenantOf } from '../auth/context.ts';
import { apiTime, isoAt } from '../clock.ts';
import type { Decision } from '../ratelimit/limiter.ts';
import { organizationStanding } from '../ratelimit/standing.ts';
import { UsageDay, UsageQuery, usageDates, usageSeries } from './daily.ts';
import { orgUsageSince } from './repository.ts';

const WindowStanding = Type.Object({
  limit: Type.Integer({ description: 'The size of the window' }),
  remaining: Type.Integer({ description: 'Requests left in it after this one' }),
  reset: Type.String({ format: 'date-time', description: 'When the window starts again' }),
});

export const OrgUsage = Type.Object({
  object: Type.Literal('usage'),
  mode: Type.Union([Type.Literal('live'), Type.Literal('test')], {
    description: 'The mode counted: the credential’s (a dashboard session’s `cohera-mode`)',
  }),
  data: Type.Array(UsageDay, {
    description: 'One entry per UTC day, oldest first, today last; days without traffic are zeros',
  }),
  rate_limits: Type.Object(
    { per_minute: Type.Integer(), per_day: Type.Integer() },
    { description: 'The organization’s limits per mode, as applied to this request' },
  ),
  current: Type.Object(
    { minute: WindowStanding, day: WindowStanding },
    {
      description:
        'The organization’s two windows after counting this request, as its rate-limit headers give them',
    },
  ),
});

/**
 * Where this request left the org's window `name`. The rate-limit step keeps its decision on the request,
 * so this is exactly what the response headers say and the request is not counted a second time. A key's
 * own lower limit is a third window (`key-minute`), which the headers show and this does not: it is the
 * key's, not the organization's.
 */
function standing(decision: Decision, name: 'minute' | 'day') {
  const window = decision.windows.find((w) => w.spec.name === name);
  if (!window) throw new Error(`rate-limit decision has no ${name} window`);
  return {
    limit: window.spec.limit,
    remaining: window.remaining,
    reset: apiTime(isoAt(window.resetAt * 1000)),
  };
}

export const usageRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function usage(app) {
    const { db, clock } = deps;

    app.get(
      '/v1/usage',
      {
        config: { access: { scope: 'admin' } },
        schema: {
          tags: ['Organization'],
          summary: 'Daily requests, errors and rate-limited requests of the organization, in this mode',
          querystring: UsageQuery,
          response: { 200: OrgUsage },
        },
      },
      async (request) => {
        const auth = request.auth!;
        const tenant = tenantOf(auth);
        const dates = usageDates(request.query.days ?? 30, clock.now());
        const stored = await orgUsageSince(db, tenant, dates[0] as string);
        // This node's unflushed counts too, so its own fresh traffic shows at once; other nodes' arrive
        // with their next flush (every 5 s).
        const data = usageSeries(dates, [...stored, ...deps.usage.pendingOrg(tenant.orgId, tenant.mode)]);
        // A dashboard session's own calls have their own budget: the org's windows are read, not counted.
        const decision = await organizationStanding(request, deps);
        const minute = standing(decision, 'minute');
        const day = standing(decision, 'day');
        return {
          object: 'usage' as const,
          mode: tenant.mode,
          data,
          // The limits this request was judged by, so they always agree with `current`.
          rate_limits: { per_minute: minute.limit, per_day: day.limit },
          current: { minute, day },
        };
      },
    );
  };
