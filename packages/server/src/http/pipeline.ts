/**
 * The request pipeline of DESIGN §2, in one onRequest hook:
 *
 *   request id → authenticate → rate limit → scope guard → (validation) → route
 *
 * One hook rather than four because each Fastify hook costs a dispatch per request, and the authenticated
 * read path has a budget of 85% of a bare route. Each step is its own module; this file only orders them.
 * A step calls `done()` to continue or `done(error)` to answer with a problem; a synchronous step (cached
 * credential, in-memory limiter) continues synchronously, so the common path creates no promise.
 *
 * What every later step needs is read here once and kept on the request: the clock (`receivedAt`) and the
 * route's config (`routeConfig`). Fastify's `request.routeOptions` builds a fresh object of a dozen fields
 * (and asks the router about version constraints) on every read; the hot path read it four times.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { createAuthenticationStep } from '../auth/authenticate.ts';
import { scopeError } from '../auth/scope-guard.ts';
import type { Clock } from '../clock.ts';
import type { createRateLimitStep } from '../ratelimit/hook.ts';
import { ApiError } from './errors.ts';
import { registerStandardHeaders } from './response-head.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** When the pipeline began with this request (epoch ms): the one clock read its steps share. */
    receivedAt: number;
    /**
     * The matched route's config (`access`, `secretFields`, `url`), read once. Null only for a request that
     * never reached the pipeline (a framework error before onRequest): use `routeConfigOf`.
     */
    routeConfig: FastifyRequest['routeOptions']['config'] | null;
  }
}

/** The route's config of a request, whether or not the pipeline ran for it. */
export function routeConfigOf(request: FastifyRequest): FastifyRequest['routeOptions']['config'] {
  return request.routeConfig ?? request.routeOptions.config;
}

export interface PipelineSteps {
  authenticate: ReturnType<typeof createAuthenticationStep>;
  rateLimit: ReturnType<typeof createRateLimitStep>;
  /** True once the server is shutting down. */
  closing: () => boolean;
  clock: Clock;
}

export function registerPipeline(app: FastifyInstance, steps: PipelineSteps): void {
  app.decorateRequest('auth', null);
  app.decorateRequest('rateLimit', null);
  app.decorateRequest('rateLimitPolicy', '');
  app.decorateRequest('receivedAt', 0);
  app.decorateRequest('routeConfig', null);
  const { clock, authenticate, rateLimit } = steps;
  registerStandardHeaders(app);
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    request.receivedAt = clock.now();
    const config = request.routeOptions.config;
    request.routeConfig = config;
    // The standard headers (request id, nosniff, rate limits) are written with the response: response-head.ts.
    // During a graceful shutdown, requests still arriving on kept-alive connections get a proper problem
    // response (and `connection: close`) instead of Fastify's bare 503.
    if (steps.closing()) {
      reply.header('connection', 'close');
      return done(
        new ApiError('service_unavailable', 'The server is shutting down; retry on another connection'),
      );
    }
    authenticate(request, (authError) => {
      if (authError) return done(authError);
      rateLimit(request, (limitError) => done(limitError ?? scopeError(request, config.access)));
    });
  });
}
