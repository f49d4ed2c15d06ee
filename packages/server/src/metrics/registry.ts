/**
 * Prometheus metrics (DESIGN §4): request counts and latency by route and status, authentication failures by
 * code, rate-limited requests, cache hit ratios, the Redis fallback state. Gauges that mirror internal state
 * are read at scrape time (collect), so the request path only pays for one histogram observation.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { AppDeps } from '../app-deps.ts';
import { ApiError } from '../http/errors.ts';
import { routeConfigOf } from '../http/pipeline.ts';
import type { AuthFailureGuard } from '../ratelimit/abuse.ts';
import { RedisRateLimiter } from '../ratelimit/redis-limiter.ts';
import { LatencyHistogram, type Series } from './latency-histogram.ts';

export interface Metrics {
  registry: Registry;
  rateLimited: Counter<'kind'>;
  authFailures: Counter<'code'>;
}

export function createMetrics(deps: AppDeps): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cohera_process_' });

  const rateLimited = new Counter({
    name: 'cohera_rate_limited_requests_total',
    help: 'Requests rejected with 429: kind=org (tier limits) or abuse (failed-auth / sign-in throttling)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'cohera_auth_failures_total',
    help: 'Failed authentications by error code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const cacheRatio = (name: string, help: string, read: () => { hits: number; misses: number }) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const { hits, misses } = read();
        this.set(hits + misses === 0 ? 0 : hits / (hits + misses));
      },
    });
  cacheRatio(
    'cohera_credential_cache_hit_ratio',
    'API-key cache hits / lookups since start',
    () => deps.apiKeys,
  );
  cacheRatio(
    'cohera_read_cache_hit_ratio',
    'Resource read-cache hits / lookups since start',
    () => deps.readCache,
  );
  new Gauge({
    name: 'cohera_audit_buffer_depth',
    help: 'Buffered audit events not yet written (failed authentications, rate-limit hits, API calls)',
    registers: [registry],
    collect() {
      this.set(deps.audit.bufferDepth);
    },
  });
  new Gauge({
    name: 'cohera_audit_events_dropped_total',
    help: 'Audit events dropped since start because the buffer was full (each also recorded as audit.events_dropped)',
    registers: [registry],
    collect() {
      this.set(deps.audit.droppedTotal);
    },
  });
  cacheRatio(
    'cohera_oauth_token_cache_hit_ratio',
    'OAuth access-token cache hits / lookups since start',
    () => deps.oauthTokens,
  );
  new Gauge({
    name: 'cohera_password_hashes_in_flight',
    help: 'Sign-in password hashes (argon2id) running now; at most COHERA_PASSWORD_HASH_CONCURRENCY',
    registers: [registry],
    collect() {
      this.set(deps.passwords.inFlight);
    },
  });
  new Gauge({
    name: 'cohera_password_hash_queue_depth',
    help: 'Sign-ins waiting for a password-hashing slot; at most COHERA_PASSWORD_HASH_QUEUE',
    registers: [registry],
    collect() {
      this.set(deps.passwords.queued);
    },
  });
  new Gauge({
    name: 'cohera_password_hashes_rejected_total',
    help: 'Sign-ins refused with 503 since start because the password-hashing queue was full',
    registers: [registry],
    collect() {
      this.set(deps.passwords.rejected);
    },
  });
  new Gauge({
    name: 'cohera_database_up',
    help: '1 while the database answers, 0 during an outage (requests that need it are answered 503)',
    registers: [registry],
    collect() {
      this.set(deps.database.availability.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cohera_redis_fallback',
    help: '1 while rate limits are enforced locally because Redis is unreachable',
    registers: [registry],
    collect() {
      this.set(deps.limiter instanceof RedisRateLimiter && deps.limiter.degraded ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cohera_invalidation_bus_up',
    help: '1 while invalidations from other nodes reach this one; 0 while credential caches use their short TTL',
    registers: [registry],
    collect() {
      this.set(deps.bus.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cohera_redis_fleet_nodes',
    help: 'Live nodes seen in the rate-limiter heartbeat (the divisor of the local fallback share)',
    registers: [registry],
    collect() {
      this.set(deps.limiter instanceof RedisRateLimiter ? deps.limiter.nodes : 1);
    },
  });
  registerWebhookMetrics(registry, deps.webhooks);
  return { registry, rateLimited, authFailures };
}

/** Webhook delivery (DESIGN §5.5): the fleet's due backlog, this node's attempts and delivery latency. */
function registerWebhookMetrics(registry: Registry, webhooks: AppDeps['webhooks']): void {
  new Gauge({
    name: 'cohera_webhook_queue_depth',
    help: 'Webhook deliveries due now and not yet delivered, on every node (enabled endpoints)',
    registers: [registry],
    async collect() {
      this.set(await webhooks.queueDepth());
    },
  });
  new Gauge({
    name: 'cohera_webhook_attempts_total',
    help: 'Webhook delivery attempts by this node since start, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      for (const [outcome, count] of Object.entries(webhooks.attempts)) this.set({ outcome }, count);
    },
  });
  // Same registry contract as the request histogram below (LatencyHistogram).
  registry.registerMetric(webhooks.deliveryLatency as unknown as Parameters<Registry['registerMetric']>[0]);
}

/**
 * Request metrics. Returns the per-response observer (called from the app's one onResponse hook). Routes are
 * labelled by their pattern (`/v1/certificates/:id`), never the raw URL.
 */
export function registerRequestMetrics(
  app: FastifyInstance,
  metrics: Metrics,
): (request: FastifyRequest, reply: FastifyReply) => void {
  const duration = new LatencyHistogram({
    name: 'cohera_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  // The registry only reads name/help/type/get() of a metric; LatencyHistogram provides exactly those.
  metrics.registry.registerMetric(duration as unknown as Parameters<Registry['registerMetric']>[0]);
  app.addHook('onError', (request, _reply, error, done) => {
    if (error instanceof ApiError) {
      if (error.status === 401) metrics.authFailures.inc({ code: error.code });
      else if (error.code === 'rate_limited')
        metrics.rateLimited.inc({ kind: request.auth ? 'org' : 'abuse' });
    }
    done();
  });
  // Series per route config (one object per route and method), then per method and status: found without
  // building the `method status route` key string on every response.
  let generation = duration.generation;
  let byRoute = new WeakMap<object, Map<string, Map<number, Series>>>();
  return (request, reply) => {
    const config = routeConfigOf(request);
    const method = request.method;
    const status = reply.statusCode;
    if (generation !== duration.generation) {
      generation = duration.generation;
      byRoute = new WeakMap();
    }
    let perRoute = byRoute.get(config);
    if (perRoute === undefined) {
      perRoute = new Map();
      byRoute.set(config, perRoute);
    }
    let perMethod = perRoute.get(method);
    if (perMethod === undefined) {
      perMethod = new Map();
      perRoute.set(method, perMethod);
    }
    let series = perMethod.get(status);
    if (series === undefined) {
      const route = config.url ?? 'unmatched';
      series = duration.series(`${method} ${status} ${route}`, () => ({
        method,
        route,
        status: String(status),
      }));
      perMethod.set(status, series);
    }
    duration.record(series, reply.elapsedTime / 1000);
  };
}

/** Constant-time check of the metrics bearer token. */
export function metricsTokenMatches(expected: string, header: string | undefined): boolean {
  const presented = header?.startsWith('Bearer ') ? header.slice(7) : '';
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * `GET /metrics` on the main port, only for a bearer of COHERA_METRICS_TOKEN (otherwise it does not exist).
 * A wrong token is a failed authentication of the client IP like any other (`failures`): past the limit the
 * IP gets 429 here and on every route, so the token cannot be guessed at speed. A request with no
 * Authorization header is not a guess and does not count, and neither does anything while metrics are off
 * (the route does not exist then, and a route that does not exist counts nothing).
 */
export function registerMetricsRoute(
  app: FastifyInstance,
  metrics: Metrics,
  token: string | null,
  failures: AuthFailureGuard,
): void {
  const notFound = () => new ApiError('route_not_found', `No route for GET /metrics`);
  app.get(
    '/metrics',
    { config: { access: { public: true } }, schema: { hide: true } },
    async (request, reply) => {
      const header = request.headers.authorization;
      if (token === null || header === undefined) throw notFound();
      // A blocked IP learns nothing, not even whether this guess was right.
      const blocked = failures.blocked(request.ip);
      if (blocked) throw blocked;
      if (!metricsTokenMatches(token, header)) {
        // Awaited, so the guess that reaches the limit blocks the very next request on this node.
        await failures.recordFailure(request.ip);
        throw notFound();
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
}

/** A separate listener for COHERA_METRICS_PORT, so scrapers need no token and the API port stays clean. */
export async function startMetricsServer(metrics: Metrics, host: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** The node's client connections (http/client-connections.ts), read at scrape time. */
export function registerConnectionMetrics(
  registry: Registry,
  connections: { readonly open: number; readonly shed: number; readonly idleClosed: number },
): void {
  new Gauge({
    name: 'cohera_http_connections',
    help: 'Client connections open on this node now; never above COHERA_MAX_CONNECTIONS',
    registers: [registry],
    collect() {
      this.set(connections.open);
    },
  });
  new Gauge({
    name: 'cohera_http_connections_shed_total',
    help: 'Client connections closed since start to stay within COHERA_MAX_CONNECTIONS; only grows',
    registers: [registry],
    collect() {
      this.set(connections.shed);
    },
  });
  new Gauge({
    name: 'cohera_http_connections_idle_closed_total',
    help: 'Client connections closed since start because nothing moved on them for COHERA_IDLE_TIMEOUT_SECONDS while a request was under way; only grows',
    registers: [registry],
    collect() {
      this.set(connections.idleClosed);
    },
  });
}
