/**
 * The pino logger. Redaction is the second line of defence: the code never logs a credential on purpose,
 * and these paths make sure a header, cookie or secret-bearing field that reaches a log is censored.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
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
