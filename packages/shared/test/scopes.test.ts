import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  expandScopes,
  hasScope,
  isScope,
  normalizeScopes,
  RESOURCES,
  SCOPE_DESCRIPTIONS,
  SCOPES,
  type Scope,
  scopesBeyond,
} from '../src/scopes.ts';

const RESOURCE_LIST = ['certificates', 'suppliers', 'products'] as const;
const readOf = (r: string) => `read:${r}` as Scope;
const writeOf = (r: string) => `write:${r}` as Scope;
const scopeArb = fc.constantFrom(...SCOPES);
const scopeListArb = fc.array(scopeArb, { maxLength: 6 });

test('the scope list is the reference table plus the wildcards', () => {
  assert.deepEqual([...RESOURCES].sort(), [...RESOURCE_LIST].sort());
  assert.deepEqual(
    [...SCOPES].sort(),
    [...RESOURCE_LIST.flatMap((r) => [readOf(r), writeOf(r)]), 'read:*', 'write:*', 'admin'].sort(),
  );
  for (const scope of SCOPES) assert.ok(SCOPE_DESCRIPTIONS[scope].length > 0, scope);
});

test('admin implies every scope', () => {
  for (const scope of SCOPES) assert.equal(hasScope(['admin'], scope), true, scope);
});

test('write:X implies read:X, but not the reverse, and nothing about other resources', () => {
  for (const resource of RESOURCE_LIST) {
    assert.equal(hasScope([writeOf(resource)], readOf(resource)), true);
    assert.equal(hasScope([writeOf(resource)], writeOf(resource)), true);
    assert.equal(hasScope([readOf(resource)], writeOf(resource)), false);
    for (const other of RESOURCE_LIST.filter((r) => r !== resource)) {
      assert.equal(hasScope([writeOf(resource)], readOf(other)), false);
      assert.equal(hasScope([writeOf(resource)], writeOf(other)), false);
      assert.equal(hasScope([readOf(resource)], readOf(other)), false);
    }
    assert.equal(hasScope([writeOf(resource)], 'admin'), false);
    assert.equal(hasScope([writeOf(resource)], 'read:*'), false);
  }
});

test('read:* and write:* cover every resource', () => {
  for (const resource of RESOURCE_LIST) {
    assert.equal(hasScope(['read:*'], readOf(resource)), true);
    assert.equal(hasScope(['write:*'], readOf(resource)), true);
    assert.equal(hasScope(['write:*'], writeOf(resource)), true);
  }
  assert.equal(hasScope(['write:*'], 'read:*'), true);
  assert.equal(hasScope(['write:*'], 'admin'), false);
  // Holding every resource scope individually is the same as holding the wildcard.
  assert.equal(hasScope(RESOURCE_LIST.map(readOf), 'read:*'), true);
  assert.equal(hasScope(RESOURCE_LIST.map(writeOf), 'write:*'), true);
  assert.equal(hasScope(RESOURCE_LIST.map(readOf).slice(1), 'read:*'), false);
});

test('read:* implies no write and not admin', () => {
  for (const resource of RESOURCE_LIST) assert.equal(hasScope(['read:*'], writeOf(resource)), false);
  assert.equal(hasScope(['read:*'], 'write:*'), false);
  assert.equal(hasScope(['read:*'], 'admin'), false);
  // Even everything short of admin is not admin: admin also unlocks access management.
  assert.equal(hasScope(['read:*', 'write:*'], 'admin'), false);
});

test('no scopes and unknown strings grant nothing', () => {
  for (const scope of SCOPES) {
    assert.equal(hasScope([], scope), false);
    assert.equal(hasScope(['Admin', 'read:everything', 'write:*:*', '*', ''], scope), false);
  }
  assert.equal(expandScopes(['nope', 'ADMIN']).size, 0);
});

test('hasScope is monotone: adding scopes never removes a permission', () => {
  fc.assert(
    fc.property(scopeListArb, scopeListArb, scopeArb, (held, extra, required) => {
      return !hasScope(held, required) || hasScope([...held, ...extra], required);
    }),
    { numRuns: 1000 },
  );
});

test('scopesBeyond: the scopes a holder cannot grant (no escalation)', () => {
  assert.deepEqual(scopesBeyond(['read:certificates'], ['admin']), []);
  assert.deepEqual(scopesBeyond(['admin'], ['admin']), []);
  assert.deepEqual(scopesBeyond(['admin'], ['read:*', 'write:*']), ['admin']);
  assert.deepEqual(scopesBeyond(['read:suppliers'], ['write:suppliers']), []);
  assert.deepEqual(scopesBeyond(['write:suppliers'], ['read:suppliers']), ['write:suppliers']);
  assert.deepEqual(scopesBeyond(['read:*'], ['read:certificates', 'read:suppliers']), ['read:*']);
  assert.deepEqual(scopesBeyond(['read:*'], ['read:certificates', 'read:suppliers', 'read:products']), []);
  assert.deepEqual(scopesBeyond(['write:products', 'read:products'], ['read:*']), ['write:products']);
  assert.deepEqual(scopesBeyond(['read:products', 'write:certificates'], []), [
    'read:products',
    'write:certificates',
  ]);
  assert.deepEqual(scopesBeyond([], []), []);
});

test('scopesBeyond agrees with hasScope', () => {
  fc.assert(
    fc.property(scopeListArb, scopeListArb, (requested, held) => {
      const beyond = scopesBeyond(requested, held);
      assert.deepEqual(
        beyond,
        requested.filter((scope) => !hasScope(held, scope)),
      );
    }),
    { numRuns: 1000 },
  );
});

test('normalizeScopes dedupes and orders canonically', () => {
  assert.deepEqual(normalizeScopes(['admin', 'read:certificates', 'admin']), ['read:certificates', 'admin']);
  assert.deepEqual(normalizeScopes(['write:products', 'read:suppliers', 'read:certificates', 'read:*']), [
    'read:certificates',
    'read:suppliers',
    'write:products',
    'read:*',
  ]);
  assert.deepEqual(normalizeScopes([]), []);
  fc.assert(
    fc.property(scopeListArb, (scopes) => {
      const normal = normalizeScopes(scopes);
      assert.equal(new Set(normal).size, normal.length);
      assert.deepEqual(new Set(normal), new Set(scopes));
      assert.deepEqual(normalizeScopes([...scopes].reverse()), normal);
      assert.deepEqual(normalizeScopes(normal), normal);
      // Normalizing never changes what a scope list allows.
      for (const scope of SCOPES) assert.equal(hasScope(normal, scope), hasScope(scopes, scope));
    }),
    { numRuns: 500 },
  );
});

test('isScope accepts the known scopes only', () => {
  for (const scope of SCOPES) assert.equal(isScope(scope), true);
  for (const value of [
    'Admin',
    'ADMIN',
    'read',
    'read:',
    'read:certificate',
    'read:orders',
    'delete:certificates',
    '*',
    ' admin',
    'admin ',
    'read:* ',
    '',
    null,
    undefined,
    42,
    ['admin'],
    { scope: 'admin' },
  ]) {
    assert.equal(isScope(value), false, JSON.stringify(value));
  }
  fc.assert(
    fc.property(fc.string(), (s) => isScope(s) === (SCOPES as readonly string[]).includes(s)),
    { numRuns: 500 },
  );
});
