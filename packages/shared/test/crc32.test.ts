import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { crc32 } from '../src/crc32.ts';

test('known check values (the CRC-32/ISO-HDLC catalogue entry and friends)', () => {
  // 0xCBF43926 is the published "check" value of CRC-32 (IEEE) over the ASCII digits 1..9.
  assert.equal(crc32('123456789'), 0xcbf43926);
  assert.equal(crc32(''), 0);
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32('The quick brown fox jumps over the lazy dog'), 0x414fa339);
  assert.equal(crc32(new Uint8Array([0])), 0xd202ef8d);
});

test('the result is an unsigned 32-bit integer', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
      const value = crc32(s);
      return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
    }),
    { numRuns: 500 },
  );
});

test('equals zlib.crc32 for random strings (UTF-8, including astral and non-ASCII characters)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => crc32(s) === zlibCrc32(s)),
    { numRuns: 1000 },
  );
});

test('equals zlib.crc32 for random byte arrays', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1024 }), (bytes) => crc32(bytes) === zlibCrc32(bytes)),
    { numRuns: 1000 },
  );
});

test('a string and its UTF-8 bytes have the same checksum', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'grapheme', maxLength: 100 }),
      (s) => crc32(s) === crc32(new TextEncoder().encode(s)),
    ),
    { numRuns: 500 },
  );
});

test('every single-bit flip changes the checksum (CRC-32 detects all 1-bit errors)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), fc.nat(7), (bytes, at, bit) => {
      const flipped = bytes.slice();
      const index = at % flipped.length;
      flipped[index] = (flipped[index] as number) ^ (1 << bit);
      return crc32(flipped) !== crc32(bytes);
    }),
    { numRuns: 500 },
  );
});
