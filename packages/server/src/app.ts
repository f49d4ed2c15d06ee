/**
 * buildApp: composes the server from its parts without listening, so tests use `inject()` and a real
 * listener alike. The order of hooks is the request pipeline of DESIGN §2:
 *   request id → authenticate → (rate limit) → scope guard → validation → route
 */
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import type { AppDeps } from './app-deps.ts';
import { CallMetadataMemo, credentialOf } from './audit/call-metadata.ts';
import { AuditLog, actorOf, requestOf, userAgentOf } from './audit/log.ts';
import { auditRoutes } from './audit/routes.ts';
import { apiKeyRoutes } from './auth/api-keys/routes.ts';
import { ApiKeyVerifier, type ApiKeyVerifierOptions } from './auth/api-keys/verifier.ts';
import { createAuthenticationStep } from './auth/authenticate.ts';
import type { AuthContext, RouteAccess } from './auth/context.ts';
import { oauthAuthorizationRoutes } from './auth/oauth/authorization-routes.ts';
import { oauthClientRoutes } from './auth/oauth/client-routes.ts';
import { registerOAuthEndpoints } from './auth/oauth/endpoints.ts';
import { interactionRoutes } from './auth/oauth/interaction-routes.ts';
import { OAuthServer } from './auth/oauth/provider.ts';
import { OAuthTokenVerifier } from './auth/oauth/token-verifier.ts';
import { serviceAccountRoutes } from './auth/service-accounts/routes.ts';
import { ServiceAccountVerifier } from './auth/service-accounts/verifier.ts';
import { sessionRoutes } from './auth/sessions/routes.ts';
import { CsrfTokens } from './auth/sessions/store.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { EmailSender } from './email/sender.ts';
import { ClientConnections, type DrainResult } from './http/client-connections.ts';
import { clientErrorHandler } from './http/client-errors.ts';
import { serverTimeoutOptions } from './http/client-limits.ts';
import { frameworkErrorHandler, registerErrorHandling } from './http/errors.ts';
import { registerJsonBodyParser } from './http/json-body.ts';
import { createLogger, logDestination, withLazyRequestLoggers } from './http/logger.ts';
import { openApiOptions, openApiRoutes } from './http/openapi.ts';
import { registerPipeline, routeConfigOf } from './http/pipeline.ts';
import { requestIdOf } from './http/request-id.ts';
import { registerValidation } from './http/validation.ts';
import { registerIdempotency } from './idempotency/hooks.ts';
import { idempotencyLeaseMs } from './idempotency/lease.ts';
import { leakRoutes } from './leaks/routes.ts';
import { LeakWorker } from './leaks/worker.ts';
import {
  createMetrics,
  type Metrics,
  registerConnectionMetrics,
  registerMetricsRoute,
  registerRequestMetrics,
} from './metrics/registry.ts';
import { organizationRoutes } from './orgs/routes.ts';
import { type AbuseLimits, AuthFailureGuard, LoginThrottle } from './ratelimit/abuse.ts';
import { daySeedFromUsage } from './ratelimit/day-seed.ts';
import { createRateLimitStep } from './ratelimit/hook.ts';
import type { RateLimiter } from './ratelimit/limiter.ts';
import { MemoryRateLimiter } from './ratelimit/memory-limiter.ts';
import { OrgLimitCache } from './ratelimit/org-limits.ts';
import { RedisRateLimiter } from './ratelimit/redis-limiter.ts';
import type { DaySeedSource } from './ratelimit/redis-reseed.ts';
import { certificateRoutes } from './resources/certificates/routes.ts';
import { productRoutes } from './resources/products/routes.ts';
import { ResourceReadCache } from './resources/read-cache.ts';
import { supplierRoutes } from './resources/suppliers/routes.ts';
import { securityReportRoutes } from './security/routes.ts';
import { settlesWithin } from './settles-within.ts';
import { CredentialFreshness } from './state/credential-freshness.ts';
import { FanOutInvalidationBus } from './state/fan-out-bus.ts';
import { type InvalidationBus, MemoryInvalidationBus } from './state/invalidation-bus.ts';
import { PostgresInvalidationBus } from './state/postgres-invalidation-bus.ts';
import { RedisInvalidationBus } from './state/redis-invalidation-bus.ts';
import { type Database, openDatabase } from './storage/database.ts';
import { healthRoutes } from './system/health.ts';
import { readyRoutes } from './system/ready.ts';
import { invitationAcceptRoutes } from './team/accept-routes.ts';
import { invitationRoutes } from './team/invitations-routes.ts';
import { memberRoutes } from './team/members-routes.ts';
import { UsageRecorder } from './usage/recorder.ts';
import { usageRoutes } from './usage/routes.ts';
import { PasswordHasher } from './users/password-hasher.ts';
import { WebhookDispatcher } from './webhooks/delivery/dispatcher.ts';
import { webhookDeliveryRoutes } from './webhooks/delivery-routes.ts';
import { RateLimitEvents } from './webhooks/rate-limit-events.ts';
import { startWebhookPurge } from './webhooks/retention.ts';
import { webhookEndpointRoutes } from './webhooks/routes.ts';
import { WebhookScheduler } from './webhooks/scheduler.ts';

export interface BuildOptions {
  clock?: Clock;
  /** Where logs go (tests capture them); defaults to stdout. */
  logDestination?: DestinationStream;
  logger?: Logger;
  /** An already-open database (tests share one across apps to play several nodes). */
  database?: Database;
  apiKeyCache?: ApiKeyVerifierOptions;
  /** A bus shared between apps in one process (tests playing several nodes); default from config. */
  bus?: InvalidationBus;
  /** How often usage counters are written (default 5 s). */
  usageFlushMs?: number;
  /** A limiter shared between apps in one process (tests playing several nodes); default from config. */
  limiter?: RateLimiter;
  abuseLimits?: AbuseLimits;
  /** The built dashboard to serve at /dashboard/ (default packages/dashboard/dist). */
  dashboardDir?: string;
}

function createRateLimiter(config: Readonly<Config>, logger: Logger, daySeed: DaySeedSource): RateLimiter {
  if (config.redisUrl)
    return new RedisRateLimiter({
      url: config.redisUrl,
      prefix: config.redisPrefix,
      log: logger,
      commandTimeoutMs: config.redisCommandTimeoutMs,
      daySeed,
    });
  return new MemoryRateLimiter();
}

/** How long start-up waits for the invalidation bus before serving without it. */
export const BUS_START_WAIT_MS = 3_000;

/** The bus the configuration names (also used by operator commands that must reach running nodes). */
export function createInvalidationBus(
  config: Readonly<Config>,
  database: Database,
  logger: Logger,
): InvalidationBus {
  const postgres =
    database.dialect === 'postgres' && config.databaseUrl
      ? new PostgresInvalidationBus(config.databaseUrl, database.db, logger, {
          connectTimeoutMs: config.databasePool.connectTimeoutMs,
        })
      : null;
  if (config.redisUrl) {
    const redis = new RedisInvalidationBus(config.redisUrl, config.redisPrefix, logger, {
      timeoutMs: config.redisCommandTimeoutMs,
    });
    // Both on a fleet that has both: a second path for every message (state/fan-out-bus.ts).
    if (!postgres) return redis;
    return new FanOutInvalidationBus([redis, postgres], (error) =>
      logger.error({ err: error }, 'invalidation handler failed'),
    );
  }
  if (postgres) return postgres;
  return new MemoryInvalidationBus((error) => logger.error({ err: error }, 'invalidation handler failed'));
}

/** One entry per registered route: what the route-table test checks. */
export interface RouteEntry {
  method: string;
  url: string;
  access: RouteAccess | undefined;
  /** The fields of its answer that hold a shown-once secret (idempotency/shown-once.ts). */
  secretFields: readonly string[] | undefined;
  /** Its response schemas by status, as declared (the shown-once test reads their field names). */
  response: unknown;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
    routeTable: RouteEntry[];
    metrics: Metrics;
    /**
     * The client connections of this node: the cap (COHERA_MAX_CONNECTIONS), the idle bound
     * (COHERA_IDLE_TIMEOUT_SECONDS) and the shutdown drain.
     */
    connections: ClientConnections;
    /**
     * Graceful shutdown, before close(): new requests get 503 with `Connection: close`, each open
     * connection closes after its last answer or once idle, and what is still busy at the deadline is
     * destroyed (http/client-connections.ts). Resolves when no client connection is left.
     */
    drainConnections(deadlineMs: number): Promise<DrainResult>;
  }
}

export const BODY_LIMIT = 1024 * 1024;
/**
 * During a shutdown drain, a connection on which no request arrives for this long is closed. A client
 * sending requests one after another uses its connection again well within it, and gets an answer.
 */
const DRAIN_IDLE_MS = 2000;

/** Methods that change nothing: not recorded as API calls under COHERA_AUDIT_API_CALLS=writes. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export async function buildApp(
  config: Readonly<Config>,
  options: BuildOptions = {},
): Promise<FastifyInstance> {
  const clock = options.clock ?? systemClock;
  const logger =
    options.logger ?? createLogger(config.logLevel, options.logDestination ?? logDestination(config));
  const database =
    options.database ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      databasePool: config.databasePool,
      dataDir: config.dataDir,
      log: logger,
      masterKey: config.masterKey,
    }));
  const ownsDatabase = options.database === undefined;

  const app = Fastify({
    // Lazy per-request loggers through Fastify's own child factory (logger.ts says why not a custom one).
    loggerInstance: withLazyRequestLoggers(logger),
    genReqId: requestIdOf,
    requestIdHeader: false,
    logController: new LogController({
      requestIdLogLabel: 'request_id',
      // Fastify's "incoming request"/"request completed" lines are info-level: below info they are never
      // written, yet each costs two logger calls per request. Off unless the level would show them.
      disableRequestLogging: !logger.isLevelEnabled('info'),
    }),
    bodyLimit: BODY_LIMIT,
    return503OnClosing: false,
    // Slow clients: request, header, keep-alive and idle timeouts (http/client-limits.ts).
    ...serverTimeoutOptions(config.clientLimits),
    clientErrorHandler,
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (
            (hops: number) => (_address: string, hop: number) =>
              hop < hops
          )(config.trustProxy)
        : config.trustProxy,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors: frameworkErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // All bodies are JSON (DESIGN §4); Fastify's default text/plain parser would let a text body reach
  // validation as a string (a 400) instead of being refused as the wrong media type (a 415).
  app.removeContentTypeParser('text/plain');
  // Fastify's JSON parser behind a nesting bound: a deep body is a 400 before anything walks it.
  registerJsonBodyParser(app);

  const bus = options.bus ?? createInvalidationBus(config, database, logger);
  // Credential caches trust an entry 30 s while the bus delivers, 2 s while it does not.
  const freshness = new CredentialFreshness().follow(bus);
  const audit = new AuditLog(database.db, config.masterKey, clock, logger, {
    digestIntervalMs: config.auditDigestIntervalSeconds * 1000,
    digestSink: config.auditDigestSink,
  });
  const limiter = options.limiter ?? createRateLimiter(config, logger, daySeedFromUsage(database.db, clock));
  const deps: AppDeps = {
    config,
    database,
    db: database.db,
    clock,
    apiKeys: new ApiKeyVerifier(database.db, clock, {
      // Its own TTLs while the bus delivers; capped at the short bound while it does not.
      freshness: new CredentialFreshness(Number.POSITIVE_INFINITY).follow(bus),
      ...options.apiKeyCache,
    }),
    serviceAccounts: new ServiceAccountVerifier(database.db, clock, {
      issuer: config.issuer,
      audience: config.audience,
      freshness,
    }),
    oauthTokens: new OAuthTokenVerifier(database.db, clock, {
      issuer: config.publicUrl,
      audience: config.audience,
      freshness,
    }),
    oauth: await OAuthServer.create({
      db: database.db,
      clock,
      config,
      bus,
      log: logger,
      audit,
      availability: database.availability,
    }),
    csrf: new CsrfTokens(config.masterKey),
    bus,
    usage: new UsageRecorder(database.db, clock, logger),
    audit,
    limiter,
    orgLimits: new OrgLimitCache(database.db, clock),
    loginThrottle: new LoginThrottle(limiter, clock, options.abuseLimits),
    passwords: new PasswordHasher({
      concurrency: config.passwordHashConcurrency,
      queueLimit: config.passwordHashQueue,
    }),
    authFailures: new AuthFailureGuard(limiter, clock, options.abuseLimits),
    readCache: new ResourceReadCache(),
    webhooks: new WebhookDispatcher({ db: database.db, clock, config, log: logger, audit }),
    email: new EmailSender({
      db: database.db,
      clock,
      log: logger,
      smtpUrl: config.smtpUrl,
      from: config.smtpFrom,
    }),
  };
  const serviceAccounts = deps.serviceAccounts;
  bus.subscribe((message) => {
    deps.apiKeys.apply(message);
    serviceAccounts.apply(message);
    deps.oauthTokens.apply(message);
    deps.readCache.apply(message);
    if (message.kind === 'org') deps.orgLimits.invalidate(message.orgId);
    if (message.kind === 'all') deps.orgLimits.clear();
  });
  // Bounded: a node started while Redis (or the LISTEN connection) is down serves anyway, as one whose bus
  // went down later does. The bus counts itself unhealthy until it connects, so credential caches use their
  // short recheck bound meanwhile (state/credential-freshness.ts), and it clears them when it connects.
  if (!(await settlesWithin(bus.ready(), BUS_START_WAIT_MS))) {
    logger.warn(
      { transport: bus.transport, waited_ms: BUS_START_WAIT_MS },
      'invalidation bus not connected yet: serving anyway; credential caches use their short TTL until it is',
    );
  }
  deps.usage.start(options.usageFlushMs);
  deps.audit.start(config.auditRetentionDays);
  deps.webhooks.start();
  deps.email.start();
  // Time-based webhook events (certificate and API key expiry): every node scans, the outbox dedupes.
  const webhookScheduler = new WebhookScheduler({
    db: database.db,
    clock,
    log: logger,
    intervalSeconds: config.webhookSchedulerIntervalSeconds,
    wake: () => deps.webhooks.wake(),
    lastUseOf: (id, stored) => deps.usage.lastUseOf(id, stored),
  });
  webhookScheduler.start();
  const webhookPurge = startWebhookPurge(database.db, clock, logger);
  // Handles what POST /v1/credentials/revoke queues (leaks/worker.ts): every node polls the shared queue.
  const leakWorker = new LeakWorker({
    db: database.db,
    clock,
    audit,
    bus,
    webhooks: deps.webhooks,
    log: logger,
  });
  leakWorker.start();
  const rateLimitEvents = new RateLimitEvents({
    db: database.db,
    log: logger,
    wake: () => deps.webhooks.wake(),
  });
  app.decorate('deps', deps);
  app.decorate('routeTable', [] as RouteEntry[]);

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      app.routeTable.push({
        method,
        url: route.url,
        access: route.config?.access,
        secretFields: route.config?.secretFields,
        response: route.schema?.response,
      });
    }
  });

  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  const connections = new ClientConnections(app.server, config.clientLimits.maxConnections, {
    idleMs: config.clientLimits.idleTimeoutMs,
  });
  app.decorate('connections', connections);
  app.decorate('drainConnections', (deadlineMs: number) => {
    closing = true;
    // A connection idle this long since the drain began is not in use; never longer than the keep-alive
    // timeout its client was told, after which well-behaved clients drop it themselves.
    const idleMs = Math.min(DRAIN_IDLE_MS, config.clientLimits.keepAliveTimeoutMs);
    return connections.drain({ idleMs, deadlineMs });
  });
  // A request that failed for want of its database is a 503; the availability probes and logs the outage.
  registerErrorHandling(app, { onDatabaseUnavailable: (error) => database.availability.suspect(error) });
  registerValidation(app);
  // After registerValidation: its onRoute hook puts the NUL check first, this one puts the key's claim
  // before it, so a claimed request's validation errors are stored and replayed like any other answer.
  const idempotency = registerIdempotency(app, {
    db: deps.db,
    masterKey: config.masterKey,
    clock,
    log: app.log,
    leaseMs: idempotencyLeaseMs(config.clientLimits.requestTimeoutMs),
  });
  await app.register(swagger, openApiOptions(config));

  registerPipeline(app, {
    authenticate: createAuthenticationStep({
      db: deps.db,
      clock,
      apiKeys: deps.apiKeys,
      csrf: deps.csrf,
      failures: deps.authFailures,
      audit,
      // OAuth tokens first: they are recognised by their header's key id; any other JWT is a service account's.
      bearerVerifiers: [deps.oauthTokens, serviceAccounts],
    }),
    rateLimit: createRateLimitStep({
      limiter,
      orgLimits: deps.orgLimits,
      clock,
      onLimited: (request) => {
        const auth = request.auth;
        if (!auth) return;
        audit.enqueue({
          orgId: auth.orgId,
          actor: actorOf(auth),
          action: 'rate_limit.exceeded',
          result: 'failure',
          metadata: {
            method: request.method,
            // The route's pattern from its config: `request.routeOptions` builds a frozen object per call.
            route: routeConfigOf(request).url ?? null,
            mode: auth.mode,
            ...credentialOf(auth),
          },
          request: requestOf(request),
        });
        // `rate_limit.exceeded` is about the org's API budget; a dashboard session's own is not part of it.
        if (auth.via !== 'session') rateLimitEvents.report(auth, request.rateLimit, clock.now());
      },
    }),
    closing: () => closing,
    clock,
  });
  const metrics = createMetrics(deps);
  registerConnectionMetrics(metrics.registry, connections);
  app.decorate('metrics', metrics);
  const observe = registerRequestMetrics(app, metrics);
  registerMetricsRoute(app, metrics, config.metricsToken, deps.authFailures);

  await app.register(healthRoutes);
  await app.register(readyRoutes(database.availability));
  await app.register(openApiRoutes);
  await app.register(sessionRoutes(deps));
  await app.register(apiKeyRoutes(deps));
  await app.register(organizationRoutes(deps));
  await app.register(memberRoutes(deps));
  await app.register(invitationRoutes(deps));
  await app.register(invitationAcceptRoutes(deps));
  await app.register(serviceAccountRoutes(deps));
  await app.register(auditRoutes(deps));
  await app.register(oauthClientRoutes(deps, deps.oauth));
  await app.register(oauthAuthorizationRoutes(deps, deps.oauth));
  await app.register(interactionRoutes(deps, deps.oauth));
  registerOAuthEndpoints(app, deps, deps.oauth, observe);
  deps.oauth.start();
  await app.register(supplierRoutes(deps));
  await app.register(productRoutes(deps));
  await app.register(certificateRoutes(deps));
  await app.register(securityReportRoutes(deps));
  await app.register(usageRoutes(deps));
  await app.register(webhookEndpointRoutes(deps));
  await app.register(webhookDeliveryRoutes(deps));
  await app.register(leakRoutes(deps));
  await app.register(dashboardRoutes(options.dashboardDir ? { dir: options.dashboardDir } : {}));

  const auditCalls = config.auditApiCalls;
  const callMetadata = new CallMetadataMemo();
  /**
   * Usage and, under COHERA_AUDIT_API_CALLS, the call's audit event, for an authenticated request. The
   * route's config and the clock reading come from the pipeline (read once per request).
   */
  const account = (request: FastifyRequest, auth: AuthContext, status: number): void => {
    // Read once: Fastify's getter walks to the socket's address on every read.
    const ip = request.ip;
    if (auth.principal.kind === 'api_key') {
      const { access } = routeConfigOf(request);
      const scope = status < 400 && access && 'scope' in access ? access.scope : null;
      deps.usage.recordApiKeyResponse(auth, status, ip, scope, request.receivedAt || clock.now());
    } else {
      deps.usage.recordOrg(auth.orgId, auth.mode, status);
      if (auth.credentialId) deps.usage.recordLastUse(auth.credentialId, auth.orgId);
    }
    if (auditCalls !== 'none' && (auditCalls === 'all' || !READ_METHODS.has(request.method))) {
      // The route's pattern from its config: `request.routeOptions` builds a frozen object per call.
      const config = routeConfigOf(request);
      audit.enqueueCall(
        auth.orgId,
        auth.principal,
        status < 400 ? 'success' : 'failure',
        callMetadata.of(auth, config, config.url ?? null, request.method, status),
        ip,
        userAgentOf(request),
        request.id,
      );
    }
  };

  // After the response is sent, off the request path: usage (one Map update), the audit event and latency
  // metrics. One hook for all, since every hook is a dispatch per request.
  app.addHook('onResponse', (request, reply, done) => {
    const auth = request.auth;
    if (auth) account(request, auth, reply.statusCode);
    observe(request, reply);
    done();
  });

  app.addHook('onClose', async () => {
    connections.stop();
    deps.oauth.stop();
    // Stop producing time-based and rate-limit events before deliveries stop.
    await webhookScheduler.stop();
    await webhookPurge.stop();
    await leakWorker.stop();
    await rateLimitEvents.settle();
    // Before the audit log's last flush and the database: attempts in flight record their results.
    await deps.webhooks
      .stop()
      .catch((error: unknown) => app.log.error({ err: error }, 'stopping webhook deliveries failed'));
    await idempotency.close();
    await deps.email
      .stop()
      .catch((error: unknown) => app.log.error({ err: error }, 'stopping the e-mail sender failed'));
    await deps.usage
      .stop()
      .catch((error: unknown) => app.log.error({ err: error }, 'final usage flush failed'));
    await deps.audit
      .stop()
      .catch((error: unknown) => app.log.error({ err: error }, 'final audit flush failed'));
    if (options.bus === undefined) await bus.close();
    if (options.limiter === undefined) await limiter.close();
    if (ownsDatabase) await database.destroy();
  });
  return app;
}
