/**
 * Prefixed, time-sortable ids (`cert_…`, `key_…`): the prefix says what an id is, the body sorts by
 * creation time so that keyset pagination by id is also newest-first. Generated in one place only.
 *
 * Body: 22 base62 characters encoding 128 bits = 48 bits of Unix milliseconds + 80 random bits.
 */
import { BASE62_ALPHABET } from './base62.ts';

export const ID_PREFIXES = {
  organization: 'org',
  user: 'usr',
  session: 'ses',
  supplier: 'sup',
  product: 'prd',
  certificate: 'cert',
  api_key: 'key',
  service_account: 'sa',
  service_account_key: 'sak',
  oauth_client: 'cli',
  oauth_authorization: 'grt',
  oauth_signing_key: 'osk',
  audit_event: 'evt',
  webhook_endpoint: 'whe',
  webhook_message: 'msg',
  invitation: 'inv',
  email: 'eml',
  request: 'req',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;
export type IdPrefix = (typeof ID_PREFIXES)[IdKind];

const BODY_LENGTH = 22;

/** Random bytes drawn 4 KiB at a time: one CSPRNG call per 409 ids instead of one per id. */
const pool = new Uint8Array(4096);
let poolOffset = pool.length;

const ALPHABET_CODES = Array.from(BASE62_ALPHABET, (c) => c.charCodeAt(0));
const digits = new Array<number>(BODY_LENGTH).fill(0);
/** The body being divided, as eight 16-bit words, most significant first. */
const words = new Int32Array(8);
/**
 * Per kind, the character codes of a whole id (`prefix_` then the body, written in place), so that an id is
 * made by one String.fromCharCode: a flat string. A template literal would make a rope of prefix and body,
 * which every comparison, hash or JSON encoding of the id first flattens again.
 */
const idCodes = new Map<IdKind, number[]>();

/**
 * Writes the body for `time` (milliseconds) and the 10 random bytes of `bytes` from `offset` into `out` from
 * `at`: the 128-bit number (48 bits of time, then 80 random bits) in base62, by long division on eight
 * 16-bit words, two digits at a time (dividing by 62² = 3,844). Every step (`remainder * 65536 + word`,
 * below 3,844 × 65,536 < 2^31) is a small integer, which V8 divides as an integer: several times faster than
 * dividing 32-bit words as doubles one digit at a time, and ids are made on hot paths (an audit event for
 * every API call under COHERA_AUDIT_API_CALLS=all). The random bytes are read in place: a view per id cost
 * more.
 */
function writeBody(time: number, bytes: Uint8Array, offset: number, out: number[], at: number): void {
  const t = Math.floor(time) % 2 ** 48;
  const high = Math.floor(t / 4294967296);
  const low = t - high * 4294967296;
  words[0] = high;
  words[1] = low >>> 16;
  words[2] = low & 0xffff;
  for (let i = 0; i < 5; i++) {
    words[3 + i] = ((bytes[offset + 2 * i] as number) << 8) | (bytes[offset + 2 * i + 1] as number);
  }
  for (let d = BODY_LENGTH - 1; d > 0; d -= 2) {
    let remainder = 0;
    for (let w = 0; w < 8; w++) {
      const current = (remainder << 16) | (words[w] as number);
      const quotient = (current / 3844) | 0;
      words[w] = quotient;
      remainder = current - quotient * 3844;
    }
    const last = remainder % 62;
    out[at + d] = ALPHABET_CODES[last] as number;
    out[at + d - 1] = ALPHABET_CODES[(remainder - last) / 62] as number;
  }
}

/** The body for `time` (milliseconds) and 10 random bytes: 22 base62 digits (see writeBody). */
export function idBody(time: number, random: Uint8Array): string {
  writeBody(time, random, 0, digits, 0);
  return String.fromCharCode(...digits);
}

/** A new id of `kind`, sorting by `now` (milliseconds). */
export function newId(kind: IdKind, now: number = Date.now()): string {
  if (poolOffset + 10 > pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const prefix = ID_PREFIXES[kind];
  let codes = idCodes.get(kind);
  if (!codes) {
    codes = [...Array.from(`${prefix}_`, (c) => c.charCodeAt(0)), ...digits];
    idCodes.set(kind, codes);
  }
  writeBody(now, pool, poolOffset, codes, prefix.length + 1);
  poolOffset += 10;
  return String.fromCharCode(...codes);
}

/**
 * Whether `id` is a well-formed id of `kind`; a cheap check before any lookup. A loop over character codes,
 * not a regular expression: it runs on every read by id, and a match with captures allocated three strings.
 */
export function isId(kind: IdKind, id: string): boolean {
  const prefix = ID_PREFIXES[kind];
  const bodyStart = prefix.length + 1;
  if (id.length !== bodyStart + 22 || id.charCodeAt(prefix.length) !== 95 /* _ */ || !id.startsWith(prefix)) {
    return false;
  }
  for (let i = bodyStart; i < id.length; i++) {
    const c = id.charCodeAt(i);
    // 0-9, A-Z, a-z: the base62 alphabet of `idBody`.
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return false;
  }
  return true;
}

/** The pattern a JSON schema uses to accept ids of `kind` only. */
export function idPattern(kind: IdKind): string {
  return `^${ID_PREFIXES[kind]}_[0-9A-Za-z]{22}$`;
}

/** The value of the last base62 digit. */
const LAST_DIGIT = BASE62_ALPHABET.length - 1;

/** 2^80 (one millisecond in an id's number: the time sits above 80 random bits) in base62, body order. */
const ONE_MS_DIGITS: readonly number[] = (() => {
  const out = new Array<number>(BODY_LENGTH).fill(0);
  let value = 2n ** 80n;
  for (let i = BODY_LENGTH - 1; i >= 0; i--) {
    out[i] = Number(value % 62n);
    value /= 62n;
  }
  return out;
})();

/** A MonotonicIds generator advances by addition at most this far (ms) and this many ids, then draws afresh. */
const MAX_ADVANCE_MS = 60_000;
const MAX_RUN = 65_536;

/**
 * Ids for events made many per millisecond (an audit event for every API call under
 * COHERA_AUDIT_API_CALLS=all). Each id is the one before plus one, plus 2^80 for every millisecond the clock
 * moved (the time sits above the 80 random bits): the sum is worked out digit by digit on the base62 body,
 * as ULID's monotonic mode adds 1. Only a generator's first id, one after the clock went back or jumped
 * over a minute, and every 65,536th pay for `newId`'s base62 division (about 0.3 µs, and most of an audited
 * call's id cost at a low request rate). Ids keep their time (the random part would have to start within
 * 65,536 of 2^80 to spill into it, a chance of 2^-64), and the ids of one draw sort in the order they were
 * made; the random part starts from 80 fresh bits at every draw, which keeps two generators (two nodes)
 * apart. Event ids are names, not secrets: that a generator's next id is guessable gives nothing away.
 *
 * The id is kept as its ASCII bytes (`ascii`), and its text made only when asked for (`current`): the audit
 * log copies the bytes straight into a segment (server/src/audit/segments.ts), where a string would first
 * be built, then flattened (a concatenation is a rope) and read back a character at a time.
 */
export class MonotonicIds {
  readonly #kind: IdKind;
  readonly #prefixLength: number;
  #ms = Number.NaN;
  #run = 0;
  #draws = 0;
  /** The current id's body digits (values). */
  readonly #digits = new Array<number>(BODY_LENGTH).fill(0);
  /** The current id's characters (prefix, `_`, body), one byte each. */
  readonly #ascii: Uint8Array;
  /** The current id's text, once made. */
  #text: string | null = null;

  constructor(kind: IdKind) {
    this.#kind = kind;
    this.#prefixLength = ID_PREFIXES[kind].length + 1;
    this.#ascii = new Uint8Array(this.#prefixLength + BODY_LENGTH);
  }

  /** The next id's text. */
  next(now: number): string {
    this.advance(now);
    return this.current();
  }

  /** Moves to the next id (`ascii`, `current`). */
  advance(now: number): void {
    this.#text = null;
    const ms = Math.floor(now);
    const elapsed = ms - this.#ms;
    if (!(elapsed >= 0 && elapsed <= MAX_ADVANCE_MS) || ++this.#run >= MAX_RUN) {
      this.#draw(now, ms);
      return;
    }
    const digits = this.#digits;
    const ascii = this.#ascii;
    const last = BODY_LENGTH - 1;
    if (elapsed === 0 && (digits[last] as number) < LAST_DIGIT) {
      const digit = (digits[last] as number) + 1;
      digits[last] = digit;
      ascii[this.#prefixLength + last] = ALPHABET_CODES[digit] as number;
      return;
    }
    // + 1 + elapsed × 2^80, from the last digit up. Every sum is below 62 + 60,000 × 61 + 60,000 < 2^31:
    // small integers, divided as integers (a `%` of doubles is a call to fmod).
    const step = elapsed | 0;
    let carry = 1;
    for (let i = last; i >= 0; i--) {
      const sum = (digits[i] as number) + step * (ONE_MS_DIGITS[i] as number) + carry;
      carry = (sum / 62) | 0;
      const digit = sum - carry * 62;
      digits[i] = digit;
      ascii[this.#prefixLength + i] = ALPHABET_CODES[digit] as number;
    }
    // Past 2^128: beyond any time an id can hold (year 10889); draw afresh rather than wrap.
    if (carry !== 0) {
      this.#draw(now, ms);
      return;
    }
    this.#ms = ms;
  }

  /** The current id, one byte per character; valid until the next `advance`. */
  get ascii(): Uint8Array {
    return this.#ascii;
  }

  /**
   * How many times the generator drew a fresh random part: ids of the same draw sort in the order they were
   * made; ids of different draws may sort either way.
   */
  get draws(): number {
    return this.#draws;
  }

  /** The current id's text. */
  current(): string {
    this.#text ??= String.fromCharCode(...this.#ascii);
    return this.#text;
  }

  #draw(now: number, ms: number): void {
    const id = newId(this.#kind, now);
    this.#ms = ms;
    this.#run = 0;
    this.#draws++;
    this.#text = id;
    for (let i = 0; i < id.length; i++) this.#ascii[i] = id.charCodeAt(i);
    for (let i = 0; i < BODY_LENGTH; i++) {
      this.#digits[i] = BASE62_ALPHABET.indexOf(id.charAt(this.#prefixLength + i));
    }
  }
}
