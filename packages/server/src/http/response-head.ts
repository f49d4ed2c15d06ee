/**
 * The headers every API response carries (DESIGN §4): `X-Request-Id`, `X-Content-Type-Options: nosniff`,
 * and for an authenticated request its rate-limit fields (`X-RateLimit-*`, `RateLimit-Policy`, `RateLimit`).
 *
 * The pipeline only records what they say (the request id, the rate-limit decision and its policy); they are
 * written once, as the response leaves, in one of two ways:
 *
 * - `registerStandardHeaders`: an onSend hook sets them on every response Fastify sends (errors included).
 * - `sendJsonDirect`: the cached read (`GET /v1/<resource>/:id`, the hottest route) writes the status line
 *   and every header in one `writeHead` with a flat name, value list, skipping Fastify's send.
 *
 * Why two, measured on a bare Fastify route on this project's bench machine (server CPU per request):
 * the seven headers set with `reply.header` add 1.8 µs to its 8 µs of user time, most of it Fastify's
 * per-header bookkeeping (a lower-cased name, a store into a dictionary object, a `for…in` over it at
 * `writeHead`); the same headers in one `writeHead` from a list add 1.2 µs (Node still validates each name
 * and value), and skipping Fastify's send (content-length, onSend hooks, its own `writeHead`) saves 0.9 µs
 * more. On the API-key row that was about 8k of 125k instructions per request. The test in
 * test/http/response-head.test.ts holds both ways to the same headers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pushRateLimitHeaders } from '../ratelimit/headers.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Appends the standard headers of `request` to `out` as name, value, name, value. */
export function pushStandardHeaders(out: string[], request: FastifyRequest): void {
  out.push('x-request-id', request.id, 'x-content-type-options', 'nosniff');
  const decision = request.rateLimit;
  // The decision was made at `receivedAt`: its windows' `t` and reset are relative to that reading.
  if (decision !== null) pushRateLimitHeaders(out, decision, request.receivedAt, request.rateLimitPolicy);
}

/**
 * Sets the standard headers on every response Fastify sends. Global, so it runs before a route's own
 * onSend hooks (the idempotency store sees the response as the client will).
 */
export function registerStandardHeaders(app: FastifyInstance): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    const pairs: string[] = [];
    pushStandardHeaders(pairs, request);
    for (let i = 0; i < pairs.length; i += 2) reply.header(pairs[i] as string, pairs[i + 1]);
    done(null, payload);
  });
}

/**
 * Answers 200 with a JSON text already serialized, its UTF-8 length given as text, and the standard headers:
 * one `writeHead` and one `end`, outside Fastify's send. For a route with no onSend hook of its own (a GET):
 * the reply is hijacked, so route-level onSend hooks would not run. onResponse hooks still do (Fastify
 * listens for the raw response's finish), and so do its logging and timing.
 */
export function sendJsonDirect(
  request: FastifyRequest,
  reply: FastifyReply,
  json: string,
  length: string,
): void {
  const headers: string[] = [];
  pushStandardHeaders(headers, request);
  headers.push('content-type', JSON_TYPE, 'content-length', length);
  reply.hijack();
  // Node omits the body of a HEAD response itself; the content-length stays, as HEAD requires.
  reply.raw.writeHead(200, headers);
  reply.raw.end(json);
}
