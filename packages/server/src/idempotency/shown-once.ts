/**
 * Shown-once secrets and idempotent replays (issue 14). The answer that hands out a new API key, a client
 * secret or a generated private key is the only place that secret ever exists in the clear: the server
 * keeps a hash or nothing (DESIGN §6). Keeping that answer for 24 hours of replays, even sealed, would
 * make the idempotency store a second copy, readable by anyone holding the master key and the database.
 *
 * So a route declares which top-level fields of its successful answer are shown-once secrets
 * (`config: { secretFields: ['key'] }`), and what is stored for replays is not that answer but a
 * `409 secret_already_shown` problem whose `result` is the answer without those fields. A retry whose
 * first attempt's answer was lost learns that the request was carried out, what it made (the id to roll,
 * rotate, revoke or delete), and that the secret cannot be had again. An error status rather than the
 * stripped object with a 2xx: a client that reads `key` from a 201 must not go on with `undefined`.
 * Stripe replays the secret; Cohera deliberately does not.
 */
import { problemOf } from '../http/errors.ts';
import type { StoredResponse } from './repository.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Top-level fields of this route's successful answer that hold a secret shown only once. Never stored
     * for idempotent replays; a test fails for a route whose response schema has a secret-looking field
     * it does not list here.
     */
    secretFields?: readonly string[];
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What may be kept of an answer for replays: the answer itself, unless it is a success holding one of the
 * route's shown-once fields (a public OAuth client's `client_secret: null` holds none), in which case the
 * `secret_already_shown` problem that stands for it. A body that cannot be read as JSON is never kept:
 * nothing of it can be shown to hold no secret.
 */
export function replayableAnswer(
  answer: StoredResponse,
  secretFields: readonly string[] | undefined,
  requestId: string,
): StoredResponse {
  if (secretFields === undefined || secretFields.length === 0 || answer.statusCode >= 300) return answer;
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    // Not JSON: kept as a problem without `result` below.
  }
  const body = isRecord(parsed) ? parsed : null;
  const shown = body
    ? secretFields.filter((field) => body[field] !== undefined && body[field] !== null)
    : [...secretFields];
  if (body !== null && shown.length === 0) return answer;
  const detail =
    `The first request with this Idempotency-Key was carried out (HTTP ${answer.statusCode}), and its answer ` +
    `held ${shown.join(', ')}, which is shown only once and not kept for replays. \`result\` is that answer ` +
    'without it. For a new secret, roll the key or rotate the secret; or revoke or delete what was made.';
  const problem = {
    ...problemOf('secret_already_shown', requestId, detail),
    ...(body === null
      ? {}
      : {
          result: Object.fromEntries(Object.entries(body).filter(([name]) => !secretFields.includes(name))),
        }),
  };
  return {
    statusCode: problem.status,
    contentType: 'application/problem+json; charset=utf-8',
    body: JSON.stringify(problem),
  };
}
