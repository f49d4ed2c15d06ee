/**
 * The Security page's mapping of the report's checks to the reference's practices and to actions. The
 * server exports no runtime list of check ids (only the `SecurityCheck` type, in report.ts and the SDK), so
 * the ids are read from the server's own response schema for `GET /v1/security/report`, registered on a
 * bare Fastify: a check the server adds without a mapping here fails this test (`tsc` fails it too, through
 * the SDK's `SecurityCheck['id']`, which the SDK's contract test ties to the same schema).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import type { AppDeps } from '../../server/src/app-deps.ts';
import { securityReportRoutes } from '../../server/src/security/routes.ts';
import type {
  SecurityCheck,
  SecurityKeyItem,
  ServiceAccountKeyItem,
  UnusedScopesItem,
} from '../src/api/types.ts';
import {
  CHECKS,
  type CheckId,
  checkInfo,
  checksOf,
  days,
  expiryPreset,
  isServiceAccountCheck,
  itemAction,
  PRACTICES,
  summarize,
} from '../src/lib/security-checks.ts';

/** The `id` constants of the `checks` items in the route's 200 response schema. */
async function serverCheckIds(): Promise<string[]> {
  const app = Fastify();
  let schema: unknown;
  app.addHook('onRoute', (route) => {
    if (route.method === 'GET' && route.url === '/v1/security/report') schema = route.schema;
  });
  // The plugin only reads its deps when a request comes; none does.
  await app.register(securityReportRoutes({} as AppDeps));
  await app.ready();
  await app.close();
  const checks = (
    schema as {
      response?: { 200?: { properties?: { checks?: { items?: { anyOf?: unknown[] } } } } };
    }
  )?.response?.[200]?.properties?.checks?.items?.anyOf;
  assert.ok(Array.isArray(checks), 'GET /v1/security/report declares its checks as a union');
  return checks.map((check) => {
    const id = (check as { properties?: { id?: { const?: unknown } } }).properties?.id?.const;
    assert.equal(typeof id, 'string', 'every check in the schema has a constant id');
    return id as string;
  });
}

describe('the check mapping', () => {
  test('every check the server reports has a practice and an action, and no other is mapped', async () => {
    const server = await serverCheckIds();
    assert.ok(server.length >= 6, `the server reports its checks (found ${server.join(', ')})`);
    for (const id of server) assert.ok(checkInfo(id), `no mapping for the server's check "${id}"`);
    assert.deepEqual(Object.keys(CHECKS).sort(), [...server].sort());
  });

  test('the practices are the reference’s five, tied to the checks that measure them', () => {
    assert.deepEqual(
      PRACTICES.map((p) => p.title),
      [
        'Never commit credentials',
        'Rotate keys regularly',
        'Use least privilege',
        'Monitor usage',
        'Revoke unused keys',
      ],
    );
    assert.deepEqual(checksOf('never_commit'), ['leaked_keys']);
    assert.deepEqual(checksOf('rotate'), [
      'keys_without_expiry',
      'keys_older_than_policy',
      'service_account_keys_older_than_policy',
      'service_account_keys_without_expiry',
    ]);
    assert.deepEqual(checksOf('least_privilege'), ['unused_scopes', 'admin_keys']);
    assert.deepEqual(checksOf('monitor'), []);
    assert.deepEqual(checksOf('revoke_unused'), ['unused_keys']);
    // Every mapped check is listed under exactly one practice.
    const listed = PRACTICES.flatMap((p) => checksOf(p.id)).sort();
    assert.deepEqual(listed, (Object.keys(CHECKS) as CheckId[]).sort());
  });

  test('a check newer than the dashboard has no mapping, and no button', () => {
    assert.equal(checkInfo('keys_in_source_control'), undefined);
    assert.equal(checkInfo('toString'), undefined);
    const check = {
      id: 'keys_in_source_control',
      status: 'warn',
      title: '',
      suggested_action: '',
      items: [],
    };
    assert.equal(itemAction(check as unknown as SecurityCheck, keyItem()), null);
  });
});

function keyItem(overrides: Partial<UnusedScopesItem> = {}): UnusedScopesItem {
  return {
    key_id: 'key_033zVjDXkA9z3n4mUnwuF7',
    name: 'Certificate sync',
    prefix: 'ck_live_xUpS',
    last4: 'fRI1',
    mode: 'live',
    scopes: ['read:certificates', 'write:products'],
    created_at: '2026-08-01T09:00:00Z',
    age_days: 102,
    expires_at: null,
    last_used_at: '2026-11-09T09:00:00Z',
    days_since_last_use: 2,
    action: 'Roll it.',
    used: ['read:certificates'],
    suggested_scopes: ['read:certificates'],
    unused: ['write:products'],
    ...overrides,
  };
}

function checkOf(id: CheckId, items: (SecurityKeyItem | ServiceAccountKeyItem)[]): SecurityCheck {
  return { id, status: 'warn', title: id, suggested_action: '', items } as SecurityCheck;
}

describe('item actions', () => {
  test('keys without expiry: roll into a key that expires in 90 days', () => {
    const item = keyItem();
    assert.deepEqual(itemAction(checkOf('keys_without_expiry', [item]), item), {
      kind: 'roll',
      label: 'Set an expiration',
      ariaLabel: 'Set an expiration for Certificate sync',
      preset: {
        expiresInDays: 90,
        reason: 'The new key expires in 90 days; the old one ends after the grace period.',
      },
    });
  });

  test('a shorter maximum key lifetime caps the expiration, a longer one does not', () => {
    assert.equal(expiryPreset(30).expiresInDays, 30);
    assert.match(expiryPreset(30).reason ?? '', /expires in 30 days/);
    assert.equal(expiryPreset(365).expiresInDays, 90);
    assert.equal(expiryPreset(null).expiresInDays, 90);
    const item = keyItem();
    const action = itemAction(checkOf('keys_without_expiry', [item]), item, 45);
    assert.equal(action?.kind === 'roll' ? action.preset?.expiresInDays : null, 45);
  });

  test('keys older than the policy: a plain roll', () => {
    const item = keyItem();
    assert.deepEqual(itemAction(checkOf('keys_older_than_policy', [item]), item), {
      kind: 'roll',
      label: 'Roll key',
      ariaLabel: 'Roll Certificate sync',
    });
  });

  test('unused scopes: roll into the suggested scopes, or revoke a key that used none', () => {
    const item = keyItem();
    assert.deepEqual(itemAction(checkOf('unused_scopes', [item]), item), {
      kind: 'roll',
      label: 'Narrow to read:certificates',
      ariaLabel: 'Narrow Certificate sync to read:certificates',
      preset: {
        scopes: ['read:certificates'],
        reason:
          'The new key holds only read:certificates, with the same mode and lifetime; the old one ends after the grace period.',
      },
    });
    const two = keyItem({ suggested_scopes: ['write:products', 'read:certificates'] });
    assert.equal(
      itemAction(checkOf('unused_scopes', [two]), two)?.label,
      'Narrow to read:certificates, write:products',
    );
    const idle = keyItem({ used: [], suggested_scopes: [] });
    assert.deepEqual(itemAction(checkOf('unused_scopes', [idle]), idle), {
      kind: 'revoke',
      label: 'Revoke',
      ariaLabel: 'Revoke Certificate sync',
    });
  });

  test('unused keys and admin keys: revoke', () => {
    const item = keyItem();
    for (const id of ['unused_keys', 'admin_keys'] as const) {
      assert.deepEqual(itemAction(checkOf(id, [item]), item), {
        kind: 'revoke',
        label: 'Revoke',
        ariaLabel: 'Revoke Certificate sync',
      });
    }
  });

  test('old service-account keys: delete, named by the account', () => {
    const item: ServiceAccountKeyItem = {
      key_id: 'sak_033zVjDXldJuk1ieLFcSIK',
      service_account_id: 'sa_033zVjDXoxCCyztjeEEiem',
      service_account_name: 'erp-connector',
      mode: 'live',
      scopes: ['read:*'],
      algorithm: 'ES256',
      origin: 'generated',
      created_at: '2026-08-01T09:00:00Z',
      age_days: 102,
      expires_at: null,
      last_used_at: null,
      action: 'Add a new key, then delete this one.',
    };
    assert.deepEqual(itemAction(checkOf('service_account_keys_older_than_policy', [item]), item), {
      kind: 'delete_service_account_key',
      label: 'Delete key',
      ariaLabel: 'Delete key sak_033zVjDXldJuk1ieLFcSIK of erp-connector',
    });
    // Without expiry: the same remedy (a new key, then delete this one), the same button.
    assert.deepEqual(itemAction(checkOf('service_account_keys_without_expiry', [item]), item), {
      kind: 'delete_service_account_key',
      label: 'Delete key',
      ariaLabel: 'Delete key sak_033zVjDXldJuk1ieLFcSIK of erp-connector',
    });
  });

  test('the checks that list service-account keys are told apart by their action, not their id', () => {
    const listed = (Object.keys(CHECKS) as CheckId[]).filter((id) => isServiceAccountCheck(checkOf(id, [])));
    assert.deepEqual(listed, [
      'service_account_keys_older_than_policy',
      'service_account_keys_without_expiry',
    ]);
    assert.equal(isServiceAccountCheck(checkOf('keys_without_expiry', [keyItem()])), false);
    // A check newer than this dashboard is not assumed to hold service-account keys.
    assert.equal(isServiceAccountCheck(checkOf('keys_in_source_control' as CheckId, [])), false);
  });
});

describe('summary and words', () => {
  test('counts checks by status', () => {
    const statuses = ['warn', 'fail', 'pass', 'warn', 'warn', 'fail'] as const;
    assert.deepEqual(summarize(statuses.map((status) => ({ status }))), { pass: 1, warn: 3, fail: 2 });
    assert.deepEqual(summarize([]), { pass: 0, warn: 0, fail: 0 });
  });

  test('days', () => {
    assert.equal(days(1), '1 day');
    assert.equal(days(0), '0 days');
    assert.equal(days(102), '102 days');
  });
});
