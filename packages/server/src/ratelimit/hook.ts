/**
 * The rate-limit step of the pipeline (after authentication, before the scope guard). Every authenticated
 * request counts against its org's minute and day windows (and its key's own minute limit, if it has one);
 * every response to it carries the rate-limit headers, errors included; over the limit it is a 429 problem
 * with `Retry-After` in whole seconds.
 *
 * Test mode has its own budget, equal to live's (as Stripe does): load-testing a sandbox integration must
 * never starve production traffic of the same org.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext } from '../auth/context.ts';
import type { Clock } from '../clock.ts';
import { ApiError } from '../http/errors.ts';
import { rateLimitHeaders, retryAfterSeconds } from './headers.ts';
import type { Decision, RateLimiter, WindowSpec } from './limiter.ts';
import type { OrgLimitCache, OrgLimits } from './org-limits.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * This request's rate-limit decision (null before the step, and for unauthenticated requests): what its
     * headers describe, kept so a route can report the standing without counting the request again.
     */
    rateLimit: Decision | null;
  }
}

export interface RateLimitDeps {
  limiter: RateLimiter;
  orgLimits: OrgLimitCache;
  clock: Clock;
  /** Called for each rejected request (metrics, audit). */
  onLimited?: (request: FastifyRequest) => void;
}

export function windowsFor(auth: AuthContext, limits: OrgLimits): WindowSpec[] {
  const tenant = `{${auth.orgId}}:${auth.mode}`;
  const windows: WindowSpec[] = [
    { key: `${tenant}:m`, name: 'minute', limit: limits.perMinute, windowSeconds: 60 },
    { key: `${tenant}:d`, name: 'day', limit: limits.perDay, windowSeconds: 86_400 },
  ];
  const own = auth.rateLimitPerMinute;
  if (own != null && own < limits.perMinute) {
    windows.push({
      key: `{${auth.orgId}}:k:${auth.principal.id}:m`,
      name: 'key-minute',
      limit: own,
      windowSeconds: 60,
    });
  }
  return windows;
}

/**
 * Builds the rate-limit step: counts an authenticated request against its windows, sets the headers, and
 * fails it with a 429 over the limit. Synchronous with the in-memory limiter and a cached org.
 */
export function createRateLimitStep(deps: RateLimitDeps) {
  const { limiter, orgLimits, clock } = deps;

  function apply(
    request: FastifyRequest,
    reply: FastifyReply,
    decision: Decision,
    now: number,
  ): Error | undefined {
    request.rateLimit = decision;
    reply.headers(rateLimitHeaders(decision, now));
    if (decision.allowed) return undefined;
    deps.onLimited?.(request);
    const retryAfter = retryAfterSeconds(decision, now);
    return new ApiError('rate_limited', `Rate limit exceeded; retry in ${retryAfter} s`, {
      headers: { 'retry-after': String(retryAfter) },
    });
  }

  return function rateLimitStep(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) {
    const auth = request.auth;
    if (!auth) return done();
    const decide = (resolved: OrgLimits) => {
      const now = clock.now();
      let decision: Decision | Promise<Decision>;
      try {
        decision = limiter.consume(windowsFor(auth, resolved), now);
      } catch (error) {
        return done(error as Error);
      }
      if (decision instanceof Promise) {
        decision.then((d) => done(apply(request, reply, d, now)), done);
      } else {
        done(apply(request, reply, decision, now));
      }
    };
    const limits = orgLimits.get(auth.orgId);
    if (limits instanceof Promise) limits.then(decide, done);
    else decide(limits);
  };
}
