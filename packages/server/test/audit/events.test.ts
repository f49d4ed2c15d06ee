/**
 * Each security event is recorded with the right actor, target and result, on every engine; the query API
 * filters and paginates; the org sees only its own events; test-mode credentials are refused; API calls are
 * recorded as COHERA_AUDIT_API_CALLS says; no secret is ever in an event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { bootstrap } from '../../src/orgs/bootstrap.ts';
import { setTier } from '../../src/orgs/repository.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import type { AuditEventJson } from '../support/audit.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  authorizationRequest,
  authorize,
  Browser,
  type OAuthTestServer,
  registerClient,
  runAuthorization,
  startOAuthServer,
} from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';

type Event = AuditEventJson;

async function events(t: TestApp, org: TestOrg, query = ''): Promise<Event[]> {
  const response = await t.call(org.adminKey, 'GET', `/v1/audit-events?limit=100${query}`);
  assert.equal(response.statusCode, 200, response.body);
  return response.json().data as Event[];
}

function only(list: Event[], action: string): Event {
  const found = list.filter((e) => e.action === action);
  assert.equal(
    found.length,
    1,
    `expected one ${action}, got ${found.length}: ${JSON.stringify(list.map((e) => e.action))}`,
  );
  return found[0] as Event;
}

forEachEngine('audit: what is recorded', (_engine, handle) => {
  let t: OAuthTestServer;
  let org: TestOrg;

  before(async () => {
    t = await startOAuthServer(handle());
    org = await createOrg(t.app);
  });
  after(() => t.close());

  test('API keys: created, rolled, revoked — actor, target, request, metadata without the key', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { authorization: `Bearer ${org.adminKey}`, 'user-agent': 'audit-test/1.0' },
      payload: { name: 'Reader', scopes: ['read:certificates'] },
    });
    const key = created.json();
    await t.call(org.adminKey, 'POST', `/v1/api-keys/${key.id}/roll`, { grace_period_seconds: 60 });
    await t.call(org.adminKey, 'POST', `/v1/api-keys/${key.id}/revoke`);
    const list = await events(t, org, '&action=api_key.');
    const adminKeyId = (await t.call(org.adminKey, 'GET', '/health')).json().auth.id;

    const made = only(list, 'api_key.created');
    assert.deepEqual(made.actor, { kind: 'api_key', id: adminKeyId });
    assert.deepEqual(made.target, { kind: 'api_key', id: key.id });
    assert.equal(made.result, 'success');
    assert.equal(made.user_agent, 'audit-test/1.0');
    assert.equal(made.request_id, created.headers['x-request-id']);
    assert.equal(made.ip, '127.0.0.1');
    assert.deepEqual(made.metadata.scopes, ['read:certificates']);
    assert.ok(!JSON.stringify(list).includes(key.key), 'the key itself is never in an event');
    assert.equal(only(list, 'api_key.rolled').target?.id, key.id);
    assert.equal(only(list, 'api_key.revoked').target?.id, key.id);
    assert.ok(list.every((e) => e.object === 'audit_event' && e.org_id === org.orgId));
  });

  test('service accounts: created, key added, key removed, deleted', async () => {
    const account = (
      await t.call(org.adminKey, 'POST', '/v1/service-accounts', { name: 'etl', scopes: ['read:*'] })
    ).json();
    const file = (await t.call(org.adminKey, 'POST', `/v1/service-accounts/${account.id}/keys`, {})).json();
    await t.call(org.adminKey, 'DELETE', `/v1/service-accounts/${account.id}/keys/${file.private_key_id}`);
    await t.call(org.adminKey, 'DELETE', `/v1/service-accounts/${account.id}`);
    const list = await events(t, org, '&action=service_account.');
    assert.equal(only(list, 'service_account.created').target?.id, account.id);
    assert.equal(only(list, 'service_account.key_added').target?.id, file.private_key_id);
    assert.equal(only(list, 'service_account.key_removed').target?.id, file.private_key_id);
    assert.equal(only(list, 'service_account.deleted').target?.id, account.id);
    assert.ok(!JSON.stringify(list).includes('PRIVATE KEY'), 'never the private key');
  });

  test('OAuth: client created and secret rotated; consent granted, denied, revoked; tokens; reuse', async () => {
    const client = await registerClient(t, org.adminKey, { name: 'Audited app' });
    await t.call(org.adminKey, 'POST', `/v1/oauth/clients/${client.id}/rotate-secret`, {});
    const browser = new Browser(t.baseUrl);
    const tokens = await authorize(t, browser, org, client, ['read:certificates']);
    const denyApp = await registerClient(t, org.adminKey, { name: 'Denied app' });
    await runAuthorization(
      browser,
      await authorizationRequest(t.as, denyApp, ['read:suppliers']),
      org,
      'deny',
    );

    // A reused refresh token: the engine revokes the authorization.
    const { refreshRequest } = await import('../support/oauth.ts');
    await refreshRequest(t, client, tokens.refresh_token);
    await refreshRequest(t, client, tokens.refresh_token);

    // The engine announces its own revocation after answering; its event follows within moments.
    let list = await events(t, org, '&action=oauth.');
    for (let i = 0; i < 100 && !list.some((e) => e.action === 'oauth.refresh_reuse_detected'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      list = await events(t, org, '&action=oauth.');
    }
    assert.equal(only(list, 'oauth.client_secret_rotated').target?.id, client.id);
    assert.ok(list.filter((e) => e.action === 'oauth.client_created').length >= 2);
    const granted = only(list, 'oauth.consent_granted');
    assert.deepEqual(granted.actor, { kind: 'user', id: org.userId });
    assert.equal(granted.metadata.client_id, client.id);
    const denied = only(list, 'oauth.consent_denied');
    assert.deepEqual(denied.target, { kind: 'oauth_client', id: denyApp.id });
    const issued = list.filter((e) => e.action === 'oauth.token_issued');
    assert.ok(issued.length >= 2, 'code exchange and refresh');
    assert.deepEqual(issued[0]?.actor, { kind: 'oauth_client', id: client.id });
    const reuse = only(list, 'oauth.refresh_reuse_detected');
    assert.equal(reuse.result, 'failure');
    assert.equal(reuse.target?.id, granted.target?.id);
    const text = JSON.stringify(list);
    for (const secret of [client.client_secret, tokens.access_token, tokens.refresh_token]) {
      assert.ok(!text.includes(secret as string), 'no OAuth secret in an event');
    }

    const other = await authorize(t, new Browser(t.baseUrl), org, denyApp, ['read:suppliers']);
    assert.ok(other.access_token);
    const session = new Browser(t.baseUrl);
    await session.signIn(org);
    const info = (await (await session.request(`${t.baseUrl}/auth/session`)).json()) as {
      csrf_token: string;
    };
    const mine = (
      await t.app.inject({
        method: 'GET',
        url: '/v1/oauth/authorizations',
        headers: { cookie: session.cookieHeader },
      })
    ).json().data[0] as { id: string };
    await t.app.inject({
      method: 'DELETE',
      url: `/v1/oauth/authorizations/${mine.id}`,
      headers: { cookie: session.cookieHeader, 'x-csrf-token': info.csrf_token },
    });
    const revoked = only(await events(t, org, '&action=oauth.consent_revoked'), 'oauth.consent_revoked');
    assert.deepEqual(revoked.target, { kind: 'oauth_authorization', id: mine.id });
    assert.deepEqual(revoked.actor, { kind: 'user', id: org.userId });
  });

  test('sign-in, failed sign-in, failed authentication with a revoked key, rate-limit hits, policy', async () => {
    const fresh = await createOrg(t.app);
    await new Browser(t.baseUrl).signIn(fresh);
    await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: fresh.email, password: 'wrong password' },
    });
    const doomed = (
      await t.call(fresh.adminKey, 'POST', '/v1/api-keys', { name: 'doomed', scopes: ['read:*'] })
    ).json();
    await t.call(fresh.adminKey, 'POST', `/v1/api-keys/${doomed.id}/revoke`);
    await t.call(doomed.key, 'GET', '/v1/suppliers');
    const slow = await createKey(t.app, fresh, ['read:*'], 'live', { rateLimitPerMinute: 1 });
    await t.call(slow, 'GET', '/v1/suppliers');
    await t.call(slow, 'GET', '/v1/suppliers');
    await t.call(fresh.adminKey, 'PATCH', '/v1/organization', { policy: { key_rotation_days: 30 } });

    const list = await events(t, fresh);
    assert.deepEqual(only(list, 'user.login').actor, { kind: 'user', id: fresh.userId });
    const failed = only(list, 'user.login_failed');
    assert.equal(failed.result, 'failure');
    assert.deepEqual(failed.target, { kind: 'user', id: fresh.userId });
    const authFailed = only(list, 'auth.failed');
    assert.deepEqual(authFailed.actor, { kind: 'api_key', id: doomed.id });
    assert.equal(authFailed.metadata.code, 'revoked_credential');
    const limited = only(list, 'rate_limit.exceeded');
    assert.equal(limited.result, 'failure');
    assert.equal(limited.metadata.route, '/v1/suppliers');
    assert.deepEqual(only(list, 'org.policy_changed').metadata.policy, { key_rotation_days: 30 });
  });

  test('the operator CLI’s bootstrap and set-tier record org.created and org.tier_changed', async () => {
    const { audit } = t.app.deps;
    const made = await bootstrap(
      t.app.deps.db,
      { orgName: 'Cli Org', email: `cli.${Date.now()}@example.com`, tier: 'free' },
      Date.now(),
      audit,
    );
    await setTier(
      t.app.deps.db,
      made.org_id,
      { tier: 'pro', perMinute: null, perDay: null },
      Date.now(),
      audit,
    );
    const cliOrg = { ...org, orgId: made.org_id, adminKey: made.api_key };
    const list = await events(t, cliOrg);
    const created = only(list, 'org.created');
    assert.deepEqual(created.actor, { kind: 'operator', id: 'cli' });
    assert.equal(created.metadata.owner_user_id, made.user_id);
    const tier = only(list, 'org.tier_changed');
    assert.deepEqual(tier.metadata, {
      from: { tier: 'free', per_minute: null, per_day: null },
      to: { tier: 'pro', per_minute: null, per_day: null },
    });
  });

  test('filters: action prefix or exact, actor, target, result, since/until; pagination newest first', async () => {
    const fresh = await createOrg(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        (await t.call(fresh.adminKey, 'POST', '/v1/api-keys', { name: `k${i}`, scopes: ['read:*'] })).json()
          .id,
      );
    }
    const all = await events(t, fresh, '&action=api_key.created');
    assert.equal(all.length, 3);
    assert.deepEqual(
      all.map((e) => e.target?.id),
      [...ids].reverse(),
      'newest first',
    );
    assert.equal(
      (await events(t, fresh, `&target_id=${ids[1]}`)).filter((e) => e.action.startsWith('api_key')).length,
      1,
    );
    const adminKeyId = (await t.call(fresh.adminKey, 'GET', '/health')).json().auth.id;
    assert.ok((await events(t, fresh, `&actor_id=${adminKeyId}`)).length >= 3);
    assert.equal((await events(t, fresh, '&result=failure')).length, 0);
    assert.equal(
      (await events(t, fresh, '&action=api_key')).length,
      0,
      'without the dot it is an exact name',
    );
    assert.equal((await events(t, fresh, '&until=2000-01-01')).length, 0);
    assert.ok((await events(t, fresh, '&since=2000-01-01')).length >= 3);

    const first = await t.call(fresh.adminKey, 'GET', '/v1/audit-events?limit=2&action=api_key.created');
    const second = await t.call(
      fresh.adminKey,
      'GET',
      `/v1/audit-events?limit=2&action=api_key.created&cursor=${first.json().next_cursor}`,
    );
    assert.equal(second.json().data.length, 1);
    assert.equal(second.json().data[0].target.id, ids[0]);
    assertProblem(
      await t.call(fresh.adminKey, 'GET', '/v1/audit-events?since=yesterday'),
      400,
      'validation_failed',
      'query/since',
    );
    assertProblem(
      await t.call(fresh.adminKey, 'GET', '/v1/audit-events?result=maybe'),
      400,
      'validation_failed',
      'query/result',
    );
  });

  test('export: NDJSON, oldest first, one event per line', async () => {
    const fresh = await createOrg(t.app);
    for (let i = 0; i < 3; i++)
      await t.call(fresh.adminKey, 'POST', '/v1/api-keys', { name: `e${i}`, scopes: ['read:*'] });
    const response = await t.call(fresh.adminKey, 'GET', '/v1/audit-events/export?action=api_key.');
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^application\/x-ndjson/);
    const lines = response.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Event);
    assert.equal(lines.length, 3);
    assert.deepEqual(
      lines.map((e) => e.seq),
      [...lines.map((e) => e.seq)].sort((a, b) => a - b),
    );
  });

  test('each org sees only its own events; test-mode and non-admin credentials are refused', async () => {
    const a = await createOrg(t.app);
    const b = await createOrg(t.app);
    await t.call(a.adminKey, 'POST', '/v1/api-keys', { name: 'only-a', scopes: ['read:*'] });
    assert.ok((await events(t, a)).some((e) => e.metadata.name === 'only-a'));
    assert.ok(!(await events(t, b)).some((e) => e.metadata.name === 'only-a'));
    const testKey = await createKey(t.app, a, ['admin'], 'test');
    assertProblem(await t.call(testKey, 'GET', '/v1/audit-events'), 403, 'forbidden');
    const reader = await createKey(t.app, a, ['read:*']);
    assertProblem(await t.call(reader, 'GET', '/v1/audit-events'), 403, 'insufficient_scope');
  });

  test('API calls: state changes are recorded by default, reads are not', async () => {
    const fresh = await createOrg(t.app);
    await t.call(fresh.adminKey, 'POST', '/v1/suppliers', { name: 'Recorded', country: 'DE' });
    await t.call(fresh.adminKey, 'GET', '/v1/suppliers');
    const calls = (await events(t, fresh, '&action=api.request')).map((e) => e.metadata);
    assert.ok(calls.some((m) => m.method === 'POST' && m.route === '/v1/suppliers' && m.status === 201));
    assert.ok(!calls.some((m) => m.method === 'GET' && m.route === '/v1/suppliers'));
  });
});

describe('audit: COHERA_AUDIT_API_CALLS, buffering and shutdown [sqlite]', () => {
  let handle: Awaited<ReturnType<typeof import('../support/engines.ts').prepareEngine>>;
  before(async () => {
    const { prepareEngine } = await import('../support/engines.ts');
    handle = await prepareEngine('sqlite');
  });
  after(() => handle.cleanup());

  test('all records reads too; none records no call', async () => {
    for (const setting of ['all', 'none'] as const) {
      const t = await startTestApp(handle, { env: { COHERA_AUDIT_API_CALLS: setting } });
      try {
        const org = await createOrg(t.app);
        const agent = `probe/1 ${'x'.repeat(600)}`;
        const ok = await t.inject({
          method: 'GET',
          url: '/v1/suppliers',
          headers: { authorization: `Bearer ${org.adminKey}`, 'user-agent': agent },
        });
        const missing = await t.call(org.adminKey, 'GET', '/v1/suppliers/sup_0000000000000000000000');
        assert.equal(missing.statusCode, 404);
        const calls = await events(t, org, '&action=api.request');
        if (setting === 'none') {
          assert.equal(calls.length, 0);
          continue;
        }
        // Every field of a call's event, as the request path records it.
        const keyId = calls[0]?.actor.id ?? '';
        assert.match(keyId, /^key_/);
        const byRequest = (id: unknown) => calls.find((e) => e.request_id === id);
        const read = byRequest(ok.headers['x-request-id']);
        assert.deepEqual(
          { ...read, id: undefined, at: undefined, seq: undefined },
          {
            id: undefined,
            at: undefined,
            seq: undefined,
            object: 'audit_event',
            org_id: org.orgId,
            actor: { kind: 'api_key', id: keyId },
            action: 'api.request',
            target: null,
            result: 'success',
            ip: '127.0.0.1',
            user_agent: agent.slice(0, 512),
            request_id: ok.headers['x-request-id'],
            metadata: { method: 'GET', route: '/v1/suppliers', status: 200, mode: 'live' },
          },
        );
        const failed = byRequest(missing.headers['x-request-id']);
        assert.equal(failed?.result, 'failure');
        assert.deepEqual(failed?.metadata, {
          method: 'GET',
          route: '/v1/suppliers/:id',
          status: 404,
          mode: 'live',
        });
      } finally {
        await t.close();
      }
    }
  });

  test('buffered events survive a graceful shutdown; a full buffer drops and says so', async () => {
    const clock = new ManualClock(Date.now());
    const first = await startTestApp(handle, { clock, env: { COHERA_AUDIT_API_CALLS: 'all' } });
    const org = await createOrg(first.app);
    for (let i = 0; i < 5; i++) await first.call(org.adminKey, 'GET', '/v1/suppliers');
    assert.ok(first.app.deps.audit.bufferDepth >= 5, 'still in memory');
    await first.close();
    const second = await startTestApp(handle, {
      clock,
      env: { COHERA_MASTER_KEY: first.config.masterKey.toString('base64') },
    });
    try {
      // API calls are stored in segments (audit/segments.ts), a run of events per row.
      const stored = await second.app.deps.db
        .selectFrom('audit_segments')
        .select(['seq_first', 'seq_last'])
        .where('org_id', '=', org.orgId)
        .execute();
      const calls = stored.reduce((sum, s) => sum + Number(s.seq_last) - Number(s.seq_first) + 1, 0);
      assert.ok(calls >= 5, 'flushed on close');

      const { AuditLog } = await import('../../src/audit/log.ts');
      const { createLogger } = await import('../../src/http/logger.ts');
      const tiny = new AuditLog(second.app.deps.db, second.config.masterKey, clock, createLogger('silent'), {
        bufferSize: 2,
      });
      for (let i = 0; i < 5; i++) {
        tiny.enqueue({ orgId: org.orgId, actor: { kind: 'system', id: 't' }, action: 'api.request' });
      }
      assert.equal(tiny.droppedTotal, 3);
      await tiny.flush();
      const dropped = await second.app.deps.db
        .selectFrom('audit_events')
        .select('metadata')
        .where('org_id', '=', org.orgId)
        .where('action', '=', 'audit.events_dropped')
        .execute();
      assert.deepEqual(
        dropped.map((r) => JSON.parse(r.metadata)),
        [{ count: 3 }],
      );
    } finally {
      await second.close();
    }
  });
});
