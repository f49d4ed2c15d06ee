/**
 * How long a client may take and how many connections one node holds (docs/operations.md#slow-clients-and-connections):
 * the settings, validated for config.ts, and the connection cap's default, derived from the process's limit
 * on open files. Without these bounds a client that sends one byte every few seconds holds a connection,
 * and with it a file descriptor, for as long as it likes: a thousand of them and the node can open no file,
 * database connection or socket of its own (EMFILE), so it answers nothing.
 */
import { readFileSync } from 'node:fs';

export interface ClientLimits {
  /** The whole request, headers and body, must arrive within this (Node's `server.requestTimeout`); else 408. */
  requestTimeoutMs: number;
  /** The headers must arrive within this (`server.headersTimeout`): from connecting, or a kept-alive request's first byte. */
  headersTimeoutMs: number;
  /** A kept-alive connection waiting for its next request is closed after this (`server.keepAliveTimeout`). */
  keepAliveTimeoutMs: number;
  /**
   * A connection on which nothing moves either way for this long while a request is under way is closed
   * (the idle sweep of http/client-connections.ts, every `idleCheckIntervalMs`; not Node's `server.timeout`).
   */
  idleTimeoutMs: number;
  /**
   * Client connections this node holds at once; one more makes room by closing the oldest connection that
   * is still sending its request or waiting idle, else it is refused (http/client-connections.ts).
   */
  maxConnections: number;
}

/** The settings this module reads; config.ts lists them among the known ones. */
export type ClientLimitSetting =
  | 'COHERA_REQUEST_TIMEOUT_SECONDS'
  | 'COHERA_HEADERS_TIMEOUT_SECONDS'
  | 'COHERA_KEEP_ALIVE_TIMEOUT_SECONDS'
  | 'COHERA_IDLE_TIMEOUT_SECONDS'
  | 'COHERA_MAX_CONNECTIONS';

/**
 * File descriptors kept back from client connections for the node's own use: the database (SQLite's three
 * files, or the PostgreSQL pool), Redis, webhook deliveries, the e-mail relay, the dashboard's files, the
 * metrics listener, logs and Node's own handles. At most a quarter of a small limit.
 */
export const RESERVED_DESCRIPTORS = 256;
/** COHERA_MAX_CONNECTIONS may not leave fewer descriptors than this to the node. */
const MIN_RESERVED_DESCRIPTORS = 64;
/** The default cap never exceeds this: each connection also costs memory (buffers, a parser). */
export const MAX_CONNECTIONS_CEILING = 16_384;
/** Assumed when the limit cannot be read (not Linux, or unlimited): the common `ulimit -n` default. */
const FALLBACK_OPEN_FILES = 1024;

/** The soft "Max open files" of /proc/self/limits (Node raises it to the hard limit at start), or null. */
export function openFilesLimit(limitsText: string | null = readProcLimits()): number | null {
  const match = limitsText && /^Max open files\s+(\d+|unlimited)\s/m.exec(limitsText);
  if (!match || match[1] === 'unlimited') return null;
  return Number(match[1]);
}

function readProcLimits(): string | null {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
}

/** The connection cap when COHERA_MAX_CONNECTIONS is unset: the open-files limit less the reserve. */
export function defaultMaxConnections(openFiles: number | null = openFilesLimit()): number {
  const limit = openFiles ?? FALLBACK_OPEN_FILES;
  const reserve = Math.max(
    Math.min(RESERVED_DESCRIPTORS, Math.floor(limit / 4)),
    Math.min(MIN_RESERVED_DESCRIPTORS, limit - 1),
  );
  return Math.max(1, Math.min(MAX_CONNECTIONS_CEILING, limit - reserve));
}

/**
 * Reads and validates the settings; each problem names its variable. `read` returns a setting's raw value
 * (config.ts's reader: `*_FILE` variants, empty means unset).
 */
export function parseClientLimits(
  read: (name: ClientLimitSetting) => string | undefined,
  problems: string[],
  openFiles: number | null = openFilesLimit(),
): ClientLimits {
  const whole = (
    name: ClientLimitSetting,
    fallback: number,
    min: number,
    max: number,
    unit: string,
    raw = read(name),
  ) => {
    if (raw === undefined) return fallback;
    if (!/^\d{1,7}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be a whole number of ${unit} from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return Number(raw);
  };
  // 30 s carries the largest body (1 MiB) at about 35 KB/s; a proxy in front that buffers bodies needs less.
  const request = whole('COHERA_REQUEST_TIMEOUT_SECONDS', 30, 1, 3600, 'seconds');
  const headers = whole('COHERA_HEADERS_TIMEOUT_SECONDS', 10, 1, 3600, 'seconds');
  if (headers > request) {
    problems.push(
      `COHERA_HEADERS_TIMEOUT_SECONDS (${headers}) must not exceed COHERA_REQUEST_TIMEOUT_SECONDS (${request}): the headers are part of the request`,
    );
  }
  // 72 s, above the 60 s idle timeout of common load balancers (AWS ALB): a balancer must never reuse a
  // connection this node has just closed.
  const keepAlive = whole('COHERA_KEEP_ALIVE_TIMEOUT_SECONDS', 72, 1, 3600, 'seconds');
  // Well above the longest a handler may work in silence (PostgreSQL queries give up after 15 s by default):
  // it closes stalled connections, such as a client that stops reading its answer, not slow answers.
  const idle = whole('COHERA_IDLE_TIMEOUT_SECONDS', 120, 1, 3600, 'seconds');
  const maxRaw = read('COHERA_MAX_CONNECTIONS');
  const explicit = maxRaw !== undefined;
  const maxConnections = whole(
    'COHERA_MAX_CONNECTIONS',
    defaultMaxConnections(openFiles),
    1,
    1_000_000,
    'connections',
    maxRaw,
  );
  if (explicit && openFiles !== null && maxConnections > openFiles - MIN_RESERVED_DESCRIPTORS) {
    problems.push(
      `COHERA_MAX_CONNECTIONS (${maxConnections}) would leave fewer than ${MIN_RESERVED_DESCRIPTORS} of this process's ${openFiles} file descriptors for its database, Redis and files: set at most ${openFiles - MIN_RESERVED_DESCRIPTORS} (unset, it is ${defaultMaxConnections(openFiles)}), or raise the limit (ulimit -n, systemd LimitNOFILE)`,
    );
  }
  return Object.freeze({
    requestTimeoutMs: request * 1000,
    headersTimeoutMs: headers * 1000,
    keepAliveTimeoutMs: keepAlive * 1000,
    idleTimeoutMs: idle * 1000,
    maxConnections,
  });
}

/**
 * How often Node checks connections against the request and headers timeouts: a tenth of the shorter,
 * from 250 ms to 5 s (Node's default, 30 s, would let a 10 s timeout run to 40 s).
 */
export function timeoutCheckIntervalMs(limits: ClientLimits): number {
  return tenthOf(Math.min(limits.requestTimeoutMs, limits.headersTimeoutMs));
}

/** How often a bound is checked, so how late it may act: a tenth of it, from 250 ms to 5 s. */
function tenthOf(boundMs: number): number {
  return Math.min(5000, Math.max(250, Math.floor(boundMs / 10)));
}

/**
 * How often ClientConnections looks for idle connections: a tenth of the idle bound, from 250 ms to 5 s.
 * A connection is closed from `idleMs` to about `idleMs` plus one interval after anything last moved on it
 * when the interval divides `idleMs` (every whole number of seconds up to 50, and every multiple of 5 s),
 * and within two intervals otherwise.
 */
export function idleCheckIntervalMs(idleMs: number): number {
  return tenthOf(idleMs);
}

/**
 * The limits as Fastify's options (its own, and those it passes on to `http.createServer`). Not the idle
 * bound: Node's `server.timeout` (Fastify's `connectionTimeout`) refreshes a timer on every read and write
 * of every socket; ClientConnections sweeps for idle connections instead, and `server.timeout` stays 0.
 */
export function serverTimeoutOptions(limits: ClientLimits) {
  return {
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: timeoutCheckIntervalMs(limits),
    },
  };
}
