/**
 * `POST /v1/credentials/revoke` (DESIGN §5.6): anyone who finds a Cohera API key — a scanner, a stranger on
 * a forum, the key's own owner at 3 a.m. without a session — can report it, with no credential. Every valid
 * key among the strings is handled as leaked (handle.ts: revoked, or flagged under the `notify` policy).
 *
 * Never an oracle. The answer is always `202 {received: n}`, and the request path does only what anyone can
 * do offline: it checks each string's shape and CRC-32 checksum (@cohera/shared `parseApiKey`), hashes the
 * ones that pass with SHA-256, and queues the hashes (queue.ts). It never looks a hash up: whether a hash is
 * a key is found by the leak worker after the answer has gone, so neither the answer nor its timing differs
 * between a live key, a test key, a revoked key and a checksum-valid string that is no key at all. (A
 * string failing the checksum skips the queue; that tells the caller only what the public checksum
 * already told them.) Only hashes are stored, never the strings.
 *
 * The request does not wake the worker: the worker runs on its own clock (every 250 ms), so its heavier
 * work for a real key (the revoke, the audit event, the webhook) is not tied to any one request. Woken by
 * each request, that work ran between it and the caller's next request on the same node, which then
 * measured ~0.1 ms slower after a valid key than after an unknown one: an oracle one step removed.
 *
 * Limited per client IP (60 requests an hour) in the shared limiter, so the limit holds across a fleet;
 * refused requests, bad bodies included, count too.
 */
import { hash } from 'node:crypto';
import { parseApiKey } from '@cohera/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app-deps.ts';
import { ApiError } from '../http/errors.ts';
import { rateLimitHeaders, retryAfterSeconds } from '../ratelimit/headers.ts';
import type { WindowSpec } from '../ratelimit/limiter.ts';
import { enqueueLeakReports } from './queue.ts';

export const MAX_CREDENTIALS = 1000;
export const REVOKE_REQUESTS_PER_HOUR = 60;

const RevokeBody = Type.Object(
  {
    credentials: Type.Array(Type.String({ maxLength: 4096 }), {
      minItems: 1,
      maxItems: MAX_CREDENTIALS,
      description: 'The strings found: API keys, or anything that may be one (at most 1,000)',
    }),
  },
  { additionalProperties: false },
);

const Received = Type.Object({
  received: Type.Integer({
    description: 'How many strings were received (never how many were keys)',
  }),
});

export const credentialRevokeRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function credentialRevoke(app) {
    const { db, clock, limiter } = deps;

    /** Counts the request against its IP's hourly window before anything else, bad bodies included. */
    async function perIpLimit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const window: WindowSpec = {
        key: `leakrevoke:{${request.ip}}`,
        name: 'hour',
        limit: REVOKE_REQUESTS_PER_HOUR,
        windowSeconds: 3600,
      };
      const now = clock.now();
      const decision = await limiter.consume([window], now);
      reply.headers(rateLimitHeaders(decision, now));
      if (!decision.allowed) {
        const retryAfter = retryAfterSeconds(decision, now);
        throw new ApiError(
          'rate_limited',
          `Too many revocation requests from this address; retry in ${retryAfter} s`,
          { headers: { 'retry-after': String(retryAfter) } },
        );
      }
    }

    app.post(
      '/v1/credentials/revoke',
      {
        config: { access: { public: true } },
        onRequest: perIpLimit,
        schema: {
          tags: ['Leaked credentials'],
          summary: 'Report leaked API keys: each valid one is revoked (or flagged, per its org’s policy)',
          description:
            'Public, no credential. The answer is the same whatever the strings are: it never says whether ' +
            `one was a key. At most ${REVOKE_REQUESTS_PER_HOUR} requests an hour per client IP.`,
          body: RevokeBody,
          response: { 202: Received },
        },
      },
      async (request, reply) => {
        const { credentials } = request.body;
        const hashes: string[] = [];
        for (const candidate of credentials) {
          const trimmed = candidate.trim();
          if (parseApiKey(trimmed)) hashes.push(hash('sha256', trimmed, 'hex'));
        }
        await enqueueLeakReports(
          db,
          hashes,
          { source: 'public', ip: request.ip, requestId: request.id },
          clock.now(),
        );
        return reply.code(202).send({ received: credentials.length });
      },
    );
  };
