/**
 * The scan report's counts: thousands separators as `toLocaleString('en-US')` writes them, without loading
 * ICU's locale data on the scan's start-up path (src/scan/output.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { grouped } from '../../src/scan/output.ts';

test('a count is grouped as en-US groups it', () => {
  fc.assert(
    fc.property(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (n) => {
      assert.equal(grouped(n), n.toLocaleString('en-US'));
    }),
    { numRuns: 2000 },
  );
  for (const n of [0, 1, 999, 1000, 999_999, 1_000_000]) assert.equal(grouped(n), n.toLocaleString('en-US'));
});
