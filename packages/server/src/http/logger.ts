/**
 * The pino logger. Redaction is the second line of defence: the code never logs a credential on purpose,
 * and these paths make sure a header, cookie or secret-bearing field that reaches a log is censored.
 * Output is JSON lines, or for a person at a terminal the same events rendered readably (prettyDestination).
 */

import { stripVTControlCharacters } from 'node:util';
import type { FastifyBaseLogger } from 'fastify';
import { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger, pino } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { Config, LogLevel } from '../config.ts';

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

/**
 * Where the server's own logs go: stdout as JSON lines (pino's default), or rendered for people. Tests and
 * tools that hand buildApp a destination get JSON there whatever the format.
 */
export function logDestination(
  config: Pick<Config, 'logFormat' | 'logColor'>,
): DestinationStream | undefined {
  return config.logFormat === 'pretty' ? prettyDestination(config.logColor) : undefined;
}

/**
 * One readable line per event on stdout: `[12:04:05] WARN: message {"key":"value"}`. A synchronous stream that
 * renders each line pino has already serialised, so redaction (in pino, before the stream) applies unchanged,
 * and nothing is lost when the process exits right after logging. pino-pretty's worker-thread transport is
 * not used: it would be asynchronous, and a second thread for a terminal's worth of lines is not worth it.
 */
export function prettyDestination(
  color: boolean,
  out: { write(text: string): unknown } = pino.destination({ dest: 1, sync: true }),
): DestinationStream {
  const render = prettyFactory({
    colorize: color,
    translateTime: 'SYS:HH:MM:ss',
    // Request lines carry these three; prettyMessage folds them into the message.
    ignore: 'pid,hostname,service,req,res,responseTime',
    singleLine: true,
    messageFormat: prettyMessage,
  });
  return { write: (line: string) => out.write(render(line)) };
}

/** Text from a request (its path) printed on a terminal: no escape sequences or control characters. */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  return stripVTControlCharacters(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/**
 * A request line reads `incoming request GET /v1/certificates from 127.0.0.1` and `request completed 200 in
 * 3 ms` instead of nested JSON. pino-pretty leaves a message-format function's output as it is, so control
 * characters are removed here.
 */
function prettyMessage(log: Record<string, unknown>, messageKey: string): string {
  const parts = [String(log[messageKey] ?? '')];
  const req = log.req as { method?: unknown; url?: unknown; remote_address?: unknown } | undefined;
  if (req && typeof req === 'object') {
    parts.push(`${req.method} ${req.url}`);
    if (req.remote_address) parts.push(`from ${req.remote_address}`);
  }
  const res = log.res as { statusCode?: unknown } | undefined;
  if (res && typeof res === 'object') parts.push(String(res.statusCode));
  if (typeof log.responseTime === 'number') parts.push(`in ${log.responseTime.toFixed(1)} ms`);
  return printable(parts.join(' '));
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
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  /** pino's own `child`, called on the parent when the real child is needed. */
  readonly #make: PinoChild;
  #child: Logger | null = null;

  constructor(parent: Logger, bindings: Bindings, options: ChildLoggerOptions, make: PinoChild) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
    this.#make = make;
  }

  get #real(): Logger {
    this.#child ??= this.#make.call(this.#parent, this.#bindings, this.#options);
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

/** pino's `child` method, as a function of its receiver. */
type PinoChild = (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;

/**
 * The logger to hand Fastify as `loggerInstance`: `logger` itself, except that the root logger Fastify makes
 * of it (once, at start: `loggerInstance.child({}, { serializers })`) makes a LazyChildLogger for each of its
 * own children, so Fastify's default child-logger factory makes a lazy child per request. The root is a real
 * pino child (`app.log`): its level is the request loggers' level, now and after a change. Loggers below a
 * request's real logger are pino's own children, so their bindings chain as pino's do.
 *
 * Not a custom `childLoggerFactory`, which would do the same with less code: Fastify checks every logger a
 * custom factory returns for seven methods (`validateLogger`, an array filter with a keyed read per method),
 * and skips the check only for its own factory. The check cost about 3,500 instructions a request, 3.5% of
 * an API-key request, more than the logger itself.
 */
export function withLazyRequestLoggers(logger: Logger): FastifyBaseLogger {
  const pinoChild = logger.child as unknown as PinoChild;
  const instance = Object.create(logger) as Logger;
  defineChild(instance, (bindings, options) => {
    const root = pinoChild.call(logger, bindings, options);
    defineChild(root, function childOf(this: Logger, childBindings, childOptions) {
      // Real loggers below the root inherit this method: only the root's own children are lazy.
      if (this !== root) return pinoChild.call(this, childBindings, childOptions);
      return new LazyChildLogger(root, childBindings, childOptions ?? {}, pinoChild);
    });
    return root;
  });
  return instance as unknown as FastifyBaseLogger;
}

/** Gives `logger` its own `child` method, in place of pino's (inherited from its prototype). */
function defineChild(
  logger: Logger,
  child: (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => unknown,
): void {
  Object.defineProperty(logger, 'child', { value: child, writable: true, configurable: true });
}
