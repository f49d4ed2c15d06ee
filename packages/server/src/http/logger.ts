/**
 * The pino logger. Redaction is the second line of defence: the code never logs a credential on purpose,
 * and these paths make sure a header, cookie or secret-bearing field that reaches a log is censored.
 */

import type { FastifyBaseLogger } from 'fastify';
import { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from '../config.ts';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.api_key',
  '*.key',
  '*.client_secret',
  '*.private_key',
  '*.secret',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  'password',
  'api_key',
  'client_secret',
  'private_key',
  'secret',
  'token',
];

/**
 * Requests are logged without their query string: credentials never belong there, but a client that puts one
 * there anyway (`?api_key=…`) must not have it written to our logs.
 */
function serializeRequest(request: { method?: string; url?: string; ip?: string }) {
  return { method: request.method, url: request.url?.split('?')[0], remote_address: request.ip };
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      serializers: { req: serializeRequest },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'cohera' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * A request logger that becomes a real pino child only when something is logged at an enabled level.
 * Fastify makes a child logger per request, and a pino child with redaction costs several percent of a
 * request that logs nothing (the common case at `warn`). Behaviour is identical once it logs.
 */
class LazyChildLogger {
  readonly #parent: Logger;
  readonly #bindings: Record<string, unknown>;
  readonly #options: Record<string, unknown>;
  #child: Logger | null = null;

  constructor(parent: Logger, bindings: Record<string, unknown>, options: Record<string, unknown>) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  get #real(): Logger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options);
    return this.#child;
  }

  get level(): string {
    return this.#child?.level ?? this.#parent.level;
  }

  set level(level: string) {
    this.#real.level = level;
  }

  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): Logger {
    return this.#real.child(bindings, options);
  }

  silent(): void {}

  static {
    for (const level of LEVELS) {
      Object.defineProperty(LazyChildLogger.prototype, level, {
        value(this: LazyChildLogger, ...args: unknown[]) {
          if (!this.#parent.isLevelEnabled(level)) return;
          (this.#real[level] as (...a: unknown[]) => void)(...args);
        },
      });
    }
  }
}

/** Fastify's `childLoggerFactory`: a lazy child per request (see LazyChildLogger). */
export function lazyChildLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  // The class implements every method Fastify's logger interface has; its level methods are defined in the
  // static block, which TypeScript cannot see.
  return new LazyChildLogger(
    logger as Logger,
    bindings,
    options as Record<string, unknown>,
  ) as unknown as FastifyBaseLogger;
}
