/**
 * The server process: build the app, listen, say where it is (a banner on a terminal, a 'cohera is ready'
 * line otherwise), and shut down gracefully on SIGTERM/SIGINT (stop accepting, answer every request that
 * reached the node and close each connection once done with, then flush buffers and close pools through the
 * app's onClose hooks). A port it cannot listen on is a ListenError that names the setting to change; the
 * app is closed before it is thrown.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { startMetricsServer } from './metrics/registry.ts';
import { renderBanner } from './startup/banner.ts';
import { listenAddresses, listenAlso } from './startup/listen-addresses.ts';
import { type Listener, listenError } from './startup/listen-error.ts';
import { gatherReadyFacts, readyLogFields } from './startup/ready-facts.ts';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  stop(): Promise<void>;
}

/** How long in-flight requests get to finish before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;
/** Connections still busy this long after the signal are cut off, leaving time to flush and close. */
const DRAIN_DEADLINE_MS = SHUTDOWN_GRACE_MS - 2_000;

export interface StartOptions {
  /** Exit gracefully on SIGTERM/SIGINT (default true). */
  handleSignals?: boolean;
}

/** Rejects with a ListenError (or the original error, when it is not about the address). */
async function listening<T>(attempt: Promise<T>, listener: Listener): Promise<T> {
  try {
    return await attempt;
  } catch (error) {
    throw listenError(error, listener) ?? error;
  }
}

function httpUrl(address: AddressInfo, path: string): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}${path}`;
}

export async function startServer(config: Readonly<Config>, options: StartOptions = {}) {
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
  let url: string;
  let metricsServer: Server | null = null;
  /** Servers of the further addresses of COHERA_HOST=localhost (startup/listen-addresses.ts). */
  const alsoServers: Server[] = [];
  const closeAlso = () =>
    Promise.all(alsoServers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  try {
    const [first = config.host, ...further] = await listenAddresses(config.host);
    url = await listening(app.listen({ port: config.port, host: first }), {
      setting: 'COHERA_PORT',
      host: config.host,
      port: config.port,
    });
    const { port } = app.server.address() as AddressInfo;
    for (const address of further) {
      const server = await listening(listenAlso(app, address, port, config.clientLimits), {
        setting: 'COHERA_PORT',
        host: address,
        port,
      });
      if (server) alsoServers.push(server);
    }
    if (config.metricsPort !== null) {
      metricsServer = await listening(startMetricsServer(app.metrics, config.host, config.metricsPort), {
        setting: 'COHERA_METRICS_PORT',
        host: config.host,
        port: config.metricsPort,
      });
    }
  } catch (error) {
    // Flush the audit log and close the database (onClose hooks): the caller reports the error and exits.
    await closeAlso();
    await app
      .close()
      .catch((closing: unknown) => app.log.error({ err: closing }, 'closing after a failed start failed'));
    throw error;
  }
  let stopping: Promise<void> | null = null;
  const metrics = metricsServer;
  const stop = () => {
    // Drain before close (http/client-connections.ts): every request that reached the node is answered and
    // no kept-alive connection is reset; close() then flushes buffers and closes pools.
    stopping ??= app
      .drainConnections(DRAIN_DEADLINE_MS)
      .then((drained) => {
        app.log.info(drained, 'connections drained');
        return Promise.all([
          app.close(),
          closeAlso(),
          new Promise<void>((resolve) => (metrics ? metrics.close(() => resolve()) : resolve())),
        ]);
      })
      .then(() => undefined);
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
  // Announced only once the signal handlers are in place: whoever reads "ready" (a person, a supervisor, a
  // test) and stops the server at once gets a graceful shutdown, not the default signal action.
  const facts = await gatherReadyFacts({
    config,
    db: app.deps.database.db,
    dialect: app.deps.database.dialect,
    sqliteFile: app.deps.database.location,
    url,
    metricsUrl: metricsServer ? httpUrl(metricsServer.address() as AddressInfo, '/metrics') : null,
    cwd: process.cwd(),
  });
  if (config.logFormat === 'pretty') {
    // On stdout, where the pretty log lines go too (both synchronously, so they stay in order).
    process.stdout.write(renderBanner(facts, config.logColor));
  } else {
    app.log.info(readyLogFields(facts), 'cohera is ready');
  }
  return { app, url, stop } satisfies RunningServer;
}
