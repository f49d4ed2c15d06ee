/**
 * `POST /v1/credentials/revoke` (DESIGN §5.6, issue 16): the same answer for every kind of string, only
 * valid keys revoked (live and test), the per-IP limit, bad bodies, the `notify` policy, the audit event
 * and the webhook, once per key, the security report's `leaked_keys`, and no key in any log or audit entry.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import {
  capturedLogs,
  createKey,
  createOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';
import {
  eventually,
  keyObject,
  leakMessages,
  report,
  setLeakPolicy,
  unknownKey,
  wrongChecksum,
} from './fixtures.ts';

/** Headers that differ per request by design: its id, the date, and the limiter's standing. */
const VARYING = new Set(['x-request-id', 'date', 'ratelimit', 'x-ratelimit-remaining', 'x-ratelimit-reset']);

function comparable(res: LightMyRequestResponse) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !VARYING.has(name)));
  return { status: res.statusCode, headers, body: res.body };
}

forEachEngine('public revoke endpoint', (_engine, handle) => {
  let t: TestApp;
  const reported: string[] = [];

  before(async () => {
    t = await startTestApp(handle());
  });
  after(async () => {
    // No key that was reported, in any form, reached a log line.
    const logs = capturedLogs.join('\n');
    for (const key of reported) assert.ok(!logs.includes(key), 'a reported key appears in the logs');
    await t?.close();
  });

  test('answers identically for a live key, a test key, a wrong checksum, an unknown key and garbage', async () => {
    const org = await createOrg(t.app);
    const live = await createKey(t.app, org, ['read:suppliers']);
    const sandbox = await createKey(t.app, org, ['read:suppliers'], 'test');
    const bystander = await createKey(t.app, org, ['read:suppliers']);
    const inputs = [live, sandbox, wrongChecksum(bystander), unknownKey(), 'hello world', ''];
    reported.push(live, sandbox, bystander);
    const answers = [];
    for (const [i, input] of inputs.entries()) {
      answers.push(await report(t, { credentials: [input] }, `198.51.100.${10 + i}`));
    }
    const first = comparable(answers[0] as LightMyRequestResponse);
    assert.equal(first.status, 202);
    assert.deepEqual(JSON.parse(first.body), { received: 1 });
    for (const answer of answers) assert.deepEqual(comparable(answer), first);

    // The worker revokes the two keys; the key whose checksum was broken is untouched.
    for (const key of [live, sandbox]) {
      const revoked = await eventually(
        'the reported key is revoked',
        () => keyObject(t, org, key),
        (k) => k.status === 'revoked',
      );
      assert.equal(revoked.revoked_reason, 'leaked');
      assert.ok(revoked.leaked_at);
      assert.equal(revoked.leaked_at, revoked.revoked_at);
      assertProblem(await t.call(key, 'GET', '/v1/suppliers'), 401, 'revoked_credential');
    }
    const untouched = await keyObject(t, org, bystander);
    assert.equal(untouched.status, 'active');
    assert.equal(untouched.leaked_at, null);
    assert.equal((await t.call(bystander, 'GET', '/v1/suppliers')).statusCode, 200);
  });

  test('a batch mixing keys and other strings: received counts every string, only keys are revoked', async () => {
    const org = await createOrg(t.app);
    const keys = [
      await createKey(t.app, org, ['read:suppliers']),
      await createKey(t.app, org, ['read:products']),
    ];
    reported.push(...keys);
    const batch = [`  ${keys[0]}\n`, 'ck_live_short', keys[1], keys[1], unknownKey('test'), 'x'.repeat(4096)];
    const res = await report(t, { credentials: batch }, '198.51.100.30');
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { received: batch.length });
    for (const key of keys as string[]) {
      await eventually(
        'revoked',
        () => keyObject(t, org, key),
        (k) => k.revoked_reason === 'leaked',
      );
    }
    // Only hashes were queued, and the queue is empty once handled.
    const left = await t.app.deps.db.selectFrom('leak_reports').selectAll().execute();
    assert.deepEqual(left, []);
  });

  test('bad bodies are 400 problems naming the field; they count against the limit too', async () => {
    const ip = '198.51.100.40';
    const cases: [unknown, string][] = [
      [{}, 'body/credentials'],
      [{ credentials: [] }, 'body/credentials'],
      [{ credentials: 'ck_live_x' }, 'body/credentials'],
      [{ credentials: [42] }, 'body/credentials/0'],
      [{ credentials: Array.from({ length: 1001 }, () => 'x') }, 'body/credentials'],
      [{ credentials: ['x'], extra: true }, 'body/extra'],
    ];
    for (const [body, field] of cases) {
      const res = await report(t, body, ip);
      const problem = assertProblem(res, 400, 'validation_failed');
      assert.ok(
        problem.errors?.some((e) => e.field.startsWith(field.split('/').slice(0, 2).join('/'))),
        `${JSON.stringify(body).slice(0, 60)}: ${res.body}`,
      );
      assert.equal(res.headers['ratelimit-policy'], '"hour";q=60;w=3600');
    }
    const res = await report(t, { credentials: ['x'] }, ip);
    assert.equal(res.headers['x-ratelimit-remaining'], String(60 - cases.length - 1));
  });

  test('60 requests an hour per client IP, then 429 with Retry-After; other addresses are not affected', async () => {
    const ip = '203.0.113.7';
    for (let i = 0; i < 60; i++) {
      assert.equal((await report(t, { credentials: ['x'] }, ip)).statusCode, 202);
    }
    const refused = await report(t, { credentials: ['x'] }, ip);
    assertProblem(refused, 429, 'rate_limited');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 3600, String(retryAfter));
    assert.equal((await report(t, { credentials: ['x'] }, '203.0.113.8')).statusCode, 202);
  });

  test('notify policy: the key is flagged, audited and announced once, keeps working, and fails the report', async () => {
    const org: TestOrg = await createOrg(t.app);
    await setLeakPolicy(t, org, 'notify');
    const key = await createKey(t.app, org, ['read:suppliers']);
    reported.push(key);
    assert.equal((await report(t, { credentials: [key] }, '198.51.100.50')).statusCode, 202);
    const flagged = await eventually(
      'flagged',
      () => keyObject(t, org, key),
      (k) => k.leaked_at !== null,
    );
    assert.equal(flagged.status, 'active');
    assert.equal(flagged.revoked_reason, null);
    assert.equal((await t.call(key, 'GET', '/v1/suppliers')).statusCode, 200);

    // Reported again: nothing new (first report wins; one audit event, one webhook message).
    assert.equal((await report(t, { credentials: [key, key] }, '198.51.100.51')).statusCode, 202);
    await eventually(
      'the queue is empty',
      () => t.app.deps.db.selectFrom('leak_reports').selectAll().execute(),
      (rows) => rows.length === 0,
    );
    assert.equal((await keyObject(t, org, key)).leaked_at, flagged.leaked_at);
    const events = await t.call(org.adminKey, 'GET', '/v1/audit-events?action=api_key.leaked');
    const leaked = events.json<{ data: { actor: unknown; target: { id: string }; metadata: unknown }[] }>()
      .data;
    assert.equal(leaked.length, 1);
    assert.deepEqual(leaked[0]?.actor, { kind: 'system', id: 'leaks' });
    assert.equal(leaked[0]?.target.id, flagged.id);
    assert.deepEqual(leaked[0]?.metadata, {
      source: 'public',
      url: null,
      action: 'notified',
      name: 'test key read:suppliers',
      prefix: flagged.prefix,
      mode: 'live',
    });
    assert.ok(!events.body.includes(key), 'the audit log holds the key');
    const messages = await leakMessages(t, org.orgId);
    assert.equal(messages.length, 1);
    const data = JSON.parse((messages[0] as { body: string }).body).data;
    assert.equal(data.id, flagged.id);
    assert.deepEqual(data.leak, { source: 'public', url: null });
    assert.ok(!(messages[0] as { body: string }).body.includes(key));

    // The security report fails while the leaked key works; rolling it with no grace ends that.
    const failing = await t.call(org.adminKey, 'GET', '/v1/security/report');
    const check = failing
      .json<{ checks: { id: string; status: string; items: { key_id: string; leaked_at: string }[] }[] }>()
      .checks.find((c) => c.id === 'leaked_keys');
    assert.equal(check?.status, 'fail');
    assert.deepEqual(
      check?.items.map((i) => [i.key_id, i.leaked_at]),
      [[flagged.id, flagged.leaked_at]],
    );
    assert.ok(!failing.body.includes(key));
    const rolled = await t.call(org.adminKey, 'POST', `/v1/api-keys/${flagged.id}/roll`, {
      grace_period_seconds: 0,
    });
    assert.equal(rolled.statusCode, 201, rolled.body);
    reported.push(rolled.json<{ key: string }>().key);
    const passing = await t.call(org.adminKey, 'GET', '/v1/security/report');
    const after = passing.json<{ checks: { id: string; status: string }[] }>().checks;
    assert.equal(after.find((c) => c.id === 'leaked_keys')?.status, 'pass');
  });

  test('a key first flagged under notify is revoked by a later report once the policy is revoke', async () => {
    const org = await createOrg(t.app);
    await setLeakPolicy(t, org, 'notify');
    const key = await createKey(t.app, org, ['read:suppliers']);
    reported.push(key);
    await report(t, { credentials: [key] }, '198.51.100.60');
    const flagged = await eventually(
      'flagged',
      () => keyObject(t, org, key),
      (k) => k.leaked_at !== null,
    );
    await setLeakPolicy(t, org, 'revoke');
    await report(t, { credentials: [key] }, '198.51.100.61');
    const revoked = await eventually(
      'revoked',
      () => keyObject(t, org, key),
      (k) => k.status === 'revoked',
    );
    assert.equal(revoked.revoked_reason, 'leaked');
    assert.equal(revoked.leaked_at, flagged.leaked_at, 'the first report keeps its time');
    const events = await t.call(org.adminKey, 'GET', '/v1/audit-events?action=api_key.leaked');
    const actions = events
      .json<{ data: { metadata: { action: string } }[] }>()
      .data.map((e) => e.metadata.action)
      .sort();
    assert.deepEqual(actions, ['notified', 'revoked']);
    assert.equal((await leakMessages(t, org.orgId)).length, 1, 'api_key.leaked is sent once per key');
  });

  test('a revoke through the API says requested; the policy is validated and shown', async () => {
    const org = await createOrg(t.app);
    const key = await createKey(t.app, org, ['read:suppliers']);
    const { id } = await keyObject(t, org, key);
    const res = await t.call(org.adminKey, 'POST', `/v1/api-keys/${id}/revoke`);
    assert.equal(res.json<{ revoked_reason: string }>().revoked_reason, 'requested');
    const shown = await t.call(org.adminKey, 'GET', '/v1/organization');
    assert.equal(shown.json<{ policy: { leaked_key_action: string } }>().policy.leaked_key_action, 'revoke');
    assertProblem(
      await t.call(org.adminKey, 'PATCH', '/v1/organization', { policy: { leaked_key_action: 'ignore' } }),
      400,
      'validation_failed',
    );
  });
});
