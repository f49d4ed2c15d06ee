/**
 * Where an org's API budget stands for a request, without counting it again: what `GET /v1/usage` reports.
 * A bearer request was counted against the org's windows by the rate-limit step, whose decision is kept on
 * the request. A dashboard session's request was counted against the session's own budget instead
 * (hook.ts), so the org's windows are read as they stand, uncounted.
 */
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../clock.ts';
import { windowsFor } from './hook.ts';
import type { Decision, RateLimiter } from './limiter.ts';
import type { OrgLimitCache } from './org-limits.ts';

export interface StandingDeps {
  limiter: RateLimiter;
  orgLimits: OrgLimitCache;
  clock: Clock;
}

export async function organizationStanding(request: FastifyRequest, deps: StandingDeps): Promise<Decision> {
  const auth = request.auth;
  // Unreachable for a route that needs a credential: the pipeline rate-limits every authenticated request.
  if (!auth || !request.rateLimit) throw new Error('rate-limit decision missing on an authenticated request');
  if (auth.via !== 'session') return request.rateLimit;
  const limits = await deps.orgLimits.get(auth.orgId);
  return deps.limiter.peek(windowsFor(auth, limits), deps.clock.now());
}
