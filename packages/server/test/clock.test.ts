/** `isoAt` keeps the text of the two latest seconds: it must still be exactly `toISOString()`, in any order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isoAt } from '../src/clock.ts';

test('isoAt is exactly toISOString, whatever came before it', () => {
  fc.assert(
    fc.property(
      // Times and fractions of a millisecond, in any order: each call may or may not change the second.
      fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 253_402_300_799_999 }),
          fc.double({ min: 0, max: 4_102_444_800_000, noNaN: true }),
          fc.integer({ min: 1_764_800_000_000, max: 1_764_800_003_000 }),
          // Three seconds far apart, in turn (now and an expiry, and a third): every path of the two slots.
          fc
            .tuple(fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 999 }))
            .map(([second, millis]) => 1_764_800_000_000 + second * 1_209_600_000 + millis),
        ),
        { minLength: 1, maxLength: 50 },
      ),
      (times) => times.every((ms) => isoAt(ms) === new Date(ms).toISOString()),
    ),
    { numRuns: 2000 },
  );
});

test('isoAt at the edges: the epoch, each millisecond width, a second’s end, years past 9999 and before 1970', () => {
  for (const ms of [0, 7, 42, 999, 1000, 1_764_800_000_999, 1_764_800_001_000, 253_402_300_799_999]) {
    assert.equal(isoAt(ms), new Date(ms).toISOString(), String(ms));
  }
  // Outside four-digit years toISOString writes a sign and six digits: the fallback gives the same.
  for (const ms of [253_402_300_800_000, 8_640_000_000_000_000, -1, -62_198_755_200_000]) {
    assert.equal(isoAt(ms), new Date(ms).toISOString(), String(ms));
  }
  assert.throws(() => isoAt(Number.NaN), RangeError);
});
