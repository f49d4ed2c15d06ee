/**
 * The server process: build the app, listen, and shut down gracefully on SIGTERM/SIGINT (stop accepting,
 * finish in-flight requests, flush buffers and close pools through the app's onClose hooks).
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { startMetricsServer } from './metrics/registry.ts';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  stop(): Promise<void>;
}

/** How long in-flight requests get to finish before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function startServer(config: Readonly<Config>, options: { handleSignals?: boolean } = {}) {
  const app = await buildApp(config);
  if (config.masterKeySource === 'generated') {
    app.log.warn(
      { file: `${config.dataDir}/master.key` },
      'generated a new master key in the data dir; back it up, or set COHERA_MASTER_KEY',
    );
  }
  if (config.webhooksAllowPrivate) {
    app.log.warn(
      'COHERA_WEBHOOKS_ALLOW_PRIVATE=true: webhooks may use http:// and reach private and loopback addresses; for development and tests only',
    );
  }
  if (config.databaseUrl && !config.redisUrl) {
    app.log.warn(
      'PostgreSQL without COHERA_REDIS_URL: rate limits are counted per node, so a fleet of N nodes allows N× each limit',
    );
  }
  const url = await app.listen({ port: config.port, host: config.host });
  const metricsServer =
    config.metricsPort === null
      ? null
      : await startMetricsServer(app.metrics, config.host, config.metricsPort);
  app.log.info(
    {
      url,
      dashboard: `${config.publicUrl.replace(/\/+$/, '')}/dashboard/`,
      storage: app.deps.database.dialect,
      location: app.deps.database.location,
    },
    'cohera is ready',
  );

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= Promise.all([
      app.close(),
      new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve())),
    ]).then(() => undefined);
    return stopping;
  };
  if (options.handleSignals !== false) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        app.log.info({ signal }, 'shutting down');
        const timer = setTimeout(() => {
          app.log.error('graceful shutdown timed out; exiting');
          process.exit(1);
        }, SHUTDOWN_GRACE_MS);
        timer.unref();
        stop().then(
          () => process.exit(0),
          (error: unknown) => {
            app.log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      });
    }
  }
  return { app, url, stop } satisfies RunningServer;
}
