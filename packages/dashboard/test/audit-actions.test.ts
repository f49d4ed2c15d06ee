/**
 * The Audit log's action filter suggests the actions the server records. The dashboard keeps its own copy
 * of the names (it bundles nothing of the server): this checks that the copy and the server's catalogue
 * are the same set, so a new or renamed action cannot be forgotten in the datalist.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AUDIT_ACTIONS } from '../../server/src/audit/actions.ts';
import { AUDIT_ACTION_NAMES, AUDIT_ACTION_PREFIXES } from '../src/lib/audit-actions.ts';

test('the dashboard lists exactly the audit actions the server records', () => {
  const dashboard = [...AUDIT_ACTION_NAMES].sort();
  const server = Object.keys(AUDIT_ACTIONS).sort();
  assert.deepEqual(dashboard, server);
});

test('the dashboard lists each action once', () => {
  assert.equal(new Set(AUDIT_ACTION_NAMES).size, AUDIT_ACTION_NAMES.length);
});

test('every action is a valid filter and its prefix too', () => {
  // The server's pattern for the `action` filter (packages/server/src/audit/routes.ts).
  for (const name of AUDIT_ACTION_NAMES) assert.match(name, /^[a-z_]+\.[a-z_]+$/);
  for (const prefix of AUDIT_ACTION_PREFIXES) assert.match(prefix, /^[a-z_]+\.$/);
  assert.ok(AUDIT_ACTION_PREFIXES.includes('api_key.'));
});
