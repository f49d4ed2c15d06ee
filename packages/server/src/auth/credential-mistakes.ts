/**
 * The usual ways a credential goes wrong on its way to us, each answered with what to do about it rather
 * than a bare "invalid": an empty variable (`Bearer ` and nothing), whitespace read from a file with the
 * key, quotes kept from a `.env` file, a key that lost or changed a character, and a key put in the URL.
 * No message ever repeats the credential or any part of it: lengths and the kind of mistake only.
 */
import { API_KEY_LENGTH, API_KEY_PATTERN, looksLikeApiKey } from '@cohera/shared';
import type { FastifyRequest } from 'fastify';
import { ApiError, invalidField } from '../http/errors.ts';

export const MAX_CREDENTIAL_LENGTH = 8192;

const SCHEME = /^Bearer(?=\s|$)/i;
const PRINTABLE = /^[\x21-\x7e]+$/;
const WHITESPACE = /\s/;

const WHITESPACE_NAMES: Record<string, string> = {
  ' ': 'a space',
  '\t': 'a tab',
  '\n': 'a newline',
  '\r': 'a carriage return',
  '\u00a0': 'a non-breaking space',
};

function whitespaceName(char: string): string {
  return (
    WHITESPACE_NAMES[char] ??
    `a whitespace character (U+${char.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')})`
  );
}

const malformedHeader = (hint = '') =>
  new ApiError('invalid_credential', `The Authorization header must be "Bearer <credential>"${hint}`);

/**
 * The credential of an `Authorization: Bearer …` header, or null when there is no such header. Throws the
 * problem that names the mistake: nothing after `Bearer` (a `missing_credential`: nothing was presented),
 * whitespace around or inside the credential, quotes, characters no credential has.
 */
export function bearerCredential(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header === undefined) return null;
  if (header.length > MAX_CREDENTIAL_LENGTH + 7)
    throw new ApiError('invalid_credential', 'The credential is too long');
  if (!SCHEME.test(header)) {
    throw malformedHeader(looksLikeApiKey(header.trim()) ? ': put "Bearer " before the key' : '');
  }
  const rest = header.slice('Bearer'.length);
  if (rest.trim() === '') {
    // HTTP parsers drop trailing whitespace, so `Bearer $COHERA_API_KEY` with the variable unset arrives
    // as a bare `Bearer`: say so, instead of asking for a credential the client believes it sent.
    throw new ApiError(
      'missing_credential',
      'The Authorization header says "Bearer" but no credential follows it: the variable meant to hold ' +
        'the key (e.g. COHERA_API_KEY) is probably empty or unset',
    );
  }
  const credential = rest.slice(1);
  const first = rest[0] === ' ' ? credential[0] : rest[0];
  if (first !== undefined && WHITESPACE.test(first)) {
    throw new ApiError(
      'invalid_credential',
      `The credential starts with ${whitespaceName(first)}: send exactly one space between "Bearer" and the credential`,
    );
  }
  const last = credential.at(-1);
  if (last !== undefined && WHITESPACE.test(last)) {
    throw new ApiError(
      'invalid_credential',
      `The credential ends with ${whitespaceName(last)}, probably read from a file with the key: trim it before sending`,
    );
  }
  const inner = WHITESPACE.exec(credential);
  if (inner) {
    throw new ApiError(
      'invalid_credential',
      `The credential contains ${whitespaceName(inner[0])}: send one credential, without spaces or line breaks`,
    );
  }
  if (/^["'`\u2018\u2019\u201c\u201d]|["'`\u2018\u2019\u201c\u201d]$/.test(credential)) {
    throw new ApiError(
      'invalid_credential',
      'The credential is wrapped in quotes (kept from a .env file or a copied snippet?): send it without them',
    );
  }
  if (!PRINTABLE.test(credential)) {
    throw new ApiError(
      'invalid_credential',
      'The credential contains characters no Cohera credential has (outside printable ASCII): copy it again',
    );
  }
  return credential;
}

/**
 * Why a `ck_…` credential failed its offline check (DESIGN §3: the checksum catches a changed or lost
 * character before any lookup). Called only once the key verifier refused the shape, so the hot path of a
 * cached key pays nothing for it.
 */
export function malformedApiKey(key: string): ApiError {
  const again =
    'copy it again from where it was stored (the dashboard shows a key only once: roll it if it is lost)';
  if (key.length < API_KEY_LENGTH) {
    return new ApiError(
      'invalid_credential',
      `The API key is ${key.length} characters long where a Cohera key has ${API_KEY_LENGTH}: it was mistyped or truncated; ${again}`,
    );
  }
  if (key.length > API_KEY_LENGTH) {
    return new ApiError(
      'invalid_credential',
      `The API key is ${key.length} characters long where a Cohera key has ${API_KEY_LENGTH}: it was mistyped, or something was pasted after it; ${again}`,
    );
  }
  return new ApiError(
    'invalid_credential',
    `The API key's checksum does not match: it was mistyped or truncated (a character changed or went missing); ${again}`,
  );
}

/** Query parameters that clients use for credentials (RFC 6750 §2.3's `access_token`, and the common others). */
const CREDENTIAL_PARAMETERS = new Set(['api_key', 'apikey', 'api-key', 'access_token', 'bearer']);
/**
 * `key` is also a common name for an API key, but too generic to refuse whatever it holds (a page may use
 * `?key=key_…` for a key *id*): it counts only when its value looks like a credential, a Cohera key (even
 * mistyped) or a JWT.
 */
const GENERIC_PARAMETERS = new Set(['key']);
const KEY_SHAPED = new RegExp(API_KEY_PATTERN.source.replace(/\\b/g, ''));
const KEY_PREFIX = /ck_(?:live|test)_/;
const JWT_SHAPED = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\./;

function carriesCredential(name: string, value: unknown): boolean {
  const values = Array.isArray(value) ? value : [value];
  const lower = name.toLowerCase();
  for (const item of values) {
    if (typeof item !== 'string') continue;
    if (CREDENTIAL_PARAMETERS.has(lower) && item.trim() !== '') return true;
    if (GENERIC_PARAMETERS.has(lower) && (KEY_PREFIX.test(item) || JWT_SHAPED.test(item.trim()))) return true;
    if (KEY_PREFIX.test(item) && KEY_SHAPED.test(item)) return true;
  }
  return KEY_PREFIX.test(name) && KEY_SHAPED.test(name);
}

/**
 * A credential in the query string (DESIGN §4: credentials travel only in the Authorization header) is
 * refused whether or not a header came too, and never tried: the URL has been written to proxy and server
 * logs, browser history or a shell's history, so the credential must be treated as exposed. The answer
 * names the parameter, never its value. (Our own request log drops the query string: http/logger.ts.)
 */
export function credentialInQuery(request: FastifyRequest): ApiError | null {
  if (!request.url.includes('?')) return null;
  const query = request.query;
  if (query === null || typeof query !== 'object') return null;
  for (const [name, value] of Object.entries(query as Record<string, unknown>)) {
    if (!carriesCredential(name, value)) continue;
    const field = `query/${KEY_PREFIX.test(name) ? '(a parameter name)' : name}`;
    const message =
      'must not carry a credential: a URL ends up in server, proxy and browser logs and in shell history, ' +
      'so this credential is now exposed. Roll it (dashboard: API keys → Roll, or POST /v1/api-keys/{id}/roll) ' +
      'and send the new one only as "Authorization: Bearer <credential>"';
    return invalidField(field, message);
  }
  return null;
}
