/**
 * The JSON body parser: Fastify's own (secure-json-parse, refusing `__proto__` and `constructor.prototype`
 * keys, which would poison prototypes when a handler merges the body into an object), behind a nesting
 * bound. No Cohera body nests more than a few levels, but a 1 MiB body of `[[[[…` parses into a
 * structure a million levels deep, and every later recursive walk over it (validation, the NUL check,
 * JSON.stringify for a log line or a stored response) would overflow the stack: a 500, and an event
 * loop blocked for a quarter of a second per request, before any handler ran. A linear scan of the text
 * refuses it first, at the 65th level, in a fraction of what parsing costs (measured on Node 24: a
 * typical 200-byte body ~40 ns against ~800 ns for JSON.parse; 1 MiB of real JSON ~2 ms against ~7 ms).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';

/** The deepest nesting of arrays and objects a JSON body may have; `{"a": [1]}` nests 2 levels. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether JSON text nests arrays and objects deeper than `max`. One pass, no allocation: brackets inside
 * strings do not count, an escaped quote does not end a string. Text that is not JSON at all may get
 * either answer; the parser refuses it anyway.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  if (fewOpeners(text, max)) return false;
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

/**
 * The common case, cheaply: a body with at most `max` opening brackets in all cannot nest deeper than
 * `max`. `indexOf` for one character is much faster than a loop over every character (a typical 200-byte
 * body: ~40 ns instead of ~450 ns), and it stops counting at `max + 1`.
 */
function fewOpeners(text: string, max: number): boolean {
  let count = 0;
  for (const opener of ['[', '{']) {
    for (let i = text.indexOf(opener); i !== -1; i = text.indexOf(opener, i + 1)) {
      if (++count > max) return false;
    }
  }
  return true;
}

function bodyError(message: string): ApiError {
  return new ApiError('validation_failed', `body: ${message}`, { errors: [{ field: 'body', message }] });
}

/**
 * Replaces Fastify's `application/json` parser (its own options, `bodyLimit` included, stay in force) for
 * the whole app. Media types Fastify has no parser for (`text/plain`, `application/*+json`) stay a 415.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  // 'error' on both, as Fastify's defaults: a poisoning key is refused, never silently dropped.
  const parse = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (request: FastifyRequest, body: string | Buffer, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
        return done(bodyError(`the body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      }
      // Fastify's parser is synchronous; its type allows a promise, which `void` says we do not await.
      void parse(request, text, (error: Error | null, value?: unknown) => {
        if (error === null) return done(null, value);
        // Fastify says "not valid JSON" for both failures; a forbidden key in valid JSON deserves its name.
        if (text.length > 0 && isPlainJson(text)) {
          return done(
            bodyError('contains a forbidden key ("__proto__", or "prototype" inside "constructor")'),
            undefined,
          );
        }
        done(error, undefined);
      });
    },
  );
}

/** Only called for a body the secure parser refused: whether plain JSON.parse would have taken it. */
function isPlainJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
