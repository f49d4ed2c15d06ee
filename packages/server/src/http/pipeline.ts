/**
 * The request pipeline of DESIGN §2, in one onRequest hook:
 *
 *   request id → authenticate → rate limit → scope guard → (validation) → route
 *
 * One hook rather than four because each Fastify hook costs a dispatch per request, and the authenticated
 * read path has a budget of 85% of a bare route. Each step is its own module; this file only orders them.
 * A step calls `done()` to continue or `done(error)` to answer with a problem; a synchronous step (cached
 * credential, in-memory limiter) continues synchronously, so the common path creates no promise.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { createAuthenticationStep } from '../auth/authenticate.ts';
import { scopeError } from '../auth/scope-guard.ts';
import type { createRateLimitStep } from '../ratelimit/hook.ts';
import { ApiError } from './errors.ts';

export interface PipelineSteps {
  authenticate: ReturnType<typeof createAuthenticationStep>;
  rateLimit: ReturnType<typeof createRateLimitStep>;
  /** True once the server is shutting down. */
  closing: () => boolean;
}

export function registerPipeline(app: FastifyInstance, steps: PipelineSteps): void {
  app.decorateRequest('auth', null);
  app.decorateRequest('rateLimit', null);
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    // During a graceful shutdown, requests still arriving on kept-alive connections get a proper problem
    // response (and `connection: close`) instead of Fastify's bare 503.
    if (steps.closing()) {
      reply.header('connection', 'close');
      return done(
        new ApiError('service_unavailable', 'The server is shutting down; retry on another connection'),
      );
    }
    steps.authenticate(request, (authError) => {
      if (authError) return done(authError);
      steps.rateLimit(request, reply, (limitError) => done(limitError ?? scopeError(request)));
    });
  });
}
