/**
 * The rate-limit step of the pipeline (after authentication, before the scope guard). Every authenticated
 * request counts against its org's minute and day windows (and its key's own minute limit, if it has one);
 * every response to it carries the rate-limit headers, errors included; over the limit it is a 429 problem
 * with `Retry-After` in whole seconds.
 *
 * Test mode has its own budget, equal to live's (as Stripe does): load-testing a sandbox integration must
 * never starve production traffic of the same org.
 *
 * A dashboard session is a person clicking through pages, not an integration: its calls do not count
 * against the org's API budget (a walk through seven pages used half the free tier's minute), but against
 * a budget of the session's own, `SESSION_RATE_LIMIT_PER_MINUTE`, across both modes. Still limited, so a
 * stolen cookie or a runaway tab cannot flood the server; the headers describe that budget.
 */
import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../auth/context.ts';
import type { Clock } from '../clock.ts';
import { ApiError } from '../http/errors.ts';
import { rateLimitPolicy, retryAfterSeconds } from './headers.ts';
import type { Decision, RateLimiter, WindowSpec } from './limiter.ts';
import type { OrgLimitCache, OrgLimits } from './org-limits.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * This request's rate-limit decision (null before the step, and for unauthenticated requests): what its
     * headers describe, kept so a route can report the standing without counting the request again.
     */
    rateLimit: Decision | null;
    /** The `RateLimit-Policy` value of the decision's windows ('' before the step). */
    rateLimitPolicy: string;
  }
}

export interface RateLimitDeps {
  limiter: RateLimiter;
  orgLimits: OrgLimitCache;
  clock: Clock;
  /** Called for each rejected request (metrics, audit). */
  onLimited?: (request: FastifyRequest) => void;
  /** A dashboard session's budget per minute (default `SESSION_RATE_LIMIT_PER_MINUTE`). */
  sessionPerMinute?: number;
}

/** A dashboard session's own budget (docs/rate-limits.md): generous for a person, small for a script. */
export const SESSION_RATE_LIMIT_PER_MINUTE = 600;

/** The window of a dashboard session: its own, whatever the mode, separate from the org's API budget. */
export function sessionWindows(auth: AuthContext, perMinute = SESSION_RATE_LIMIT_PER_MINUTE): WindowSpec[] {
  // The org's hash tag keeps the key beside the org's others on a Redis cluster.
  const id = auth.sessionId ?? auth.principal.id;
  return [{ key: `{${auth.orgId}}:s:${id}:m`, name: 'session-minute', limit: perMinute, windowSeconds: 60 }];
}

/** The org's API windows for a bearer credential (and its key's own minute, if lower). */
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

/** A credential's windows under its org's current limits, and their `RateLimit-Policy` value. */
interface WindowPlan {
  limits: OrgLimits;
  windows: WindowSpec[];
  policy: string;
}

/**
 * Builds the rate-limit step: counts an authenticated request against its windows, sets the headers, and
 * fails it with a 429 over the limit. Synchronous with the in-memory limiter and a cached org.
 *
 * A bearer credential's context is one object per verified credential (the verifiers cache it), and an
 * org's limits one object per cache entry, so the windows (their counter keys) and the policy header are
 * built once per credential and limits, not per request: a request only looks its plan up.
 */
export function createRateLimitStep(deps: RateLimitDeps) {
  const { limiter, orgLimits, clock } = deps;
  const plans = new WeakMap<AuthContext, WindowPlan>();

  function planFor(auth: AuthContext, limits: OrgLimits): WindowPlan {
    const known = plans.get(auth);
    if (known !== undefined && known.limits === limits) return known;
    const windows = windowsFor(auth, limits);
    const plan = { limits, windows, policy: rateLimitPolicy(windows) };
    plans.set(auth, plan);
    return plan;
  }

  /**
   * Keeps the decision on the request; its headers are written with the response (http/response-head.ts),
   * whichever way it leaves.
   */
  function apply(
    request: FastifyRequest,
    decision: Decision,
    now: number,
    policy: string,
  ): Error | undefined {
    request.rateLimit = decision;
    request.rateLimitPolicy = policy;
    if (decision.allowed) return undefined;
    deps.onLimited?.(request);
    const retryAfter = retryAfterSeconds(decision, now);
    const detail =
      request.auth?.via === 'session'
        ? `This dashboard session's rate limit is exceeded; retry in ${retryAfter} s`
        : `Rate limit exceeded; retry in ${retryAfter} s`;
    return new ApiError('rate_limited', detail, {
      headers: { 'retry-after': String(retryAfter) },
    });
  }

  function decide(
    request: FastifyRequest,
    windows: WindowSpec[],
    policy: string,
    done: (error?: Error) => void,
  ): void {
    // The pipeline's clock reading (a fresh one after an awaited org lookup, which took time): the headers
    // describe the windows as of this reading, so it must be the request's `receivedAt`.
    const now = request.receivedAt;
    if (limiter.consumeThen !== undefined) {
      limiter.consumeThen(windows, now, (d) => done(apply(request, d, now, policy)));
      return;
    }
    let decision: Decision | Promise<Decision>;
    try {
      decision = limiter.consume(windows, now);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (decision instanceof Promise) {
      decision.then((d) => done(apply(request, d, now, policy)), done);
    } else {
      done(apply(request, decision, now, policy));
    }
  }

  return function rateLimitStep(request: FastifyRequest, done: (error?: Error) => void) {
    const auth = request.auth;
    if (!auth) return done();
    // A session needs no org limits: its budget is its own.
    if (auth.via === 'session') {
      const windows = sessionWindows(auth, deps.sessionPerMinute);
      return decide(request, windows, rateLimitPolicy(windows), done);
    }
    const limits = orgLimits.get(auth.orgId);
    if (limits instanceof Promise) {
      limits.then((resolved) => {
        request.receivedAt = clock.now();
        const plan = planFor(auth, resolved);
        decide(request, plan.windows, plan.policy, done);
      }, done);
    } else {
      const plan = planFor(auth, limits);
      decide(request, plan.windows, plan.policy, done);
    }
  };
}
