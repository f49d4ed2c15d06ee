import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ID_PREFIXES, type IdKind, idBody, idPattern, isId, MonotonicIds, newId } from '../src/ids.ts';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KINDS = Object.keys(ID_PREFIXES) as IdKind[];
const kindArb = fc.constantFrom(...KINDS);
// From 2000 to 2200: ids must sort by time across any realistic clock.
const timeArb = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2200, 0, 1) });

function decodeBody(body: string): bigint {
  let value = 0n;
  for (const char of body) value = value * 62n + BigInt(ALPHABET.indexOf(char));
  return value;
}

test('the prefixes DESIGN §4 names', () => {
  assert.equal(ID_PREFIXES.supplier, 'sup');
  assert.equal(ID_PREFIXES.product, 'prd');
  assert.equal(ID_PREFIXES.certificate, 'cert');
  assert.equal(ID_PREFIXES.api_key, 'key');
  assert.equal(ID_PREFIXES.service_account, 'sa');
  assert.equal(ID_PREFIXES.service_account_key, 'sak');
  assert.equal(ID_PREFIXES.oauth_client, 'cli');
  assert.equal(ID_PREFIXES.audit_event, 'evt');
  assert.equal(ID_PREFIXES.webhook_endpoint, 'whe');
  assert.equal(new Set(Object.values(ID_PREFIXES)).size, KINDS.length, 'prefixes are distinct');
});

test('newId has the kind prefix and a 22-character base62 body', () => {
  for (const kind of KINDS) {
    const id = newId(kind);
    const [prefix, body, ...rest] = id.split('_');
    assert.equal(prefix, ID_PREFIXES[kind]);
    assert.equal(rest.length, 0);
    assert.match(body ?? '', /^[0-9A-Za-z]{22}$/);
    assert.match(id, new RegExp(idPattern(kind)));
  }
});

test('the body carries the creation time in its top 48 bits', () => {
  fc.assert(
    fc.property(kindArb, timeArb, (kind, now) => {
      const body = newId(kind, now).split('_')[1] ?? '';
      return decodeBody(body) >> 80n === BigInt(now);
    }),
    { numRuns: 500 },
  );
});

test('the body is exactly the 128-bit number (time, then the random bytes) in base62, 22 digits', () => {
  const reference = (time: number, random: Uint8Array) => {
    let value = BigInt(time);
    for (const byte of random) value = (value << 8n) | BigInt(byte);
    let body = '';
    for (let i = 0; i < 22; i++) {
      body = ALPHABET[Number(value % 62n)] + body;
      value /= 62n;
    }
    return body;
  };
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      fc.uint8Array({ minLength: 10, maxLength: 10 }),
      (time, random) => idBody(time, random) === reference(time, random),
    ),
    { numRuns: 2000 },
  );
  // The extremes: every bit clear, every bit set.
  assert.equal(idBody(0, new Uint8Array(10)), '0'.repeat(22));
  const ones = new Uint8Array(10).fill(255);
  assert.equal(idBody(2 ** 48 - 1, ones), reference(2 ** 48 - 1, ones));
});

test('ids made later sort after ids made earlier, as plain strings', () => {
  fc.assert(
    fc.property(kindArb, timeArb, fc.integer({ min: 1, max: 10 ** 10 }), (kind, earlier, gap) => {
      return newId(kind, earlier) < newId(kind, earlier + gap);
    }),
    { numRuns: 2000 },
  );
  // A whole sequence, one millisecond apart, comes out already sorted.
  const start = Date.UTC(2026, 10, 22);
  const ids = Array.from({ length: 1000 }, (_, i) => newId('certificate', start + i));
  assert.deepEqual([...ids].sort(), ids);
});

test('isId accepts ids of its own kind only', () => {
  for (const kind of KINDS) {
    const id = newId(kind);
    for (const other of KINDS) assert.equal(isId(other, id), other === kind, `${other} vs ${id}`);
  }
  // `sa_` and `sak_` share a beginning; neither passes for the other.
  assert.equal(isId('service_account', newId('service_account_key')), false);
  assert.equal(isId('service_account_key', newId('service_account')), false);
});

test('isId rejects malformed ids', () => {
  const body = newId('supplier').slice(4);
  for (const bad of [
    `sup_${body.slice(1)}`,
    `sup_${body}0`,
    `SUP_${body}`,
    `sup-${body}`,
    `sup_${body.slice(1)}-`,
    `sup__${body}`,
    ` sup_${body}`,
    `sup_${body}\n`,
    `prd_${body}`,
    body,
    '',
  ]) {
    assert.equal(isId('supplier', bad), false, JSON.stringify(bad));
  }
});

test('idPattern and isId agree', () => {
  fc.assert(
    fc.property(kindArb, kindArb, fc.string({ maxLength: 30 }), (kind, madeAs, noise) => {
      for (const candidate of [newId(madeAs), noise, `${ID_PREFIXES[kind]}_${noise}`]) {
        assert.equal(new RegExp(idPattern(kind)).test(candidate), isId(kind, candidate), candidate);
      }
    }),
    { numRuns: 500 },
  );
  // Bodies of exactly 22 characters, mostly base62 with the characters around its ranges mixed in: where a
  // hand-written character check would be off by one.
  const near = '09AZaz/:@[`{_-\u00e9\u0660'.split('');
  const alphabet = fc.constantFrom(
    ...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.split(''),
  );
  const body22 = fc.array(
    fc.oneof({ weight: 20, arbitrary: alphabet }, { weight: 1, arbitrary: fc.constantFrom(...near) }),
    {
      minLength: 21,
      maxLength: 23,
    },
  );
  fc.assert(
    fc.property(kindArb, kindArb, body22, (kind, prefixOf, chars) => {
      const candidate = `${ID_PREFIXES[prefixOf]}_${chars.join('')}`;
      assert.equal(new RegExp(idPattern(kind)).test(candidate), isId(kind, candidate), candidate);
    }),
    { numRuns: 3000 },
  );
});

test('ids are unique, even within one millisecond', () => {
  const now = Date.now();
  const ids = new Set<string>();
  for (let i = 0; i < 50_000; i++) ids.add(newId('request', now));
  assert.equal(ids.size, 50_000);
  const spread = new Set<string>();
  for (let i = 0; i < 50_000; i++) spread.add(newId('api_key'));
  assert.equal(spread.size, 50_000);
});

test('MonotonicIds: each id is the one before plus one plus 2^80 per millisecond; it draws afresh only when the clock jumps', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2100, 0, 1) }),
      // Mostly the same or the next few milliseconds (and fractions of one); now and then a jump either way.
      fc.array(
        fc.oneof(
          { weight: 20, arbitrary: fc.double({ min: 0, max: 5, noNaN: true }) },
          { weight: 1, arbitrary: fc.integer({ min: 60_001, max: 10_000_000 }) },
          { weight: 1, arbitrary: fc.integer({ min: -100_000, max: -1 }) },
        ),
        { minLength: 1, maxLength: 400 },
      ),
      (start, steps) => {
        const ids = new MonotonicIds('audit_event');
        let now = start;
        let previous: { id: string; value: bigint; ms: number; draws: number } | null = null;
        let draws = 0;
        for (const step of steps) {
          now += step;
          const id = ids.next(now);
          assert.ok(isId('audit_event', id), id);
          assert.equal(Buffer.from(ids.ascii).toString('latin1'), id, 'its bytes are its text');
          const value = decodeBody(id.slice(4));
          const ms = Math.floor(now);
          assert.equal(Number(value >> 80n), ms, 'an id keeps its time');
          if (previous !== null && ms >= previous.ms && ms - previous.ms <= 60_000) {
            assert.equal(
              value,
              previous.value + 1n + BigInt(ms - previous.ms) * 2n ** 80n,
              'advanced by addition',
            );
            assert.ok(id > previous.id, 'and sorts after the one before');
            assert.equal(ids.draws, previous.draws, 'in the same draw');
          } else {
            assert.equal(ids.draws, draws + 1, 'a fresh draw');
          }
          previous = { id, value, ms, draws: ids.draws };
          draws = ids.draws;
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('MonotonicIds: a last digit z carries into the digits above it', () => {
  const ids = new MonotonicIds('audit_event');
  const ms = Date.UTC(2026, 11, 5, 23, 0, 0, 0);
  const made = Array.from({ length: 200 }, () => ids.next(ms));
  const carried = made.filter((_id, i) => i > 0 && (made[i - 1] as string).endsWith('z'));
  assert.ok(carried.length >= 2, 'two hundred ids in one millisecond pass z at least twice');
  for (let i = 1; i < made.length; i++) {
    assert.equal(decodeBody((made[i] as string).slice(4)), decodeBody((made[i - 1] as string).slice(4)) + 1n);
  }
});

test('MonotonicIds: two generators in one millisecond do not collide', () => {
  const a = new MonotonicIds('audit_event');
  const b = new MonotonicIds('audit_event');
  const ms = Date.now();
  const all = new Set<string>();
  for (let i = 0; i < 5_000; i++) {
    all.add(a.next(ms));
    all.add(b.next(ms));
  }
  assert.equal(all.size, 10_000);
});
