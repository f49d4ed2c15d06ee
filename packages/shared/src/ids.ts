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

function randomBytes10(): Uint8Array {
  if (poolOffset + 10 > pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + 10);
  poolOffset += 10;
  return bytes;
}

const ALPHABET_CODES = Array.from(BASE62_ALPHABET, (c) => c.charCodeAt(0));
const digits = new Array<number>(BODY_LENGTH).fill(0);

/**
 * The 128-bit body (48 bits of milliseconds, then 80 random bits) as four 32-bit words, written in base62 by
 * long division on the words: plain Number arithmetic (every intermediate stays below 2^53), several times
 * faster than BigInt, and ids are made on hot paths (audit events of every API call, with
 * COHERA_AUDIT_API_CALLS=all).
 */
export function newId(kind: IdKind, now: number = Date.now()): string {
  const random = randomBytes10();
  const time = Math.floor(now) % 2 ** 48;
  const words = [
    Math.floor(time / 65536),
    ((time % 65536) * 65536 + (random[0] as number) * 256 + (random[1] as number)) >>> 0,
    (((random[2] as number) << 24) |
      ((random[3] as number) << 16) |
      ((random[4] as number) << 8) |
      (random[5] as number)) >>>
      0,
    (((random[6] as number) << 24) |
      ((random[7] as number) << 16) |
      ((random[8] as number) << 8) |
      (random[9] as number)) >>>
      0,
  ];
  for (let d = BODY_LENGTH - 1; d >= 0; d--) {
    let remainder = 0;
    for (let w = 0; w < 4; w++) {
      const current = remainder * 4294967296 + (words[w] as number);
      words[w] = Math.floor(current / 62);
      remainder = current % 62;
    }
    digits[d] = ALPHABET_CODES[remainder] as number;
  }
  return `${ID_PREFIXES[kind]}_${String.fromCharCode(...digits)}`;
}

const ID_SHAPE = /^([a-z]+)_([0-9A-Za-z]{22})$/;

/** Whether `id` is a well-formed id of `kind`; a cheap check before any lookup. */
export function isId(kind: IdKind, id: string): boolean {
  const match = ID_SHAPE.exec(id);
  return match !== null && match[1] === ID_PREFIXES[kind];
}

/** The pattern a JSON schema uses to accept ids of `kind` only. */
export function idPattern(kind: IdKind): string {
  return `^${ID_PREFIXES[kind]}_[0-9A-Za-z]{22}$`;
}
