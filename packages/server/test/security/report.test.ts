/**
 * `GET /v1/security/report` on every engine (DESIGN §4, §5.4), from constructed data and a manual clock:
 * each check's pass and non-pass case (keys without expiry, keys past the rotation policy and the org's own
 * policy, unused keys, scopes granted but unused with the suggested smaller list, admin keys, service-account
 * keys by age and without expiry), revoked and expired keys ignored, tenancy by org and mode, `admin` required, and no key,
 * hash or private key in any response.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Mode, Scope } from '@cohera/shared';
import type { LightMyRequestResponse } from 'fastify';
import { hashApiKey } from '../../src/auth/api-keys/repository.ts';
import { SESSION_COOKIE } from '../../src/auth/sessions/store.ts';
import { isoAt, ManualClock } from '../../src/clock.ts';
import { createAccount, generateKey } from '../service-accounts/fixtures.ts';
import {
  createKey,
  createMember,
  createOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { apiTimeOf, assertProblem } from '../support/problem.ts';

const DAY = 86_400_000;

const CHECK_IDS = [
  'keys_without_expiry',
  'keys_older_than_policy',
  'unused_keys',
  'unused_scopes',
  'admin_keys',
  'leaked_keys',
  'service_account_keys_older_than_policy',
  'service_account_keys_without_expiry',
] as const;
type CheckId = (typeof CHECK_IDS)[number];

const API_KEY_ITEM_FIELDS = [
  'action',
  'age_days',
  'created_at',
  'days_since_last_use',
  'expires_at',
  'key_id',
  'last4',
  'last_used_at',
  'mode',
  'name',
  'prefix',
  'scopes',
];

interface Item {
  key_id: string;
  name: string;
  prefix: string;
  last4: string;
  mode: Mode;
  scopes: string[];
  created_at: string;
  age_days: number;
  expires_at: string | null;
  last_used_at: string | null;
  days_since_last_use?: number | null;
  action: string;
  used?: string[];
  suggested_scopes?: string[];
  unused?: string[];
  service_account_id?: string;
  service_account_name?: string;
  algorithm?: string;
  origin?: string;
}

interface Check {
  id: CheckId;
  status: 'pass' | 'warn' | 'fail';
  title: string;
  suggested_action: string;
  items: Item[];
}

interface Report {
  object: string;
  generated_at: string;
  modes: Mode[];
  policy: { key_rotation_days: number; unused_days: number };
  checks: Check[];
}

interface MadeKey {
  id: string;
  key: string;
}

forEachEngine('security report', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  /** Every key, hash and private-key line made in this suite, and every report body: the last test greps. */
  const secrets: string[] = [];
  const bodies: string[] = [];

  before(async () => {
    clock = new ManualClock();
    // No background flush: the report must flush recorded usage itself.
    t = await startTestApp(handle(), { clock, usageFlushMs: 3_600_000 });
  });
  after(() => t.close());

  async function keyIdOf(key: string): Promise<string> {
    const row = await t.app.deps.db
      .selectFrom('api_keys')
      .select('id')
      .where('key_hash', '=', hashApiKey(key))
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function newOrg(): Promise<TestOrg & { adminKeyId: string }> {
    const org = await createOrg(t.app);
    secrets.push(org.adminKey, hashApiKey(org.adminKey));
    return { ...org, adminKeyId: await keyIdOf(org.adminKey) };
  }

  async function newKey(
    org: TestOrg,
    scopes: Scope[],
    mode: Mode = 'live',
    extra: { expiresAt?: string | null } = {},
  ): Promise<MadeKey> {
    const key = await createKey(t.app, org, scopes, mode, extra);
    secrets.push(key, hashApiKey(key));
    return { id: await keyIdOf(key), key };
  }

  async function ok(res: Promise<LightMyRequestResponse>, status = 200): Promise<LightMyRequestResponse> {
    const response = await res;
    assert.equal(response.statusCode, status, response.body);
    return response;
  }

  async function signIn(email: string, password: string): Promise<string> {
    const res = await ok(t.inject({ method: 'POST', url: '/auth/login', payload: { email, password } }));
    const header = res.headers['set-cookie'];
    const cookies = Array.isArray(header) ? header : [String(header)];
    const cookie = cookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`))?.split(';')[0];
    assert.ok(cookie, 'no session cookie');
    return cookie;
  }

  function fetchReport(credential: string | { cookie: string }): Promise<LightMyRequestResponse> {
    const headers =
      typeof credential === 'string'
        ? { authorization: `Bearer ${credential}` }
        : { cookie: credential.cookie };
    return t.inject({ method: 'GET', url: '/v1/security/report', headers });
  }

  async function report(credential: string | { cookie: string }): Promise<Report> {
    const res = await ok(fetchReport(credential));
    bodies.push(res.body);
    return res.json<Report>();
  }

  function check(r: Report, id: CheckId): Check {
    const found = r.checks.find((c) => c.id === id);
    assert.ok(found, `no ${id} check`);
    return found;
  }

  const idsIn = (c: Check) => c.items.map((i) => i.key_id).sort();
  const allIds = (r: Report) => new Set(r.checks.flatMap((c) => c.items.map((i) => i.key_id)));
  const item = (c: Check, id: string) => {
    const found = c.items.find((i) => i.key_id === id);
    assert.ok(found, `${id} is not in ${c.id}`);
    return found;
  };
  const sorted = (...ids: string[]) => [...ids].sort();

  test('a new org: its bootstrap key never expires and holds admin; nothing is old or unused yet', async () => {
    const org = await newOrg();
    const r = await report(org.adminKey);
    assert.equal(r.object, 'security_report');
    assert.equal(r.generated_at, apiTimeOf(clock.now()));
    assert.deepEqual(r.modes, ['live', 'test']);
    assert.deepEqual(r.policy, { key_rotation_days: 90, unused_days: 30 });
    assert.deepEqual(
      r.checks.map((c) => c.id),
      [...CHECK_IDS],
    );
    for (const c of r.checks) {
      assert.deepEqual(Object.keys(c).sort(), ['id', 'items', 'status', 'suggested_action', 'title']);
      assert.ok(c.title.length > 0 && c.suggested_action.length > 0, c.id);
      assert.equal(c.status === 'pass', c.items.length === 0, c.id);
    }

    const noExpiry = check(r, 'keys_without_expiry');
    assert.equal(noExpiry.status, 'warn');
    assert.equal(noExpiry.items.length, 1);
    const bootstrap = noExpiry.items[0]!;
    assert.deepEqual(Object.keys(bootstrap).sort(), API_KEY_ITEM_FIELDS);
    assert.equal(bootstrap.key_id, org.adminKeyId);
    assert.ok(org.adminKey.startsWith(bootstrap.prefix) && bootstrap.prefix.startsWith('ck_live_'));
    assert.equal(bootstrap.last4, org.adminKey.slice(-4));
    assert.equal(bootstrap.mode, 'live');
    assert.deepEqual(bootstrap.scopes, ['admin']);
    assert.equal(bootstrap.created_at, apiTimeOf(clock.now()));
    assert.equal(bootstrap.age_days, 0);
    assert.equal(bootstrap.expires_at, null);
    // The key asking is in use right now.
    assert.equal(bootstrap.last_used_at, apiTimeOf(clock.now()));
    assert.equal(bootstrap.days_since_last_use, 0);
    assert.match(bootstrap.action, /expires_in_days/);
    assert.match(bootstrap.action, new RegExp(`/v1/api-keys/${org.adminKeyId}/revoke`));

    const admin = check(r, 'admin_keys');
    assert.equal(admin.status, 'warn');
    assert.deepEqual(idsIn(admin), [org.adminKeyId]);
    for (const id of [
      'keys_older_than_policy',
      'unused_keys',
      'unused_scopes',
      'service_account_keys_older_than_policy',
      'service_account_keys_without_expiry',
    ] as const) {
      assert.equal(check(r, id).status, 'pass', id);
      assert.deepEqual(check(r, id).items, [], id);
    }
    assert.match(check(r, 'unused_keys').title, /younger than 30 days are not judged/);
    assert.match(check(r, 'unused_scopes').title, /younger than 30 days are not judged/);
  });

  test('every check passes for keys that expire, are in use, hold what they use and are not admin', async () => {
    const org = await newOrg();
    const reader = await newKey(org, ['read:certificates'], 'live', {
      expiresAt: isoAt(clock.now() + 80 * DAY),
    });
    await ok(t.call(org.adminKey, 'POST', `/v1/api-keys/${org.adminKeyId}/revoke`));
    clock.advance(40 * DAY);
    await ok(t.call(reader.key, 'GET', '/v1/certificates'));
    // The owner's dashboard session holds admin: the report needs no admin API key.
    const cookie = await signIn(org.email, org.password);
    const r = await report({ cookie });
    assert.deepEqual(r.modes, ['live', 'test']);
    for (const c of r.checks) {
      assert.equal(c.status, 'pass', `${c.id}: ${JSON.stringify(c.items)}`);
      assert.deepEqual(c.items, [], c.id);
    }
  });

  test('keys_older_than_policy fails at 90 days by default and follows the org’s key_rotation_days', async () => {
    const org = await newOrg();
    const old = await newKey(org, ['read:suppliers']);
    clock.advance(89 * DAY);
    assert.equal(check(await report(org.adminKey), 'keys_older_than_policy').status, 'pass');

    clock.advance(DAY);
    let r = await report(org.adminKey);
    let policy = check(r, 'keys_older_than_policy');
    assert.equal(policy.status, 'fail');
    assert.match(policy.title, /90 days/);
    assert.deepEqual(idsIn(policy), sorted(org.adminKeyId, old.id));
    const overdue = item(policy, old.id);
    assert.equal(overdue.age_days, 90);
    assert.equal(overdue.created_at, apiTimeOf(clock.now() - 90 * DAY));
    assert.match(overdue.action, new RegExp(`/v1/api-keys/${old.id}/roll`));

    const patched = await ok(
      t.call(org.adminKey, 'PATCH', '/v1/organization', { policy: { key_rotation_days: 30 } }),
    );
    assert.equal(patched.json<{ policy: { key_rotation_days: number } }>().policy.key_rotation_days, 30);
    const fresh = await newKey(org, ['read:suppliers']);
    clock.advance(29 * DAY);
    r = await report(org.adminKey);
    policy = check(r, 'keys_older_than_policy');
    assert.equal(r.policy.key_rotation_days, 30);
    assert.match(policy.title, /30 days/);
    assert.deepEqual(idsIn(policy), sorted(org.adminKeyId, old.id));
    clock.advance(DAY);
    policy = check(await report(org.adminKey), 'keys_older_than_policy');
    assert.deepEqual(idsIn(policy), sorted(org.adminKeyId, old.id, fresh.id));
    assert.equal(item(policy, fresh.id).age_days, 30);

    // No policy (null) means the default of 90 days.
    await ok(t.call(org.adminKey, 'PATCH', '/v1/organization', { policy: { key_rotation_days: null } }));
    r = await report(org.adminKey);
    assert.equal(r.policy.key_rotation_days, 90);
    assert.deepEqual(idsIn(check(r, 'keys_older_than_policy')), sorted(org.adminKeyId, old.id));
  });

  test('unused_keys: keys 30 days old with no use in 30 days; younger keys and the caller are not judged', async () => {
    const org = await newOrg();
    const start = clock.now();
    const never = await newKey(org, ['read:suppliers']);
    const stale = await newKey(org, ['read:suppliers']);
    const recent = await newKey(org, ['read:suppliers']);
    clock.set(start + 5 * DAY);
    await ok(t.call(stale.key, 'GET', '/v1/suppliers'));
    const staleUse = clock.now();
    clock.set(start + 20 * DAY);
    const young = await newKey(org, ['read:suppliers']);
    clock.set(start + 35 * DAY);
    await ok(t.call(recent.key, 'GET', '/v1/suppliers'));
    clock.set(start + 40 * DAY);

    // The bootstrap key was never used before this request, but it is being used now.
    let unused = check(await report(org.adminKey), 'unused_keys');
    assert.equal(unused.status, 'warn');
    assert.deepEqual(idsIn(unused), sorted(never.id, stale.id));
    const neverItem = item(unused, never.id);
    assert.equal(neverItem.last_used_at, null);
    assert.equal(neverItem.days_since_last_use, null);
    assert.equal(neverItem.age_days, 40);
    assert.match(neverItem.action, /never used/);
    assert.match(neverItem.action, new RegExp(`/v1/api-keys/${never.id}/revoke`));
    const staleItem = item(unused, stale.id);
    assert.equal(staleItem.last_used_at, apiTimeOf(staleUse));
    assert.equal(staleItem.days_since_last_use, 35);
    assert.match(staleItem.action, /last used 35 days ago/);
    assert.ok(!unused.items.some((i) => i.key_id === young.id || i.key_id === recent.id));

    // Exactly 30 days without use counts as unused.
    clock.set(start + 65 * DAY);
    unused = check(await report(org.adminKey), 'unused_keys');
    assert.deepEqual(idsIn(unused), sorted(never.id, stale.id, recent.id, young.id));
    assert.equal(item(unused, recent.id).days_since_last_use, 30);
    assert.ok(!unused.items.some((i) => i.key_id === org.adminKeyId));

    // Using a key takes it off the list at once (the report flushes recorded usage first).
    await ok(t.call(never.key, 'GET', '/v1/suppliers'));
    unused = check(await report(org.adminKey), 'unused_keys');
    assert.ok(!unused.items.some((i) => i.key_id === never.id));
  });

  test('unused_scopes: the smallest scope list covering what each key used in 30 days, and what to drop', async () => {
    const org = await newOrg();
    const start = clock.now();
    const narrow = await newKey(org, ['read:certificates', 'write:products']);
    const writerThatReads = await newKey(org, ['write:products']);
    const wide = await newKey(org, ['read:*']);
    const admin = await newKey(org, ['admin']);
    const faded = await newKey(org, ['read:certificates', 'read:products']);
    const failing = await newKey(org, ['read:suppliers']);
    const exact = await newKey(org, ['read:suppliers', 'write:suppliers']);
    // Used 35 days before the report: outside the window.
    await ok(t.call(faded.key, 'GET', '/v1/products'));

    clock.set(start + 30 * DAY);
    const young = await newKey(org, ['write:*']);
    clock.set(start + 35 * DAY);
    await ok(t.call(narrow.key, 'GET', '/v1/certificates'));
    await ok(t.call(writerThatReads.key, 'GET', '/v1/products'));
    for (const resource of ['certificates', 'suppliers', 'products']) {
      await ok(t.call(wide.key, 'GET', `/v1/${resource}`));
    }
    await ok(t.call(admin.key, 'GET', '/v1/suppliers'));
    await ok(t.call(faded.key, 'GET', '/v1/certificates'));
    // Failed requests use no scope.
    await ok(t.call(failing.key, 'GET', `/v1/suppliers/sup_${'0'.repeat(22)}`), 404);
    await ok(t.call(exact.key, 'POST', '/v1/suppliers', { name: 'Nordic Steel AB', country: 'SE' }), 201);
    await ok(t.call(young.key, 'GET', '/v1/products'));
    clock.set(start + 40 * DAY);

    // Nothing has been written yet (no background flush in this suite): the report flushes first.
    const stored = await t.app.deps.db
      .selectFrom('api_key_scope_usage')
      .select('scope')
      .where('key_id', '=', narrow.id)
      .execute();
    assert.deepEqual(stored, []);

    const scopes = check(await report(org.adminKey), 'unused_scopes');
    assert.equal(scopes.status, 'warn');
    assert.deepEqual(idsIn(scopes), sorted(narrow.id, writerThatReads.id, admin.id, faded.id, failing.id));
    const expect = (key: MadeKey, used: string[], suggested: string[], unused: string[]) => {
      const it = item(scopes, key.id);
      assert.deepEqual(
        { used: it.used, suggested_scopes: it.suggested_scopes, unused: it.unused },
        { used, suggested_scopes: suggested, unused },
        key.id,
      );
      assert.deepEqual(
        Object.keys(it).sort(),
        [...API_KEY_ITEM_FIELDS, 'suggested_scopes', 'unused', 'used'].sort(),
      );
      return it;
    };
    const narrowItem = expect(narrow, ['read:certificates'], ['read:certificates'], ['write:products']);
    assert.deepEqual(narrowItem.scopes, ['read:certificates', 'write:products']);
    assert.equal(narrowItem.age_days, 40);
    assert.match(narrowItem.action, /holding only read:certificates/);
    expect(writerThatReads, ['read:products'], ['read:products'], ['write:products']);
    expect(admin, ['read:suppliers'], ['read:suppliers'], ['admin']);
    expect(faded, ['read:certificates'], ['read:certificates'], ['read:products']);
    const failingItem = expect(failing, [], [], ['read:suppliers']);
    assert.match(failingItem.action, /used none of its scopes/);
    // Not listed: read:* used on every resource, write:suppliers covering the read:suppliers it also holds,
    // a key younger than 30 days, and the admin key asking (it is using admin now).
    for (const id of [wide.id, exact.id, young.id, org.adminKeyId]) {
      assert.ok(!scopes.items.some((i) => i.key_id === id), id);
    }

    // After 30 more days without use, what the narrow key used is unused too.
    clock.set(start + 66 * DAY);
    const later = check(await report(org.adminKey), 'unused_scopes');
    const narrowLater = item(later, narrow.id);
    assert.deepEqual(narrowLater.used, []);
    assert.deepEqual(narrowLater.unused, ['read:certificates', 'write:products']);
  });

  test('admin_keys warns on every active admin key, in both modes, with an action for each', async () => {
    const org = await newOrg();
    const testAdmin = await newKey(org, ['admin'], 'test', { expiresAt: isoAt(clock.now() + 60 * DAY) });
    const reader = await newKey(org, ['read:*', 'write:*']);
    const admin = check(await report(org.adminKey), 'admin_keys');
    assert.equal(admin.status, 'warn');
    assert.deepEqual(idsIn(admin), sorted(org.adminKeyId, testAdmin.id));
    assert.equal(item(admin, testAdmin.id).mode, 'test');
    assert.equal(item(admin, testAdmin.id).expires_at, apiTimeOf(clock.now() + 60 * DAY));
    assert.match(item(admin, org.adminKeyId).action, /admin key that expires/);
    assert.match(item(admin, testAdmin.id).action, /administration only/);
    assert.ok(!admin.items.some((i) => i.key_id === reader.id));
  });

  test('revoked and expired keys appear in no check', async () => {
    const org = await newOrg();
    const revoked = await newKey(org, ['admin']);
    const expiring = await newKey(org, ['admin'], 'live', { expiresAt: isoAt(clock.now() + 5 * DAY) });
    const kept = await newKey(org, ['admin'], 'live', { expiresAt: isoAt(clock.now() + 200 * DAY) });
    await ok(t.call(org.adminKey, 'POST', `/v1/api-keys/${revoked.id}/revoke`));
    let r = await report(org.adminKey);
    assert.ok(allIds(r).has(expiring.id), 'an unexpired key is reported');
    assert.ok(!allIds(r).has(revoked.id));

    // Old, unused and admin: every check would list these two if they were active.
    clock.advance(100 * DAY);
    r = await report(org.adminKey);
    assert.ok(!allIds(r).has(revoked.id));
    assert.ok(!allIds(r).has(expiring.id));
    for (const id of ['keys_older_than_policy', 'unused_keys', 'unused_scopes', 'admin_keys'] as const) {
      assert.ok(idsIn(check(r, id)).includes(kept.id), `${id} lists the active key`);
    }
  });

  test('service_account_keys_older_than_policy lists active keys by age; deleted keys and accounts are ignored', async () => {
    const org = await newOrg();
    const account = await createAccount(t, org.adminKey, ['read:*']);
    const oldest = await generateKey(t, org.adminKey, account.id);
    const dropped = await generateKey(t, org.adminKey, account.id);
    const gone = await createAccount(t, org.adminKey, ['read:*']);
    const goneKey = await generateKey(t, org.adminKey, gone.id);
    const sandbox = await createAccount(t, org.adminKey, ['read:*'], { mode: 'test' });
    const sandboxKey = await generateKey(t, org.adminKey, sandbox.id);
    for (const file of [oldest, dropped, goneKey, sandboxKey]) secrets.push(file.private_key.split('\n')[1]!);

    clock.advance(89 * DAY);
    assert.equal(check(await report(org.adminKey), 'service_account_keys_older_than_policy').status, 'pass');
    const newer = await generateKey(t, org.adminKey, account.id);
    secrets.push(newer.private_key.split('\n')[1]!);
    await ok(
      t.call(org.adminKey, 'DELETE', `/v1/service-accounts/${account.id}/keys/${dropped.private_key_id}`),
      204,
    );
    await ok(t.call(org.adminKey, 'DELETE', `/v1/service-accounts/${gone.id}`), 204);

    clock.advance(DAY);
    const aged = check(await report(org.adminKey), 'service_account_keys_older_than_policy');
    assert.equal(aged.status, 'fail');
    assert.deepEqual(idsIn(aged), sorted(oldest.private_key_id, sandboxKey.private_key_id));
    const it = item(aged, oldest.private_key_id);
    assert.deepEqual(Object.keys(it).sort(), [
      'action',
      'age_days',
      'algorithm',
      'created_at',
      'expires_at',
      'key_id',
      'last_used_at',
      'mode',
      'origin',
      'scopes',
      'service_account_id',
      'service_account_name',
    ]);
    assert.equal(it.service_account_id, account.id);
    assert.equal(it.service_account_name, account.name);
    assert.equal(it.mode, 'live');
    assert.deepEqual(it.scopes, ['read:*']);
    assert.equal(it.algorithm, 'ES256');
    assert.equal(it.origin, 'generated');
    assert.equal(it.age_days, 90);
    assert.equal(it.created_at, apiTimeOf(clock.now() - 90 * DAY));
    assert.equal(it.expires_at, null);
    assert.match(it.action, new RegExp(`/v1/service-accounts/${account.id}/keys/${oldest.private_key_id}`));
    assert.equal(item(aged, sandboxKey.private_key_id).mode, 'test');

    // A test-mode admin key sees the test account's key only.
    const testAdmin = await newKey(org, ['admin'], 'test');
    const sandboxed = check(await report(testAdmin.key), 'service_account_keys_older_than_policy');
    assert.deepEqual(idsIn(sandboxed), [sandboxKey.private_key_id]);
  });

  test('service_account_keys_without_expiry warns on keys with no expiry, not on expiring or expired ones', async () => {
    const org = await newOrg();
    const other = await newOrg();
    const account = await createAccount(t, org.adminKey, ['read:*', 'write:suppliers']);
    const forever = await generateKey(t, org.adminKey, account.id);
    const keysUrl = `/v1/service-accounts/${account.id}/keys`;
    const expiring = (await ok(t.call(org.adminKey, 'POST', keysUrl, { expires_in_days: 30 }), 201)).json<{
      private_key_id: string;
      private_key: string;
    }>();
    const shortLived = (await ok(t.call(org.adminKey, 'POST', keysUrl, { expires_in_days: 1 }), 201)).json<{
      private_key_id: string;
      private_key: string;
    }>();
    const sandbox = await createAccount(t, org.adminKey, ['read:*'], { mode: 'test' });
    const sandboxKey = await generateKey(t, org.adminKey, sandbox.id);
    const theirAccount = await createAccount(t, other.adminKey, ['read:*']);
    const theirKey = await generateKey(t, other.adminKey, theirAccount.id);
    for (const file of [forever, expiring, shortLived, sandboxKey, theirKey]) {
      secrets.push(file.private_key.split('\n')[1]!);
    }
    clock.advance(2 * DAY);

    const r = await report(org.adminKey);
    const noExpiry = check(r, 'service_account_keys_without_expiry');
    assert.equal(noExpiry.status, 'warn');
    assert.match(noExpiry.title, /Service-account keys that never expire/);
    assert.match(noExpiry.suggested_action, /expires_in_days/);
    assert.match(noExpiry.suggested_action, /max_key_lifetime_days/);
    // The expiring key is not listed; the one that expired is in no check at all.
    assert.deepEqual(idsIn(noExpiry), sorted(forever.private_key_id, sandboxKey.private_key_id));
    assert.ok(!allIds(r).has(shortLived.private_key_id));
    assert.ok(!allIds(r).has(theirKey.private_key_id), 'another org’s key is not in this report');
    const it = item(noExpiry, forever.private_key_id);
    assert.deepEqual(Object.keys(it).sort(), [
      'action',
      'age_days',
      'algorithm',
      'created_at',
      'expires_at',
      'key_id',
      'last_used_at',
      'mode',
      'origin',
      'scopes',
      'service_account_id',
      'service_account_name',
    ]);
    assert.equal(it.service_account_id, account.id);
    assert.equal(it.service_account_name, account.name);
    assert.deepEqual([...it.scopes].sort(), ['read:*', 'write:suppliers']);
    assert.equal(it.expires_at, null);
    assert.equal(it.age_days, 2);
    assert.match(it.action, new RegExp(`POST /v1/service-accounts/${account.id}/keys with expires_in_days`));
    assert.match(
      it.action,
      new RegExp(`DELETE /v1/service-accounts/${account.id}/keys/${forever.private_key_id}`),
    );
    // Young keys are listed: the check is about the expiry, not the age.
    assert.equal(check(r, 'service_account_keys_older_than_policy').status, 'pass');

    // The other org sees its own key only; a test-mode admin key sees the test account's key only.
    const theirs = check(await report(other.adminKey), 'service_account_keys_without_expiry');
    assert.deepEqual(idsIn(theirs), [theirKey.private_key_id]);
    const testAdmin = await newKey(org, ['admin'], 'test');
    const sandboxed = check(await report(testAdmin.key), 'service_account_keys_without_expiry');
    assert.deepEqual(idsIn(sandboxed), [sandboxKey.private_key_id]);

    // Once the service has moved to the expiring key, deleting the keys without expiry makes the check pass.
    for (const [id, file] of [
      [account.id, forever],
      [sandbox.id, sandboxKey],
    ] as const) {
      await ok(t.call(org.adminKey, 'DELETE', `/v1/service-accounts/${id}/keys/${file.private_key_id}`), 204);
    }
    const fixed = check(await report(org.adminKey), 'service_account_keys_without_expiry');
    assert.equal(fixed.status, 'pass');
    assert.deepEqual(fixed.items, []);
  });

  test('tenancy: another org’s keys never appear; a test-mode admin key sees test keys only', async () => {
    const ours = await newOrg();
    const theirs = await newOrg();
    const liveReader = await newKey(ours, ['read:*']);
    const testReader = await newKey(ours, ['read:*'], 'test');
    const testAdmin = await newKey(ours, ['admin'], 'test');
    const theirKeys = [
      theirs.adminKeyId,
      (await newKey(theirs, ['read:*'])).id,
      (await newKey(theirs, ['admin'], 'test')).id,
    ];
    await createAccount(t, theirs.adminKey, ['read:*']).then((a) => generateKey(t, theirs.adminKey, a.id));
    // Their keys use scopes, so their usage rows exist too.
    await ok(t.call(theirs.adminKey, 'GET', '/v1/suppliers'));
    clock.advance(100 * DAY);

    const live = await report(ours.adminKey);
    const liveIds = allIds(live);
    for (const id of [ours.adminKeyId, liveReader.id, testReader.id, testAdmin.id])
      assert.ok(liveIds.has(id), id);
    for (const id of theirKeys) assert.ok(!liveIds.has(id), id);
    assert.deepEqual(check(live, 'service_account_keys_older_than_policy').items, []);
    assert.deepEqual(check(live, 'service_account_keys_without_expiry').items, []);

    const sandbox = await report(testAdmin.key);
    assert.deepEqual(sandbox.modes, ['test']);
    const sandboxIds = allIds(sandbox);
    assert.deepEqual([...sandboxIds].sort(), sorted(testReader.id, testAdmin.id));
    for (const c of sandbox.checks) for (const i of c.items) assert.equal(i.mode, 'test', c.id);

    const theirReport = await report(theirs.adminKey);
    for (const id of [ours.adminKeyId, liveReader.id, testReader.id, testAdmin.id]) {
      assert.ok(!allIds(theirReport).has(id), id);
    }
  });

  test('only admin: a key or a member session without admin gets 403; no credential gets 401', async () => {
    const org = await newOrg();
    const writer = await newKey(org, ['read:*', 'write:*']);
    const denied = assertProblem(await fetchReport(writer.key), 403, 'insufficient_scope');
    assert.equal(denied.required_scope, 'admin');
    const member = await createMember(t, org, 'member');
    const cookie = await signIn(member.email, member.password);
    assertProblem(await fetchReport({ cookie }), 403, 'insufficient_scope');
    assertProblem(await t.inject({ method: 'GET', url: '/v1/security/report' }), 401, 'missing_credential');
  });

  test('no report contains a key, a key hash or a private key', () => {
    assert.ok(bodies.length >= 15, `only ${bodies.length} reports`);
    assert.ok(secrets.length >= 40, `only ${secrets.length} secrets`);
    for (const body of bodies) {
      for (const secret of secrets) assert.ok(!body.includes(secret), 'a report contains a secret');
      assert.doesNotMatch(body, /key_hash|public_key|private_key|ck_(live|test)_[0-9A-Za-z]{38}/);
    }
  });
});
