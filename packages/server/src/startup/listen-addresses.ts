/**
 * Where the API listens. `COHERA_HOST=localhost` means both loopback addresses (127.0.0.1 and ::1, as
 * Fastify does): a client that resolves `localhost` to ::1 first must not find nothing there.
 *
 * Fastify binds the second address itself, but on a server of its own that nothing else sees: that
 * server's connections escaped the connection cap and the shutdown drain (http/client-connections.ts), and
 * its early errors got Node's bare answers instead of our 400/408 problems. So the app listens on the first
 * address (an IP, which Fastify binds alone), and each further one gets a server built here the way
 * Fastify builds its own (same handler, same timeouts), watched by the same ClientConnections (which also
 * closes its idle connections: like Fastify's, the server keeps Node's `server.timeout` at 0).
 */
import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { clientErrorHandler } from '../http/client-errors.ts';
import { type ClientLimits, serverTimeoutOptions } from '../http/client-limits.ts';

/** The addresses to listen on for `host`: itself, or for `localhost` every address it resolves to. */
export async function listenAddresses(host: string): Promise<string[]> {
  if (host !== 'localhost') return [host];
  try {
    const found = await lookup(host, { all: true });
    const addresses = [...new Set(found.map((entry) => entry.address))];
    return addresses.length > 0 ? addresses : [host];
  } catch {
    // No resolver answer: Node's own listen('localhost') reports what is wrong.
    return [host];
  }
}

/** Errors that mean this machine has no such address (no IPv6 loopback): nothing to report. */
const ABSENT = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT']);

/**
 * Listens on `address` too, on the port the app already listens on. Resolves with the server, or null
 * when the machine has no such address (an IPv6-less host); rejects on any other failure (the port is
 * taken on that address), which the caller reports. The caller closes it after the drain (closing it
 * earlier would end its idle kept-alive connections at once, the race the drain exists to avoid).
 */
export async function listenAlso(
  app: FastifyInstance,
  address: string,
  port: number,
  limits: ClientLimits,
): Promise<Server | null> {
  const options = serverTimeoutOptions(limits);
  const server = createServer(options.http, app.routing);
  server.keepAliveTimeout = options.keepAliveTimeout;
  server.requestTimeout = options.requestTimeout;
  server.on('clientError', clientErrorHandler);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: address }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    if (ABSENT.has((error as NodeJS.ErrnoException).code ?? '')) return null;
    throw error;
  }
  app.connections.watch(server);
  return server;
}
