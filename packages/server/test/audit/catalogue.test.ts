/**
 * docs/audit.md is the public catalogue of audit actions: every action the server records (AUDIT_ACTIONS,
 * which the type system makes every recording site use) has a table row there, and the page lists no
 * action that does not exist.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AUDIT_ACTIONS } from '../../src/audit/actions.ts';

const doc = readFileSync(new URL('../../../../docs/audit.md', import.meta.url), 'utf8');

/** First cells of table rows that look like actions: `thing.what`. */
const documented = new Set(
  [...doc.matchAll(/^\|\s*`([a-z_]+\.[a-z_]+)`\s*\|/gm)].map((match) => match[1] as string),
);

test('every audit action has a row in docs/audit.md', () => {
  const missing = Object.keys(AUDIT_ACTIONS).filter((action) => !documented.has(action));
  assert.deepEqual(missing, []);
});

test('docs/audit.md lists no action the server does not record', () => {
  const unknown = [...documented].filter((action) => !Object.hasOwn(AUDIT_ACTIONS, action));
  assert.deepEqual(unknown, []);
});
