import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import {
  API_KEY_LENGTH,
  apiKeyChecksum,
  findApiKeys,
  generateApiKey,
  looksLikeApiKey,
  type Mode,
  parseApiKey,
} from '../src/api-key-format.ts';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_SHAPE = /^ck_(live|test)_[0-9A-Za-z]{38}$/;

/** The checksum recomputed from DESIGN §3 alone: zlib's CRC-32, base62 MSB first, left-padded to 6. */
function expectedChecksum(random: string): string {
  let n = zlibCrc32(random);
  let out = '';
  while (n > 0) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out.padStart(6, '0');
}

/** Builds a key from 32 chosen characters, independently of the module. */
function keyFrom(mode: Mode, random: string): string {
  return `ck_${mode}_${random}${expectedChecksum(random)}`;
}

const modeArb = fc.constantFrom<Mode>('live', 'test');
const base62Char = fc.constantFrom(...ALPHABET);
const randomPartArb = fc.string({ unit: base62Char, minLength: 32, maxLength: 32 });

test('generated keys have the documented shape and length', () => {
  assert.equal(API_KEY_LENGTH, 46);
  for (const mode of ['live', 'test'] as const) {
    for (let i = 0; i < 200; i++) {
      const key = generateApiKey(mode);
      assert.match(key, KEY_SHAPE);
      assert.equal(key.length, 46);
      assert.ok(key.startsWith(`ck_${mode}_`));
    }
  }
});

test('the checksum is CRC-32 (zlib) of the 32 random characters in base62, recomputed independently', () => {
  for (let i = 0; i < 500; i++) {
    const key = generateApiKey(i % 2 === 0 ? 'live' : 'test');
    const random = key.slice(8, 40);
    assert.equal(key.slice(40), expectedChecksum(random));
  }
  fc.assert(
    fc.property(randomPartArb, (random) => apiKeyChecksum(random) === expectedChecksum(random)),
    { numRuns: 1000 },
  );
});

test('a checksum with leading zeros keeps its padding', () => {
  // CRCs below 62^5 encode in fewer than 6 digits; find such a random part and check the padding.
  let random = '';
  for (let i = 0; ; i++) {
    random = i.toString().padStart(32, 'x');
    if (zlibCrc32(random) < 62 ** 5) break;
  }
  const checksum = expectedChecksum(random);
  assert.equal(checksum[0], '0');
  assert.equal(apiKeyChecksum(random), checksum);
  assert.ok(parseApiKey(keyFrom('live', random)));
});

test('parseApiKey returns mode, prefix (first 12 characters) and last4', () => {
  fc.assert(
    fc.property(modeArb, randomPartArb, (mode, random) => {
      const key = keyFrom(mode, random);
      assert.deepEqual(parseApiKey(key), {
        mode,
        prefix: `ck_${mode}_${random.slice(0, 4)}`,
        last4: key.slice(42),
      });
    }),
    { numRuns: 500 },
  );
  const generated = generateApiKey('test');
  assert.deepEqual(parseApiKey(generated), {
    mode: 'test',
    prefix: generated.slice(0, 12),
    last4: generated.slice(-4),
  });
});

test('any single-character change in the random part or checksum is rejected', () => {
  // CRC-32 detects every error burst of up to 32 bits, so changing one character of the random part
  // always changes the checksum: no change can slip through, which keeps this property deterministic.
  fc.assert(
    fc.property(
      modeArb,
      randomPartArb,
      fc.integer({ min: 8, max: 45 }),
      fc.oneof(base62Char, fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })),
      (mode, random, position, replacement) => {
        const key = keyFrom(mode, random);
        fc.pre(key[position] !== replacement);
        const changed = key.slice(0, position) + replacement + key.slice(position + 1);
        return parseApiKey(changed) === null;
      },
    ),
    { numRuns: 1000 },
  );
});

test('an exhaustive sweep: every position, every other base62 character', () => {
  const key = generateApiKey('live');
  for (let position = 8; position < 46; position++) {
    for (const char of ALPHABET) {
      if (char === key[position]) continue;
      const changed = key.slice(0, position) + char + key.slice(position + 1);
      assert.equal(parseApiKey(changed), null, `changed at ${position} to ${char}`);
    }
  }
});

test('wrong prefix, wrong mode, wrong case or wrong length is rejected', () => {
  const key = generateApiKey('live');
  const rest = key.slice(8);
  for (const prefix of ['ck_prod_', 'CK_live_', 'ck_LIVE_', 'sk_live_', 'ck-live-', 'ckXlive_']) {
    assert.equal(parseApiKey(prefix + rest), null, prefix);
  }
  assert.equal(parseApiKey(key.slice(0, -1)), null);
  assert.equal(parseApiKey(`${key}0`), null);
  assert.equal(parseApiKey(`${key.slice(0, 8)}${rest.slice(1)}`), null);
  assert.equal(parseApiKey(` ${key}`), null);
  assert.equal(parseApiKey(`${key}\n`), null);
  assert.equal(parseApiKey(''), null);
  // The same random part and checksum under the other mode are still a genuine key of that mode.
  assert.equal(parseApiKey(`ck_test_${rest}`)?.mode, 'test');
  fc.assert(
    fc.property(fc.string({ maxLength: 60, unit: 'binary' }), (text) => {
      // Random text is never a key unless it happens to have a valid checksum (astronomically unlikely).
      return parseApiKey(text) === null;
    }),
    { numRuns: 1000 },
  );
});

test('looksLikeApiKey dispatches on the prefix only', () => {
  assert.equal(looksLikeApiKey(generateApiKey('live')), true);
  assert.equal(looksLikeApiKey('ck_test_whatever'), true);
  assert.equal(looksLikeApiKey('eyJhbGciOiJFUzI1NiJ9.e30.sig'), false);
  assert.equal(looksLikeApiKey('ck_prod_abc'), false);
});

test('findApiKeys finds genuine keys in a text and ignores look-alikes', () => {
  const live = generateApiKey('live');
  const test1 = generateApiKey('test');
  const test2 = generateApiKey('test');
  // Look-alikes with the right shape but a wrong checksum.
  const badChecksum = `${live.slice(0, 40)}${live[40] === 'A' ? 'B' : 'A'}${live.slice(41)}`;
  const badRandom = `${test1.slice(0, 20)}${test1[20] === 'z' ? 'y' : 'z'}${test1.slice(21)}`;
  const text = [
    `COHERA_API_KEY=${live}`,
    `{"key":"${test1}","other":"${badChecksum}"}`,
    `curl -H "Authorization: Bearer ${badRandom}"`,
    `embedded in a longer token: ${live}abc and x${test2}`,
    `ck_live_tooShort123 and ck_live_${'a'.repeat(38)}`,
    test2,
  ].join('\n');
  assert.deepEqual(findApiKeys(text), [live, test1, test2]);
  // The scanner keeps no state between calls (a global regex's lastIndex must not leak).
  assert.deepEqual(findApiKeys(text), [live, test1, test2]);
  assert.deepEqual(findApiKeys(badChecksum + badRandom), []);
  assert.deepEqual(findApiKeys(''), []);
});

test('findApiKeys finds every key planted in random text', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.string({ maxLength: 20 }), modeArb, randomPartArb), { maxLength: 5 }),
      fc.string({ maxLength: 20 }),
      (parts, tail) => {
        const keys = parts.map(([, mode, random]) => keyFrom(mode, random));
        // Separate every piece with a space so a key never runs into neighbouring word characters.
        const text = `${parts.map(([noise], i) => `${noise} ${keys[i]} `).join('')}${tail}`;
        const found = findApiKeys(text);
        for (const key of keys) assert.ok(found.includes(key));
        for (const key of found) assert.ok(parseApiKey(key));
      },
    ),
    { numRuns: 300 },
  );
});

test('keys are unique', () => {
  const keys = new Set<string>();
  for (let i = 0; i < 20_000; i++) keys.add(generateApiKey('live'));
  assert.equal(keys.size, 20_000);
});

// The standalone validator published in docs/api-key-format.md is what third-party scanners copy: run the
// snippet exactly as printed and hold it to the same behaviour as parseApiKey/findApiKeys.
interface PublishedValidator {
  isCoheraApiKey(candidate: string): boolean;
  findCoheraApiKeys(text: string): string[];
}

const snippetDir = mkdtempSync(join(tmpdir(), 'cohera-key-snippet-'));
after(() => rmSync(snippetDir, { recursive: true, force: true }));

async function loadPublishedValidator(): Promise<PublishedValidator> {
  const doc = readFileSync(new URL('../../../docs/api-key-format.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const snippet = blocks.find((block) => block.includes('export function isCoheraApiKey'));
  assert.ok(snippet, 'docs/api-key-format.md has the TypeScript validator');
  const file = join(snippetDir, 'validator.ts');
  writeFileSync(file, snippet);
  const loaded: unknown = await import(pathToFileURL(file).href);
  const mod = loaded as Partial<PublishedValidator>;
  assert.equal(typeof mod.isCoheraApiKey, 'function');
  assert.equal(typeof mod.findCoheraApiKeys, 'function');
  return mod as PublishedValidator;
}

test('the validator published in docs/api-key-format.md agrees with parseApiKey', async () => {
  const published = await loadPublishedValidator();
  for (let i = 0; i < 500; i++) {
    assert.equal(published.isCoheraApiKey(generateApiKey(i % 2 === 0 ? 'live' : 'test')), true);
  }
  fc.assert(
    fc.property(
      modeArb,
      randomPartArb,
      fc.integer({ min: 0, max: 45 }),
      fc.oneof(base62Char, fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })),
      (mode, random, position, replacement) => {
        const key = keyFrom(mode, random);
        const changed = key.slice(0, position) + replacement + key.slice(position + 1);
        assert.equal(published.isCoheraApiKey(key), true);
        assert.equal(published.isCoheraApiKey(changed), parseApiKey(changed) !== null, changed);
      },
    ),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 60, unit: 'binary' }), (text) => {
      assert.equal(published.isCoheraApiKey(text), parseApiKey(text) !== null);
    }),
    { numRuns: 500 },
  );
  // The examples printed under the snippet.
  assert.equal(published.isCoheraApiKey('ck_live_TestVector0TestVector0TestVector1GlZ5A'), true);
  assert.equal(published.isCoheraApiKey('ck_live_TestVector0TestVector0TestVector1GlZ5B'), false);
});

test('the published findCoheraApiKeys agrees with findApiKeys', async () => {
  const published = await loadPublishedValidator();
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.tuple(modeArb, randomPartArb).map(([mode, random]) => keyFrom(mode, random)),
          // A key with one character changed: a look-alike that must be ignored.
          fc.tuple(modeArb, randomPartArb, fc.integer({ min: 8, max: 45 })).map(([mode, random, at]) => {
            const key = keyFrom(mode, random);
            return key.slice(0, at) + (key[at] === 'a' ? 'b' : 'a') + key.slice(at + 1);
          }),
        ),
        { maxLength: 8 },
      ),
      fc.constantFrom(' ', '\n', '"', '', '=', '_'),
      (pieces, separator) => {
        const text = pieces.join(separator);
        assert.deepEqual(published.findCoheraApiKeys(text), findApiKeys(text));
      },
    ),
    { numRuns: 500 },
  );
});
