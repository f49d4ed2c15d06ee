/**
 * `Idempotency-Key` on the API's POST routes (docs/idempotency.md). It slots into the request lifecycle
 * after the pipeline (authenticate → rate limit → scope guard), so a 401, 403 or 429 is answered before a
 * key is looked at and never stored:
 *
 *   preParsing     check the header; hash the raw body as the parser reads it
 *   preValidation  claim the key (insert its row), before schema validation, so a 400 is stored too;
 *                  or answer 409 (in progress), 422 (another request), or replay the stored response
 *   onSend         store the response (< 500) before it leaves, or release the key (≥ 500); a success
 *                  holding a shown-once secret is stored as `409 secret_already_shown` (shown-once.ts)
 *
 * The hooks are attached only to the routes that honour the header, and do nothing for a request that
 * does not send it: such a request behaves exactly as it would without this module.
 */

import type { Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { ApiError } from '../http/errors.ts';
import type { DB } from '../storage/schema.ts';
import { describeUnavailable, isDatabaseUnavailable } from '../storage/unavailable.ts';
import { type FingerprintingBody, fingerprintBody } from './fingerprint.ts';
import {
  hashIdempotencyKey,
  IDEMPOTENCY_HEADER,
  idempotencyOwnerOf,
  idempotentRoute,
  parseIdempotencyKey,
  REPLAYED_HEADER,
} from './key.ts';
import { idempotencyLeaseMs } from './lease.ts';
import { type ClaimedRecord, IdempotencyStore, idempotencyBox } from './repository.ts';
import { startIdempotencyPurge } from './retention.ts';
import { replayableAnswer } from './shown-once.ts';

export interface IdempotencyDeps {
  db: Kysely<DB>;
  /** Seals stored responses (COHERA_MASTER_KEY). */
  masterKey: Buffer;
  clock: Clock;
  log: FastifyBaseLogger;
  /** How often expired keys are deleted (default hourly). */
  purgeEveryMs?: number;
  /**
   * How long a claim holds before a retry may take it over (lease.ts); default: the lease for the default
   * 30 s request timeout. app.ts passes the lease for COHERA_REQUEST_TIMEOUT_SECONDS.
   */
  leaseMs?: number;
}

/** A request that sent the header, from its body being read to its response being settled. */
type Tracked =
  | { phase: 'reading'; keyHash: string; body: FingerprintingBody }
  | { phase: 'claimed'; record: ClaimedRecord };

/**
 * Refusals that say nothing was done and that may go differently next time (another credential's rights,
 * a quieter minute): like the pipeline's own 401/403/429, they release the key instead of being stored.
 */
const RELEASED_STATUSES = new Set([401, 403, 429]);

type Hook<T> = T | T[] | undefined;
const asArray = <T>(hook: Hook<T>): T[] => (hook === undefined ? [] : Array.isArray(hook) ? hook : [hook]);

/**
 * Registers the hooks on every route that honours the header (call before the routes are registered) and
 * starts the purge of expired keys; `close()` stops it.
 */
export function registerIdempotency(app: FastifyInstance, deps: IdempotencyDeps): { close(): Promise<void> } {
  const { clock, log } = deps;
  const store = new IdempotencyStore(
    deps.db,
    idempotencyBox(deps.masterKey),
    deps.leaseMs ?? idempotencyLeaseMs(30_000),
  );
  const tracked = new WeakMap<FastifyRequest, Tracked>();

  async function readKey(request: FastifyRequest, _reply: FastifyReply, payload: Readable) {
    // The pipeline has authenticated the request (these routes are never public); no principal, no key.
    if (request.auth === null) return payload;
    const key = parseIdempotencyKey(request.headers[IDEMPOTENCY_HEADER]);
    if (key === null) return payload;
    const body = fingerprintBody(request.method, request.url, payload);
    tracked.set(request, { phase: 'reading', keyHash: hashIdempotencyKey(key), body });
    return body.stream;
  }

  async function claimKey(request: FastifyRequest, reply: FastifyReply) {
    const state = tracked.get(request);
    if (state?.phase !== 'reading' || request.auth === null) return;
    const record = { ...idempotencyOwnerOf(request.auth), keyHash: state.keyHash };
    const claim = await store.claim(record, state.body.digest(), clock.now());
    switch (claim.outcome) {
      case 'claimed':
        if (claim.takenOver) {
          // The first attempt's claim outlived its lease without being settled (its node died, or the
          // database went away before the settle): this retry runs the request.
          request.log.warn('idempotency: took over a claim whose lease ran out');
        }
        tracked.set(request, { phase: 'claimed', record: { ...record, claimToken: claim.claimToken } });
        return;
      case 'mismatch':
        throw new ApiError(
          'idempotency_key_reused',
          'This Idempotency-Key was used for a request with another method, URL or body; use a new key for a new request',
        );
      case 'in_progress':
        throw new ApiError(
          'idempotency_key_in_use',
          'A request with this Idempotency-Key is still in progress; retry after it has finished',
          { headers: { 'retry-after': '1' } },
        );
      case 'completed': {
        // The first answer, as it was: status, type and body (its request_id too); this response's own
        // X-Request-Id and rate-limit headers are already set by the pipeline.
        tracked.delete(request);
        const { statusCode, contentType, body } = claim.response;
        reply.code(statusCode).header(REPLAYED_HEADER, 'true');
        if (contentType !== null) reply.header('content-type', contentType);
        return reply.send(body === '' ? undefined : body);
      }
    }
  }

  async function settle(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const state = tracked.get(request);
    if (state?.phase !== 'claimed') return payload;
    tracked.delete(request);
    const status = reply.statusCode;
    const body =
      payload === undefined || payload === null
        ? ''
        : typeof payload === 'string'
          ? payload
          : Buffer.isBuffer(payload)
            ? payload.toString('utf8')
            : null;
    try {
      if (status >= 500 || RELEASED_STATUSES.has(status) || body === null) {
        // Nothing to replay (a failure, or a streamed body no route sends today): the client may retry.
        if (body === null)
          log.warn({ route: request.routeOptions.url }, 'idempotency: streamed body not stored');
        await store.release(state.record);
      } else {
        const type = reply.getHeader('content-type');
        const answer = { statusCode: status, contentType: type === undefined ? null : String(type), body };
        // The secret goes out in this response only; what is sealed for replays never holds it.
        const secretFields = request.routeOptions.config.secretFields;
        const stored = await store.complete(state.record, replayableAnswer(answer, secretFields, request.id));
        if (!stored) {
          // This request outlived its lease and a retry took the key over: that retry's answer is the one
          // replayed. Worth a look: the lease may be shorter than this route needs.
          request.log.warn(
            { route: request.routeOptions.url },
            'idempotency: response not stored, the claim was taken over after its lease ran out',
          );
        }
      }
    } catch (error) {
      // The response still goes out. A key that could not be settled stays "in progress" until its lease
      // runs out (lease.ts); then a retry takes it over and runs the request once more (docs/idempotency.md
      // says when that can repeat work). During a database outage that is expected and needs no stack
      // (availability.ts logs the outage).
      if (isDatabaseUnavailable(error)) {
        request.log.warn({ error: describeUnavailable(error) }, 'idempotency: could not settle the key');
      } else {
        request.log.error({ err: error }, 'idempotency: could not settle the key');
      }
    }
    return payload;
  }

  app.addHook('onRoute', (route) => {
    if (!idempotentRoute(route.method, route.url, route.config?.access)) return;
    // First in line, so a claimed request's own checks (the NUL check, schema validation) are stored too.
    route.preParsing = [readKey, ...asArray(route.preParsing)] as typeof route.preParsing;
    route.preValidation = [claimKey, ...asArray(route.preValidation)] as typeof route.preValidation;
    // Last in line: it stores the payload as it will leave.
    route.onSend = [...asArray(route.onSend), settle] as typeof route.onSend;
  });

  const purge = startIdempotencyPurge(deps.db, clock, log, deps.purgeEveryMs);
  return { close: () => purge.stop() };
}
