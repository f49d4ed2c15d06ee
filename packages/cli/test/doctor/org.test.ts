/**
 * `cohera doctor` against a real listening server (issue 19 item 4): the org items of the checklist from the
 * security report, the webhook endpoints' deliveries and the audit chain. A new org passes (warning about
 * its bootstrap key); then each failing state: a leaked key left active under the `notify` policy, an edited
 * audit event, a disabled and a failing webhook endpoint; a credential without `admin` skips the org items;
 * an unreachable server exits 1 with the project items still answered. No whole key in any output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKey, createOrg, type TestOrg } from '../../../server/test/support/app.ts';
import { type EngineHandle, prepareEngine } from '../../../server/test/support/engines.ts';
import { freePort, type OAuthTestServer, startOAuthServer } from '../../../server/test/support/oauth.ts';
import { type Receiver, startReceiver } from '../../../server/test/support/webhook-receiver.ts';
import {
  byId,
  cleanRepo,
  doctor,
  doctorJson,
  ESC,
  git,
  ORG_IDS,
  PROJECT_IDS,
  remember,
  statuses,
  tempDir,
  write,
} from './support.ts';

describe('cohera doctor: org items against a real server', () => {
  let handle: EngineHandle;
  let server: OAuthTestServer;
  let receiver: Receiver;

  before(async () => {
    handle = await prepareEngine('sqlite');
    server = await startOAuthServer(handle, {
      env: { COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true', COHERA_WEBHOOK_RETRY_SCHEDULE: '60,60,60' },
    });
    receiver = await startReceiver((_receipt, response) => response.writeHead(500).end('no'));
  });
  after(async () => {
    await receiver?.close();
    await server?.close();
    await handle?.cleanup();
  });

  async function newOrg(): Promise<TestOrg> {
    const org = await createOrg(server.app);
    remember(org.adminKey);
    return org;
  }

  function env(key: string): Record<string, string> {
    return { COHERA_API_KEY: key, COHERA_BASE_URL: server.baseUrl };
  }

  async function keyId(org: TestOrg, key: string): Promise<string> {
    const res = await server.call(org.adminKey, 'GET', '/v1/api-keys?limit=100');
    const found = res
      .json<{ data: Array<{ id: string; prefix: string; last4: string }> }>()
      .data.find((k) => key.startsWith(k.prefix) && key.endsWith(k.last4));
    assert.ok(found);
    return found.id;
  }

  test('a new org: no fails, warnings about its bootstrap key (admin, no expiry); exit 0', async (t) => {
    const org = await newOrg();
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    const report = await doctorJson([dir], { cwd: dir, env: env(org.adminKey) });
    assert.equal(report.run.code, 0, report.run.stderr);
    assert.deepEqual(statuses(report, [...PROJECT_IDS, ...ORG_IDS]), {
      keys_in_tracked_files: 'pass',
      keys_in_git_history: 'pass',
      env_files_ignored: 'pass',
      keys_per_environment: 'pass',
      minimal_scopes: 'warn',
      key_rotation: 'warn',
      webhook_signatures: 'pass',
      audit_log: 'pass',
      leaked_keys: 'pass',
    });
    const id = await keyId(org, org.adminKey);
    const checks = byId(report);
    assert.match(
      checks.minimal_scopes?.detail ?? '',
      new RegExp(`1 admin key: .*ck_live_\\w{4}…\\w{4} \\(${id}\\)`),
    );
    assert.match(checks.minimal_scopes?.fix ?? '', new RegExp(`cohera keys revoke ${id}`));
    assert.match(checks.key_rotation?.detail ?? '', /1 key without expiry/);
    assert.match(checks.audit_log?.detail ?? '', /the chain verifies/);
    assert.equal(checks.webhook_signatures?.detail, 'no webhook endpoints');
    assert.deepEqual(report.summary, { pass: 7, warn: 2, fail: 0, skip: 0, result: 'warn' });

    const people = await doctor([dir], { cwd: dir, env: { ...env(org.adminKey), NO_COLOR: '1' } });
    assert.equal(people.code, 0);
    assert.ok(!(people.stdout + people.stderr).includes(ESC), 'no escape codes');
    assert.match(people.stdout, /^WARN {2}Minimal scopes per environment \[minimal_scopes\]: /m);
  });

  test('a service-account key without expiry warns key_rotation, with the commands that replace it', async (t) => {
    const org = await newOrg();
    const created = await server.call(org.adminKey, 'POST', '/v1/service-accounts', {
      name: 'erp-sync',
      scopes: ['read:*'],
    });
    assert.equal(created.statusCode, 201, created.body);
    const account = created.json<{ id: string }>().id;
    const keysUrl = `/v1/service-accounts/${account}/keys`;
    const forever = await server.call(org.adminKey, 'POST', keysUrl, {});
    const expiring = await server.call(org.adminKey, 'POST', keysUrl, { expires_in_days: 30 });
    const files = [forever, expiring].map((res) => {
      assert.equal(res.statusCode, 201, res.body);
      const file = res.json<{ private_key_id: string; private_key: string }>();
      remember(file.private_key);
      return file;
    });
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    const report = await doctorJson([dir], { cwd: dir, env: env(org.adminKey) });
    assert.equal(report.run.code, 0, report.run.stderr);
    const check = byId(report).key_rotation;
    assert.equal(check?.status, 'warn');
    const keyId = files[0]?.private_key_id;
    assert.match(
      check?.detail ?? '',
      new RegExp(`1 service-account key without expiry: erp-sync \\(${keyId}\\)`),
    );
    assert.ok(
      !(check?.detail ?? '').includes(files[1]?.private_key_id ?? 'none'),
      'the expiring key is fine',
    );
    assert.ok(
      (check?.fix ?? '').includes(
        `\`cohera service-accounts keys create ${account} --out service-account.json --expires-in-days 90\`, ` +
          `deploy it, then \`cohera service-accounts keys delete ${account} ${keyId}\``,
      ),
      check?.fix ?? '',
    );
  });

  test('a credential without admin: the org items are skipped, asking for an admin credential', async (t) => {
    const org = await newOrg();
    const readOnly = remember(await createKey(server.app, org, ['read:suppliers']));
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    const report = await doctorJson([dir], { cwd: dir, env: env(readOnly) });
    assert.equal(report.run.code, 0, report.run.stderr);
    for (const id of ORG_IDS) {
      assert.equal(byId(report)[id]?.status, 'skip');
      assert.equal(byId(report)[id]?.detail, 'skipped: needs an admin credential');
    }
  });

  test('a key of the org found in the history is named by its id; once revoked it no longer fails', async (t) => {
    const org = await newOrg();
    const committed = remember(await createKey(server.app, org, ['read:suppliers']));
    const id = await keyId(org, committed);
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    write(dir, 'deploy.sh', `export COHERA_API_KEY=${committed}\n`);
    git(dir, 'add', 'deploy.sh');
    git(dir, 'commit', '-q', '-m', 'deploy');
    git(dir, 'rm', '-q', 'deploy.sh');
    git(dir, 'commit', '-q', '-m', 'no deploy');
    const before = await doctorJson([dir], { cwd: dir, env: env(org.adminKey) });
    assert.equal(before.run.code, 1);
    assert.equal(byId(before).keys_in_git_history?.status, 'fail');
    assert.equal(
      byId(before).keys_in_git_history?.fix,
      `roll it: \`cohera keys roll ${id} --grace-period 0\`, then \`cohera scan --git --revoke\``,
    );
    const revoked = await server.call(org.adminKey, 'POST', `/v1/api-keys/${id}/revoke`);
    assert.equal(revoked.statusCode, 200, revoked.body);
    const afterRevoke = await doctorJson([dir], { cwd: dir, env: env(org.adminKey) });
    assert.equal(afterRevoke.run.code, 0);
    assert.equal(byId(afterRevoke).keys_in_git_history?.status, 'pass');
    assert.match(byId(afterRevoke).keys_in_git_history?.detail ?? '', /only revoked keys/);
  });

  test('a leaked key still active (notify policy) fails leaked_keys with the roll command; exit 1', async (t) => {
    const org = await newOrg();
    const policy = await server.call(org.adminKey, 'PATCH', '/v1/organization', {
      policy: { leaked_key_action: 'notify' },
    });
    assert.equal(policy.statusCode, 200, policy.body);
    const leaked = remember(await createKey(server.app, org, ['read:suppliers']));
    const id = await keyId(org, leaked);
    const reported = await server.inject({
      method: 'POST',
      url: '/v1/credentials/revoke',
      remoteAddress: '198.51.100.77',
      payload: { credentials: [leaked] },
    });
    assert.equal(reported.statusCode, 202);
    // The leak worker runs off the request path.
    const deadline = Date.now() + 5000;
    for (;;) {
      const key = (await server.call(org.adminKey, 'GET', `/v1/api-keys/${id}`)).json<{
        leaked_at: string | null;
      }>();
      if (key.leaked_at) break;
      assert.ok(Date.now() < deadline, 'the key was not flagged leaked in time');
      await sleep(50);
    }
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    const report = await doctorJson([dir], { cwd: dir, env: env(org.adminKey) });
    assert.equal(report.run.code, 1);
    const check = byId(report).leaked_keys;
    assert.equal(check?.status, 'fail');
    assert.match(check?.detail ?? '', new RegExp(`1 leaked key still active: .*\\(${id}\\)`));
    assert.equal(check?.fix, `\`cohera keys roll ${id} --grace-period 0\``);
  });

  test('an edited audit event fails audit_log; exit 1', async (t) => {
    const org = await newOrg();
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    // A management action: its audit event is stored before the answer (DESIGN §5.4).
    const created = await server.call(org.adminKey, 'POST', '/v1/api-keys', {
      name: 'ci',
      scopes: ['read:*'],
    });
    assert.equal(created.statusCode, 201, created.body);
    remember(created.json<{ key: string }>().key);
    const edited = await server.app.deps.db
      .updateTable('audit_events')
      .set({ metadata: JSON.stringify({ edited: true }) })
      .where('org_id', '=', org.orgId)
      .where('action', '=', 'api_key.created')
      .executeTakeFirst();
    assert.equal(Number(edited.numUpdatedRows), 1);
    const report = await doctorJson([dir], { cwd: dir, env: env(org.adminKey) });
    assert.equal(report.run.code, 1);
    const check = byId(report).audit_log;
    assert.equal(check?.status, 'fail');
    assert.match(check?.detail ?? '', /the audit chain does not verify: event_invalid at /);
  });

  test('a disabled endpoint and one whose deliveries fail warn webhook_signatures (exit 0)', async (t) => {
    const org = await newOrg();
    const create = async () => {
      const res = await server.call(org.adminKey, 'POST', '/v1/webhook-endpoints', {
        url: receiver.url,
        events: ['*'],
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json<{ id: string; secret: string }>();
    };
    const disabled = await create();
    const failing = await create();
    remember(disabled.secret);
    remember(failing.secret);
    const patched = await server.call(org.adminKey, 'PATCH', `/v1/webhook-endpoints/${disabled.id}`, {
      status: 'disabled',
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(
      (await server.call(org.adminKey, 'POST', `/v1/webhook-endpoints/${failing.id}/test`)).statusCode,
      202,
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      const deliveries = (
        await server.call(org.adminKey, 'GET', `/v1/webhook-endpoints/${failing.id}/deliveries`)
      ).json<{ data: Array<{ attempts: number }> }>().data;
      if (deliveries.some((delivery) => delivery.attempts > 0)) break;
      assert.ok(Date.now() < deadline, 'the test message was not attempted in time');
      await sleep(50);
    }
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    const report = await doctorJson([dir], { cwd: dir, env: env(org.adminKey) });
    assert.equal(report.run.code, 0, report.run.stderr);
    const check = byId(report).webhook_signatures;
    assert.equal(check?.status, 'warn');
    assert.match(check?.detail ?? '', new RegExp(`failing: .*\\(${failing.id}: answered 500\\)`));
    assert.match(check?.detail ?? '', new RegExp(`disabled: .*\\(${disabled.id}: manual\\)`));
    assert.match(check?.fix ?? '', new RegExp(`cohera webhooks deliveries ${failing.id}`));
    assert.match(check?.fix ?? '', new RegExp(`cohera webhooks update ${disabled.id} --status enabled`));
  });

  test('an unreachable server: the project items still answered, the org items skipped, exit 1', async (t) => {
    const org = await newOrg();
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    const port = await freePort();
    const report = await doctorJson([dir], {
      cwd: dir,
      env: { COHERA_API_KEY: org.adminKey, COHERA_BASE_URL: `http://127.0.0.1:${port}` },
    });
    assert.equal(report.run.code, 1);
    assert.deepEqual(statuses(report), Object.fromEntries(PROJECT_IDS.map((id) => [id, 'pass'])));
    for (const id of ORG_IDS) assert.equal(byId(report)[id]?.status, 'skip');
    assert.match(report.run.stderr, /127\.0\.0\.1/);
  });
});
