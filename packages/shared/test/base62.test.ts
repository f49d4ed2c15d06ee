import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BASE62_ALPHABET, encodeBase62, randomBase62 } from '../src/base62.ts';

// The alphabet written out independently of the module: digits, then upper case, then lower case.
const ALPHABET = [
  ...Array.from({ length: 10 }, (_, i) => String.fromCharCode(48 + i)),
  ...Array.from({ length: 26 }, (_, i) => String.fromCharCode(65 + i)),
  ...Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i)),
].join('');

/** The test's own decoder: most significant digit first. */
function decodeBase62(text: string): bigint {
  let value = 0n;
  for (const char of text) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) throw new Error(`not a base62 digit: ${char}`);
    value = value * 62n + BigInt(digit);
  }
  return value;
}

test('the alphabet is 0-9A-Za-z in ASCII order', () => {
  assert.equal(BASE62_ALPHABET, ALPHABET);
  assert.equal(new Set(BASE62_ALPHABET).size, 62);
});

test('known encodings, most significant digit first, left-padded with 0', () => {
  assert.equal(encodeBase62(0, 1), '0');
  assert.equal(encodeBase62(0, 4), '0000');
  assert.equal(encodeBase62(61, 1), 'z');
  assert.equal(encodeBase62(62, 2), '10');
  assert.equal(encodeBase62(62 * 62 - 1, 2), 'zz');
  assert.equal(encodeBase62(10, 3), '00A');
  assert.equal(encodeBase62(36, 3), '00a');
  // 0xffffffff is the largest CRC-32; 62^6 > 2^32, so six digits always hold it.
  assert.equal(encodeBase62(0xffffffff, 6), '4gfFC3');
  assert.equal(decodeBase62('4gfFC3'), 0xffffffffn);
});

test('round-trips numbers and bigints at the requested width', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => {
      const text = encodeBase62(value, 22); // 62^22 > 2^128: the id body width
      return text.length === 22 && decodeBase62(text) === value;
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 6, max: 12 }), (value, width) => {
      const text = encodeBase62(value, width);
      return text.length === width && decodeBase62(text) === BigInt(value);
    }),
    { numRuns: 1000 },
  );
});

test('fixed-width encodings sort like the numbers they encode', () => {
  fc.assert(
    fc.property(fc.nat(), fc.nat(), (a, b) => {
      const ea = encodeBase62(a, 6);
      const eb = encodeBase62(b, 6);
      return Math.sign(a - b) === (ea < eb ? -1 : ea > eb ? 1 : 0);
    }),
    { numRuns: 1000 },
  );
});

test('throws when the value does not fit the width', () => {
  assert.equal(encodeBase62(62n ** 6n - 1n, 6), 'zzzzzz');
  assert.throws(() => encodeBase62(62n ** 6n, 6), RangeError);
  assert.throws(() => encodeBase62(62, 1), RangeError);
  assert.throws(() => encodeBase62(1, 0), RangeError);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20 }), fc.bigInt({ min: 0n, max: 1000n }), (width, extra) => {
      assert.throws(() => encodeBase62(62n ** BigInt(width) + extra, width), RangeError);
    }),
    { numRuns: 200 },
  );
});

test('throws on negative values', () => {
  assert.throws(() => encodeBase62(-1, 6), RangeError);
  assert.throws(() => encodeBase62(-1n, 6), RangeError);
  fc.assert(
    fc.property(fc.integer({ max: -1 }), (value) => {
      assert.throws(() => encodeBase62(value, 12), RangeError);
    }),
    { numRuns: 200 },
  );
});

test('randomBase62 gives exactly `length` alphabet characters', () => {
  for (const length of [0, 1, 6, 32, 100, 1000]) {
    const text = randomBase62(length);
    assert.equal(text.length, length);
    assert.match(text, /^[0-9A-Za-z]*$/);
  }
});

test('randomBase62 uses all 62 symbols about evenly (chi-square sanity check)', () => {
  const total = 200_000;
  const counts = new Map<string, number>();
  for (let i = 0; i < 20; i++) {
    for (const char of randomBase62(total / 20)) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  assert.equal(counts.size, 62, 'every symbol appears');
  const expected = total / 62;
  let chiSquare = 0;
  for (const char of ALPHABET) {
    const observed = counts.get(char) ?? 0;
    chiSquare += (observed - expected) ** 2 / expected;
  }
  // 61 degrees of freedom: mean 61, sd ≈ 11; P(χ² > 150) is about 1e-9. A modulo-biased generator
  // (byte % 62 without rejection) gives the first 8 symbols 5/4 the weight of the rest: χ² ≈ 1,300 here.
  assert.ok(chiSquare < 150, `chi-square ${chiSquare.toFixed(1)} is too large for a uniform source`);
});

test('randomBase62 outputs do not repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) seen.add(randomBase62(16));
  assert.equal(seen.size, 10_000);
});
