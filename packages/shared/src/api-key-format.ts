/**
 * The API key format (DESIGN §3), published in docs/api-key-format.md so that secret scanners can
 * recognise a Cohera key offline with no false positives:
 *
 *   ck_{live|test}_ + 32 random base62 characters + 6 base62 characters of CRC-32 over those 32
 *
 * The checksum is not a security control (anyone can compute it); it lets us and others reject typos and
 * random strings before any lookup, and tells a scanner that a match is really one of our keys.
 */
import { encodeBase62, randomBase62 } from './base62.ts';
import { crc32 } from './crc32.ts';

export type Mode = 'live' | 'test';
export const MODES: readonly Mode[] = ['live', 'test'];

export const API_KEY_RANDOM_LENGTH = 32;
export const API_KEY_CHECKSUM_LENGTH = 6;
/** `ck_live_` + 32 + 6 = 46 characters. */
export const API_KEY_LENGTH = 8 + API_KEY_RANDOM_LENGTH + API_KEY_CHECKSUM_LENGTH;

/** Matches a well-formed key anywhere in a text; the checksum must still be verified. */
export const API_KEY_PATTERN = /\bck_(live|test)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})\b/g;
const WHOLE_KEY = /^ck_(live|test)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;

/** The checksum of the 32 random characters: CRC-32 in base62, most significant digit first, width 6. */
export function apiKeyChecksum(random: string): string {
  return encodeBase62(crc32(random), API_KEY_CHECKSUM_LENGTH);
}

/** Generates a new key for `mode`. 32 base62 characters carry 32 × log2(62) ≈ 190 bits of entropy. */
export function generateApiKey(mode: Mode): string {
  const random = randomBase62(API_KEY_RANDOM_LENGTH);
  return `ck_${mode}_${random}${apiKeyChecksum(random)}`;
}

export interface ParsedApiKey {
  mode: Mode;
  /** What lists show: `ck_live_` and the first 4 random characters, e.g. `ck_live_Ab12`. */
  prefix: string;
  last4: string;
}

/**
 * Parses a key and verifies its checksum. Returns `null` for anything that is not a genuine key shape,
 * so callers can reject it before touching a cache or a database.
 */
export function parseApiKey(key: string): ParsedApiKey | null {
  if (key.length !== API_KEY_LENGTH) return null;
  const match = WHOLE_KEY.exec(key);
  if (!match) return null;
  const [, mode, random, checksum] = match as unknown as [string, Mode, string, string];
  if (apiKeyChecksum(random) !== checksum) return null;
  return { mode, prefix: key.slice(0, 12), last4: key.slice(-4) };
}

/** Whether a string looks like a Cohera API key (right prefix), checksum aside. Used to dispatch. */
export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith('ck_live_') || credential.startsWith('ck_test_');
}

/** Finds every genuine (checksum-valid) Cohera key in a text: the leaked-key scanner's core. */
export function findApiKeys(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(API_KEY_PATTERN)) {
    if (parseApiKey(match[0])) found.push(match[0]);
  }
  return found;
}
