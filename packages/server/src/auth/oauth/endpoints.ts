/**
 * The engine's endpoints, at the paths of DESIGN §4: each is a Fastify route (so it is in the route table,
 * declared public, and gets a request id) that hands the raw request to the engine in `onRequest`, before
 * Fastify would parse the body: the engine reads its own form bodies. The API's problem+json errors do not
 * apply here: OAuth endpoints answer in RFC 6749's `error`/`error_description`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { AppDeps } from '../../app-deps.ts';
import { pageHeaders } from '../../http/html-page.ts';
import { hasRepeatedAuthorization, REPEATED_AUTHORIZATION } from '../../http/repeated-headers.ts';
import { UserCodeThrottle } from './device-flow.ts';
import { tooManyGuessesPage } from './device-pages.ts';
import { OAUTH_ROUTES, type OAuthServer } from './provider.ts';
import { publishedKeys } from './signing-keys.ts';

/**
 * `cors`: browsers' preflight requests (OPTIONS) go to the engine too; it answers them per client.
 * `clientAuth`: the endpoint authenticates clients, so failures count towards the IP's block (DESIGN §5.2),
 * as failed API credentials do.
 * `userCode`: the endpoint looks up a device flow's user code, so attempts are limited (device-flow.ts).
 */
const ENDPOINTS: ReadonlyArray<{
  url: string;
  methods: HTTPMethods[];
  summary: string;
  cors?: boolean;
  clientAuth?: boolean;
  userCode?: boolean;
}> = [
  { url: OAUTH_ROUTES.authorization, methods: ['GET'], summary: 'Authorization endpoint (RFC 6749)' },
  { url: `${OAUTH_ROUTES.authorization}/:uid`, methods: ['GET'], summary: 'Resumes an authorization' },
  {
    url: OAUTH_ROUTES.token,
    methods: ['POST'],
    summary: 'Token endpoint (RFC 6749)',
    cors: true,
    clientAuth: true,
  },
  {
    url: OAUTH_ROUTES.revocation,
    methods: ['POST'],
    summary: 'Token revocation (RFC 7009)',
    cors: true,
    clientAuth: true,
  },
  {
    url: OAUTH_ROUTES.introspection,
    methods: ['POST'],
    summary: 'Token introspection (RFC 7662)',
    clientAuth: true,
  },
  {
    url: OAUTH_ROUTES.device_authorization,
    methods: ['POST'],
    summary: 'Device authorization (RFC 8628): a device code and the user code to enter',
    cors: true,
    clientAuth: true,
  },
  {
    url: OAUTH_ROUTES.code_verification,
    methods: ['GET'],
    summary: 'Device verification page: a person enters the code their device shows (RFC 8628)',
  },
  {
    url: OAUTH_ROUTES.code_verification,
    methods: ['POST'],
    summary: 'Device verification page: the code entered (attempts are limited per IP and in all)',
    userCode: true,
  },
  {
    url: `${OAUTH_ROUTES.code_verification}/:uid`,
    methods: ['GET'],
    summary: 'Resumes a device authorization after sign-in and consent',
  },
  {
    url: '/.well-known/oauth-authorization-server',
    methods: ['GET'],
    summary: 'Authorization server metadata (RFC 8414)',
    cors: true,
  },
];

/**
 * The engine derives its endpoint URLs, its `iss` checks and its cookies' `Secure` flag from the request (it
 * runs with `proxy` on). This pins what it reads to the configured public URL, and the client address to
 * the one Fastify trusted (COHERA_TRUST_PROXY), so neither a forged Host nor a forged X-Forwarded-* header
 * changes them. Every request handed to the engine goes through here first.
 */
export function pinEngineView(request: FastifyRequest, publicUrl: URL): void {
  const headers = request.raw.headers;
  headers.host = publicUrl.host;
  headers['x-forwarded-host'] = publicUrl.host;
  headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
  headers['x-forwarded-for'] = request.ip;
}

/**
 * `onFinished` runs when the engine's response is sent: a hijacked reply skips Fastify's onResponse hooks
 * and its "request completed" line, so the latency metric and the log line are produced here.
 */
export function registerOAuthEndpoints(
  app: FastifyInstance,
  deps: AppDeps,
  oauth: OAuthServer,
  onFinished: (request: FastifyRequest, reply: FastifyReply) => void,
): void {
  const failures = deps.authFailures;
  const publicUrl = new URL(deps.config.publicUrl);
  const handOver = (request: FastifyRequest, reply: FastifyReply, clientAuth: boolean) => {
    pinEngineView(request, publicUrl);
    reply.hijack();
    reply.raw.setHeader('x-request-id', request.id);
    reply.raw.setHeader('x-content-type-options', 'nosniff');
    reply.raw.once('finish', () => {
      if (clientAuth && reply.raw.statusCode === 401) failures.recordFailure(request.ip).catch(() => {});
      request.log.info(
        { res: { statusCode: reply.raw.statusCode }, responseTime: reply.elapsedTime },
        'request completed',
      );
      onFinished(request, reply);
    });
    const blocked = clientAuth ? failures.blocked(request.ip) : null;
    if (blocked) {
      // RFC 6749 has no error for this; the status and Retry-After say it, the body keeps its shape.
      reply.raw.writeHead(429, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        ...blocked.headers,
      });
      reply.raw.end(JSON.stringify({ error: 'invalid_request', error_description: blocked.message }));
      return;
    }
    // The engine would read the first of several Authorization headers (Node drops the rest) while a proxy
    // may read another; RFC 6749 §2.3 allows one authentication per request, so this is invalid_request.
    if (clientAuth && request.headers.authorization !== undefined && hasRepeatedAuthorization(request.raw)) {
      reply.raw.writeHead(400, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
      });
      reply.raw.end(JSON.stringify({ error: 'invalid_request', error_description: REPEATED_AUTHORIZATION }));
      return;
    }
    oauth.handle(request.raw, reply.raw);
  };
  const userCodes = new UserCodeThrottle(deps.limiter, deps.clock);
  /**
   * An attempt at a user code is reserved before the engine looks it up, and given back once the engine
   * answered unless it found no such code (a guess): see UserCodeThrottle.
   */
  const handOverUserCode = async (request: FastifyRequest, reply: FastifyReply) => {
    const attempt = await userCodes.reserve(request.ip);
    if ('retryAfter' in attempt) {
      reply.hijack();
      reply.raw.writeHead(429, {
        ...pageHeaders(),
        'retry-after': String(attempt.retryAfter),
        'x-request-id': request.id,
      });
      reply.raw.end(tooManyGuessesPage(attempt.retryAfter));
      return;
    }
    reply.raw.once('finish', () => {
      if (!oauth.wrongUserCodes.has(request.raw)) void attempt.release();
    });
    handOver(request, reply, false);
  };
  const route = (
    method: HTTPMethods[],
    url: string,
    summary: string,
    hide: boolean,
    clientAuth = false,
    userCode = false,
  ) =>
    app.route({
      method,
      url,
      config: { access: { public: true } },
      schema: { tags: ['OAuth'], summary, hide },
      onRequest: userCode
        ? (request, reply) => handOverUserCode(request, reply)
        : (request, reply, done) => {
            handOver(request, reply, clientAuth);
            done();
          },
      // Never reached: the request was handed over in onRequest.
      handler: async () => undefined,
    });
  for (const endpoint of ENDPOINTS) {
    route(endpoint.methods, endpoint.url, endpoint.summary, false, endpoint.clientAuth, endpoint.userCode);
    if (endpoint.cors) route(['OPTIONS'], endpoint.url, `CORS preflight: ${endpoint.summary}`, true);
  }

  // Served by us, not the engine: the engine holds only the signing key, and this set also carries the keys
  // retired within the overlap, whose tokens are still valid (RFC 7517; fetched by any resource server).
  app.get(
    OAUTH_ROUTES.jwks,
    {
      config: { access: { public: true } },
      schema: { tags: ['OAuth'], summary: 'The token-signing public keys (JWKS)' },
    },
    async (_request, reply) => {
      const keys = await publishedKeys(deps.db, deps.clock.now());
      return reply
        .header('cache-control', 'public, max-age=300')
        .header('access-control-allow-origin', '*')
        .type('application/jwk-set+json; charset=utf-8')
        .send({ keys });
    },
  );
}
