/**
 * Finding Cohera API keys in bytes: the core of `cohera scan`. A key is `API_KEY_PATTERN` (with its word
 * boundaries) plus a valid CRC-32 checksum (`parseApiKey`), so a look-alike (wrong checksum, length or
 * prefix) is never reported.
 *
 * Speed: text is never decoded to search it. `Buffer.indexOf` finds the prefixes' candidates natively;
 * only the few bytes around a prefix are turned into a string for the pattern and the checksum. Line and
 * column are computed only for real findings, counting from the previous one.
 */
import { isAscii } from 'node:buffer';
// The key-format module itself, not the @cohera/shared index: the index loads every shared module (75 ms
// of start-up measured), and a pre-commit hook pays start-up on every commit.
import {
  API_KEY_LENGTH,
  API_KEY_PATTERN,
  apiKeyChecksum,
  type Mode,
  parseApiKey,
} from '../../../shared/src/api-key-format.ts';

/**
 * What is searched for: `k_`, the rarest part the two prefixes share. `Buffer.indexOf` finds a short
 * needle with memchr on its first byte, and `k` is rare in text, so one pass over the bytes finds both
 * prefixes' candidates; measured on this repository's sources repeated to 100 MB: 35 ms, against 94 ms
 * for `ck_live_` alone (Boyer-Moore-Horspool with an 8-byte needle) and twice that for both prefixes.
 */
const NEEDLE = Buffer.from('k_');
const C = 0x63;
const LIVE = Buffer.from('live_');
const TEST = Buffer.from('test_');

/** Whether a candidate from NEEDLE at `at` is `ck_live_` or `ck_test_`. */
function prefixAt(buffer: Buffer, at: number): boolean {
  if (at < 1 || buffer[at - 1] !== C) return false;
  const rest = at + 2;
  if (rest + 5 > buffer.length) return false;
  return buffer.compare(LIVE, 0, 5, rest, rest + 5) === 0 || buffer.compare(TEST, 0, 5, rest, rest + 5) === 0;
}

/** Offsets where `ck_live_` or `ck_test_` starts in `buffer`, from `from` (inclusive), in order. */
export function prefixOffsets(buffer: Buffer, from: number, to = buffer.length): number[] {
  const found: number[] = [];
  for (
    let at = buffer.indexOf(NEEDLE, from + 1);
    at !== -1 && at - 1 < to;
    at = buffer.indexOf(NEEDLE, at + 1)
  ) {
    if (prefixAt(buffer, at)) found.push(at - 1);
  }
  return found;
}

/** The shared pattern, anchored where a candidate starts (`y`); `\b` still sees the byte before it. */
const AT = new RegExp(API_KEY_PATTERN.source, 'y');
const NEWLINE = 0x0a;

/**
 * The format's published test vector (docs/api-key-format.md): its checksum is genuine on purpose, yet no
 * server ever issued it, so reporting it would flag every copy of our own documentation. Built, not
 * written out, so that scanners do not flag this file either.
 */
const TEST_VECTOR_RANDOM = `${'TestVector0'.repeat(2)}TestVector`;
export const PUBLISHED_TEST_VECTOR = `ck_live_${TEST_VECTOR_RANDOM}${apiKeyChecksum(TEST_VECTOR_RANDOM)}`;

/** A key found at a byte offset of a stream, with its 1-based line and column (UTF-16 code units). */
export interface Hit {
  key: string;
  mode: Mode;
  offset: number;
  line: number;
  column: number;
}

/**
 * UTF-16 code units in UTF-8 bytes: every byte that does not continue a character starts one, and a
 * 4-byte character is a surrogate pair. Columns in these units match editors and SARIF's default.
 */
function utf16Units(bytes: Uint8Array): number {
  if (isAscii(bytes)) return bytes.length;
  let units = 0;
  for (const byte of bytes) {
    if ((byte & 0xc0) !== 0x80) units++;
    if (byte >= 0xf0) units++;
  }
  return units;
}

/** The key starting at `start` of `buffer` if it is one (pattern, boundaries and checksum), else null. */
export function keyAt(buffer: Buffer, start: number): { key: string; mode: Mode } | null {
  const from = Math.max(0, start - 1);
  // One byte on each side, for the pattern's `\b`s. Latin-1 maps bytes to chars 1:1, so offsets hold.
  const window = buffer.toString('latin1', from, Math.min(buffer.length, start + API_KEY_LENGTH + 1));
  AT.lastIndex = start - from;
  const match = AT.exec(window);
  if (!match) return null;
  const key = match[0];
  const parsed = parseApiKey(key);
  if (!parsed || key === PUBLISHED_TEST_VECTOR) return null;
  return { key, mode: parsed.mode };
}

/**
 * Scans one stream (a file, stdin) chunk by chunk. Chunks overlap so that a key across a boundary is
 * found: each chunk after the first starts one byte before the first key start it owns (for the `\b`),
 * and a chunk that is not the last owns only starts whose key and following byte fit inside it.
 */
export class StreamScanner {
  /** Bytes before `countedTo` have been counted into `line`; `lineStart` is where that line began. */
  #countedTo = 0;
  #line = 1;
  /** UTF-16 units from the start of the current line to `countedTo`. */
  #unitsBefore = 0;
  readonly hits: Hit[] = [];

  /** Bytes a chunk must carry over to the next one; a chunk that is not the last must be longer by 2. */
  static readonly OVERLAP = API_KEY_LENGTH + 1;

  /**
   * Scans `chunk`, which holds the stream's bytes from `chunkStart`. Returns the offset the next chunk
   * must start at (for the last chunk, its end).
   */
  scan(chunk: Buffer, chunkStart: number, last: boolean): number {
    const ownFrom = chunkStart === 0 ? 0 : chunkStart + 1;
    const end = chunkStart + chunk.length;
    const ownTo = last ? end : Math.max(ownFrom, end - StreamScanner.OVERLAP);
    const found: Hit[] = [];
    for (const at of prefixOffsets(chunk, ownFrom - chunkStart, ownTo - chunkStart)) {
      const hit = keyAt(chunk, at);
      if (hit) found.push({ ...hit, offset: chunkStart + at, line: 0, column: 0 });
    }
    // In offset order (prefixOffsets' order), so lines are counted forward only.
    for (const hit of found) {
      this.#advance(chunk, chunkStart, hit.offset);
      hit.line = this.#line;
      hit.column = this.#unitsBefore + 1;
      this.hits.push(hit);
    }
    const next = last ? end : ownTo - 1;
    // Lines are counted up to where the next chunk starts, so they are never counted twice.
    if (!last && next > this.#countedTo) this.#advance(chunk, chunkStart, next);
    return next;
  }

  /** Moves the line counter to `offset` (within `chunk`), counting newlines and the last line's units. */
  #advance(chunk: Buffer, chunkStart: number, offset: number): void {
    const from = this.#countedTo - chunkStart;
    const to = offset - chunkStart;
    let lastNewline = -1;
    for (let at = chunk.indexOf(NEWLINE, from); at !== -1 && at < to; at = chunk.indexOf(NEWLINE, at + 1)) {
      this.#line++;
      lastNewline = at;
    }
    this.#unitsBefore =
      lastNewline === -1
        ? this.#unitsBefore + utf16Units(chunk.subarray(from, to))
        : utf16Units(chunk.subarray(lastNewline + 1, to));
    this.#countedTo = offset;
  }
}

/** Whether a file's first bytes say it is binary, as git decides it: a NUL byte in the first 8,000. */
export function looksBinary(head: Buffer): boolean {
  return head.subarray(0, 8000).indexOf(0) !== -1;
}

/** Keys in a line of text (a `+` line of a diff): the shared pattern, then the checksum. */
export function keysInLine(
  line: Buffer,
  start: number,
  end: number,
): Array<{ key: string; mode: Mode; column: number }> {
  const found: Array<{ key: string; mode: Mode; column: number }> = [];
  const bounded = line.subarray(0, end);
  for (const at of prefixOffsets(bounded, start)) {
    const hit = keyAt(bounded, at);
    if (hit) found.push({ ...hit, column: utf16Units(line.subarray(start, at)) + 1 });
  }
  return found;
}
