/**
 * Verifying the webhooks Cohera sends (Standard Webhooks 1.0: https://www.standardwebhooks.com/).
 *
 * A delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds of the attempt) and
 * `webhook-signature` (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, space-separated: during a
 * secret rotation both secrets sign). `verify` checks the timestamp against a tolerance (a captured
 * delivery cannot be replayed later) and the signature over the exact bytes received, then returns the
 * event. Built on WebCrypto (`crypto.subtle`) so it runs unchanged on Node, Deno, Bun and in browsers:
 * `crypto.subtle` is asynchronous, so `verify` is too.
 */
import { CoheraError } from './errors.ts';
import type { Timestamp, WebhookEventDataMap, WebhookEventType } from './types.ts';

/**
 * What a Cohera webhook's body is: `{id, type, timestamp, data}`, `data` the object as the API shows it.
 * A union over the types, so checking `event.type` narrows `event.data`.
 */
export type WebhookEvent<T extends WebhookEventType = WebhookEventType> = T extends WebhookEventType
  ? {
      /** The message id (`msg_…`), equal to the `webhook-id` header: the same on every retry, so use it to skip duplicates. */
      id: string;
      type: T;
      /** When the event happened (not when this attempt was sent). */
      timestamp: Timestamp;
      data: WebhookEventDataMap[T];
    }
  : never;

export type WebhookVerificationErrorCode =
  /** `webhook-id`, `webhook-timestamp` or `webhook-signature` is absent (or given more than once). */
  | 'missing_headers'
  /** `webhook-timestamp` is not a number of seconds. */
  | 'invalid_timestamp'
  /** Older than the tolerance: a replay, or a clock far behind. */
  | 'timestamp_too_old'
  /** Further in the future than the tolerance. */
  | 'timestamp_too_new'
  /** No `v1` signature matches any of the secrets (wrong secret, or the body was changed). */
  | 'no_matching_signature'
  /** A secret given to `new Webhooks()` is not `whsec_` followed by base64. */
  | 'invalid_secret'
  /** The body was parsed JSON (or anything but a string or bytes): it cannot be verified. */
  | 'not_raw_body'
  /** The signature is valid but the body is not a JSON object. */
  | 'invalid_payload';

/** Why a webhook was refused. The message never contains a secret, a signature or the body. */
export class WebhookVerificationError extends CoheraError {
  declare readonly code: WebhookVerificationErrorCode;

  constructor(code: WebhookVerificationErrorCode, message: string) {
    super(message, { code });
  }
}

/** A `Headers`, a plain object (any letter case), or Node's `IncomingHttpHeaders` (`req.headers`). */
export type WebhookHeaders =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** The raw request body exactly as received: a string, a `Uint8Array`/Node `Buffer`, or an `ArrayBuffer`. */
export type WebhookPayload = string | Uint8Array | ArrayBuffer;

export interface WebhookVerifyOptions {
  /** How far (seconds) `webhook-timestamp` may be from now, either way. Default 300. */
  toleranceSeconds?: number;
  /** The time to check the timestamp against (default: now). For tests; never set it from the request. */
  now?: Date | number;
}

export interface WebhookTestHeadersOptions {
  /** Default: a random `msg_…`. */
  id?: string;
  /** Default: now. */
  timestamp?: Date;
}

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const TIMESTAMP = /^\d{1,15}$/;
const DEFAULT_TOLERANCE_SECONDS = 300;
const encoder = new TextEncoder();

function base64ToBytes(text: string): Uint8Array<ArrayBuffer> | null {
  if (!BASE64.test(text)) return null;
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Equal bytes, in time that depends on the length only (which is public: every signature is 32 bytes),
 * never on where the first difference is: an early exit would let an attacker find a valid signature
 * byte by byte by timing the receiver (the Standard Webhooks spec's "signing oracle").
 */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}

/** The key bytes of `whsec_<base64>` (the prefix is optional, as in the other Standard Webhooks libraries). */
function secretKeyBytes(secret: unknown): Uint8Array<ArrayBuffer> {
  const bytes =
    typeof secret === 'string'
      ? base64ToBytes(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret)
      : null;
  // The message describes the expected shape and never echoes the value: it is a secret, or close to one.
  if (!bytes || bytes.length === 0) {
    throw new WebhookVerificationError(
      'invalid_secret',
      'A webhook secret is not valid: expected the endpoint’s signing secret, "whsec_" followed by base64 ' +
        '(shown once when the endpoint was created or its secret rotated)',
    );
  }
  return bytes;
}

function rawBytes(payload: unknown): Uint8Array {
  if (typeof payload === 'string') return encoder.encode(payload);
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  throw new WebhookVerificationError(
    'not_raw_body',
    'Pass the raw request body (string or bytes), not parsed JSON: the signature covers the exact bytes ' +
      'sent, which re-serializing does not reproduce (e.g. express.raw({ type: "application/json" }), ' +
      'or await request.text())',
  );
}

function isHeadersLike(headers: WebhookHeaders): headers is { get(name: string): string | null } {
  return typeof (headers as { get?: unknown }).get === 'function';
}

/** One header's value, case-insensitively; `undefined` when absent or empty; `null` when given twice. */
function headerValue(headers: WebhookHeaders, name: string): string | null | undefined {
  if (isHeadersLike(headers)) return headers.get(name) || undefined;
  let found: string | readonly string[] | undefined;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() !== name) continue;
    if (found !== undefined) return null;
    found = headers[key];
  }
  if (Array.isArray(found))
    return found.length === 1 ? found[0] || undefined : found.length ? null : undefined;
  return (found as string | undefined) || undefined;
}

function concat(prefix: Uint8Array, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix);
  out.set(body, prefix.length);
  return out;
}

/**
 * Verifies (and, for your tests, signs) Cohera webhooks with an endpoint's signing secret, or with several:
 * during a rotation pass both the new and the old secret, and a delivery signed by either is accepted.
 *
 * @example
 * const webhooks = new Webhooks(process.env.COHERA_WEBHOOK_SECRET);
 * app.post('/webhooks', express.raw({ type: 'application/json' }), async (req, res) => {
 *   const event = await webhooks.verify(req.body, req.headers); // throws WebhookVerificationError
 *   res.sendStatus(204);
 * });
 */
export class Webhooks {
  readonly #keys: Promise<CryptoKey[]>;

  /** Throws `WebhookVerificationError` (`invalid_secret`) at once when a secret is not `whsec_…`. */
  constructor(secret: string | readonly string[]) {
    const secrets: readonly unknown[] = Array.isArray(secret) ? secret : [secret];
    if (secrets.length === 0) {
      throw new WebhookVerificationError('invalid_secret', 'Give at least one webhook secret');
    }
    const bytes = secrets.map(secretKeyBytes);
    this.#keys = Promise.all(
      bytes.map((key) =>
        globalThis.crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
      ),
    );
    // A rejection here surfaces on the first verify/sign; this keeps it from also being reported as unhandled.
    this.#keys.catch(() => {});
  }

  async #macs(id: string, timestamp: string, body: Uint8Array): Promise<Uint8Array[]> {
    const content = concat(encoder.encode(`${id}.${timestamp}.`), body);
    const keys = await this.#keys;
    return Promise.all(
      keys.map(async (key) => new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, content))),
    );
  }

  /**
   * The event, once the headers, the timestamp (within `toleranceSeconds`, default 300) and a signature
   * by one of the secrets all check out over the raw body. Otherwise throws `WebhookVerificationError`
   * with a `code`. Deliveries are at least once: skip an `event.id` you have already handled.
   */
  async verify(
    payload: WebhookPayload,
    headers: WebhookHeaders,
    options: WebhookVerifyOptions = {},
  ): Promise<WebhookEvent> {
    const body = rawBytes(payload);
    const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
    if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
      throw new RangeError('toleranceSeconds must be a finite number of seconds, 0 or more');
    }
    if (headers === null || typeof headers !== 'object') {
      throw new WebhookVerificationError('missing_headers', 'Pass the request headers');
    }
    const id = headerValue(headers, 'webhook-id');
    const timestamp = headerValue(headers, 'webhook-timestamp');
    const signature = headerValue(headers, 'webhook-signature');
    const missing = (
      [
        ['webhook-id', id],
        ['webhook-timestamp', timestamp],
        ['webhook-signature', signature],
      ] as const
    )
      .filter(([, value]) => typeof value !== 'string')
      .map(([name]) => name);
    if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signature !== 'string') {
      throw new WebhookVerificationError(
        'missing_headers',
        `Missing or repeated webhook header(s): ${missing.join(', ')}`,
      );
    }

    if (!TIMESTAMP.test(timestamp)) {
      throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp is not Unix seconds');
    }
    const now = options.now === undefined ? Date.now() : Number(options.now);
    // NaN would make both comparisons below false, silently switching the replay check off.
    if (!Number.isFinite(now)) throw new RangeError('now must be a valid Date or milliseconds');
    const age = Math.floor(now / 1000) - Number(timestamp);
    if (age > tolerance) {
      throw new WebhookVerificationError(
        'timestamp_too_old',
        `webhook-timestamp is ${age} s old, more than the ${tolerance} s tolerance (a replay, or a slow clock)`,
      );
    }
    if (-age > tolerance) {
      throw new WebhookVerificationError(
        'timestamp_too_new',
        `webhook-timestamp is ${-age} s in the future, more than the ${tolerance} s tolerance (check the clock)`,
      );
    }

    // Only `v1` (HMAC-SHA256) is ours; other versions and malformed entries are skipped, not fatal, as the
    // spec asks (a future scheme may be listed beside v1).
    const candidates: Uint8Array[] = [];
    for (const entry of signature.split(' ')) {
      const comma = entry.indexOf(',');
      if (comma === -1 || entry.slice(0, comma) !== 'v1') continue;
      const bytes = base64ToBytes(entry.slice(comma + 1));
      if (bytes) candidates.push(bytes);
    }
    let matched = false;
    for (const expected of await this.#macs(id, timestamp, body)) {
      for (const candidate of candidates) matched = constantTimeEqual(expected, candidate) || matched;
    }
    if (!matched) {
      throw new WebhookVerificationError(
        'no_matching_signature',
        'No webhook signature matches the secret(s): check the endpoint’s secret, and that the body is ' +
          'passed exactly as received',
      );
    }

    let event: unknown;
    try {
      event = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch {
      event = undefined;
    }
    if (event === null || typeof event !== 'object' || Array.isArray(event)) {
      throw new WebhookVerificationError('invalid_payload', 'The webhook body is not a JSON object');
    }
    return event as WebhookEvent;
  }

  /**
   * The `webhook-signature` value for a message, signed with every secret (space-separated), exactly as
   * the server signs: for tests of your handler.
   */
  async sign(id: string, timestamp: Date | number, payload: WebhookPayload): Promise<string> {
    const seconds = timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp;
    if (!Number.isInteger(seconds) || seconds < 0) {
      throw new RangeError('timestamp must be a Date or whole Unix seconds');
    }
    const macs = await this.#macs(id, String(seconds), rawBytes(payload));
    return macs.map((mac) => `v1,${bytesToBase64(mac)}`).join(' ');
  }

  /**
   * The headers of a delivery of `payload` (like stripe-node's `generateTestHeaderString`): post them with
   * the payload to your handler in tests.
   */
  async generateTestHeaders(
    payload: WebhookPayload,
    options: WebhookTestHeadersOptions = {},
  ): Promise<Record<string, string>> {
    const random = globalThis.crypto.getRandomValues(new Uint8Array(12));
    const id =
      options.id ?? `msg_test_${Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    const seconds = Math.floor((options.timestamp ?? new Date()).getTime() / 1000);
    return {
      'webhook-id': id,
      'webhook-timestamp': String(seconds),
      'webhook-signature': await this.sign(id, seconds, payload),
      'content-type': 'application/json',
    };
  }
}
