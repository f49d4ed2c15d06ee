/**
 * `cohera audit …` and `cohera security report` against a real server: list matches the API, tail prints
 * an event made after it started (once), verify exits 1 on a tampered chain, export writes NDJSON (stdout
 * or a 0600 file), and the security report exits 1 exactly when a check fails.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../../../server/test/support/config.ts';
import type { AuditEvent, AuditVerification, ListResponse, SecurityReport } from '../../src/sdk.ts';
import { assertNoEscapes, json, ok, plain, type Server, startServer } from './support.ts';

describe('cohera audit and security', () => {
  let s: Server;
  const dir = tempDir('cohera-audit-');
  before(async () => {
    s = await startServer();
    await s.sdk.apiKeys.create({ name: 'seed', scopes: ['read:certificates'] });
  });
  after(async () => {
    await s.close();
    dir.remove();
  });

  test("list: the API's events, filters passed through", async () => {
    const listed = json<ListResponse<AuditEvent>>(await s.cohera(['audit', 'list', '--json']));
    const page = await s.sdk.auditEvents.list();
    assert.deepEqual(listed, plain({ data: page.data, next_cursor: page.next_cursor }));
    const created = json<ListResponse<AuditEvent>>(
      await s.cohera(['audit', 'list', '--action', 'api_key.created', '--all', '--json']),
    );
    assert.ok(created.data.length > 0);
    assert.ok(created.data.every((event) => event.action === 'api_key.created'));
    const table = await s.cohera(['audit', 'list', '--action', 'api_key.', '--since', '2020-01-01']);
    assert.match(ok(table), /api_key\.created/);
    assertNoEscapes(table);
    assert.equal((await s.cohera(['audit', 'list', '--since', 'yesterday'])).code, 2);
  });

  test('tail prints each event made after it started, once, then is stopped', async () => {
    const child = s.spawnCohera(['audit', 'tail', '--action', 'api_key.', '--interval', '1', '--json']);
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const seenBefore = (await s.sdk.auditEvents.list({ limit: 1 })).data[0];
      // The tail takes its starting point when it has started; keep making keys until one shows up.
      let made: string[] = [];
      let printed: AuditEvent[] = [];
      for (let attempt = 0; attempt < 20 && printed.length === 0; attempt++) {
        await sleep(500);
        made.push((await s.sdk.apiKeys.create({ name: `tail ${attempt}`, scopes: ['read:products'] })).id);
        for (let wait = 0; wait < 30 && printed.length === 0; wait++) {
          await sleep(100);
          printed = stdout
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as AuditEvent);
        }
      }
      assert.ok(printed.length > 0, 'tail printed a new event');
      await sleep(2500); // two more polls: nothing is printed twice
      printed = stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditEvent);
      const ids = printed.map((event) => event.id);
      assert.equal(new Set(ids).size, ids.length, 'each event once');
      assert.ok(printed.every((event) => event.action.startsWith('api_key.')));
      assert.ok(
        printed.every((event) => event.seq > (seenBefore?.seq ?? 0)),
        'nothing from before',
      );
      assert.ok(printed.some((event) => made.includes(event.target?.id ?? '')));
      made = [];
    } finally {
      child.kill('SIGINT');
    }
    assert.notEqual(await exited, undefined);
  });

  test('verify: exit 0 on an intact chain, 1 once an event was edited', async () => {
    const good = await s.cohera(['audit', 'verify', '--json']);
    const result = json<AuditVerification>(good);
    assert.equal(result.ok, true);
    assert.deepEqual(
      { ...result, checked: 0, head_seq: 0 },
      {
        ...plain(await s.sdk.auditEvents.verify()),
        checked: 0,
        head_seq: 0,
      },
    );
    assert.match(ok(await s.cohera(['audit', 'verify'])), /ok/);

    const { org, sdk } = await s.newOrg();
    await sdk.apiKeys.create({ name: 'to tamper with', scopes: ['read:products'] });
    await sdk.auditEvents.list(); // flushes the buffered events
    await s.t.app.deps.db
      .updateTable('audit_events')
      .set({ metadata: '{"tampered":true}' })
      .where('org_id', '=', org.orgId)
      .where('action', '=', 'api_key.created')
      .execute();
    const broken = await s.cohera(['audit', 'verify', '--json'], { COHERA_API_KEY: org.adminKey });
    assert.equal(broken.code, 1);
    const verdict = JSON.parse(broken.stdout) as AuditVerification;
    assert.equal(verdict.ok, false);
    assert.ok(verdict.first_bad);
    const human = await s.cohera(['audit', 'verify'], { COHERA_API_KEY: org.adminKey });
    assert.equal(human.code, 1);
    assert.match(human.stdout, /BROKEN/);
  });

  test('export: NDJSON, oldest first, to stdout or a 0600 file', async () => {
    const run = await s.cohera(['audit', 'export']);
    const lines = ok(run).trim().split('\n');
    const events = lines.map((line) => JSON.parse(line) as AuditEvent);
    const expected: AuditEvent[] = [];
    for await (const event of s.sdk.auditEvents.export()) expected.push(event);
    assert.deepEqual(events, plain(expected));
    assert.ok(events.length > 1);
    assert.ok(
      events.every((event, i) => i === 0 || event.seq > (events[i - 1]?.seq ?? 0)),
      'oldest first',
    );

    const out = join(dir.path, 'audit.ndjson');
    const toFile = await s.cohera(['audit', 'export', '--action', 'api_key.created', '--out', out]);
    assert.equal(ok(toFile), '');
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const filed = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEvent);
    assert.ok(filed.length > 0 && filed.every((event) => event.action === 'api_key.created'));
  });

  test('security report: a table of checks; exit 1 exactly when one fails', async () => {
    const run = await s.cohera(['security', 'report', '--json']);
    const report = JSON.parse(run.stdout) as SecurityReport;
    const expected = await s.sdk.security.report();
    assert.deepEqual(
      report.checks.map((check) => [check.id, check.status, check.items.length]),
      expected.checks.map((check) => [check.id, check.status, check.items.length]),
    );
    const failing = report.checks.some((check) => check.status === 'fail');
    assert.equal(run.code, failing ? 1 : 0, run.stderr);

    const table = await s.cohera(['security', 'report']);
    assert.equal(table.code, failing ? 1 : 0);
    for (const check of expected.checks) assert.ok(table.stdout.includes(check.id), check.id);
    assertNoEscapes(table);

    // A leaked key still active fails the report (policy "notify" keeps it active).
    await s.sdk.organization.update({ policy: { leaked_key_action: 'notify' } });
    const leaked = await s.sdk.apiKeys.create({ name: 'leaked', scopes: ['read:products'] });
    await s.sdk.credentials.revoke([leaked.key]);
    let code: number | null = 0;
    for (let i = 0; i < 50 && code !== 1; i++) {
      code = (await s.cohera(['security', 'report', '--details'])).code;
      if (code !== 1) await sleep(100);
    }
    assert.equal(code, 1);
    const details = await s.cohera(['security', 'report', '--details']);
    assert.ok(details.stdout.includes(leaked.id));
    assert.equal(details.stdout.includes(leaked.key), false);
  });
});
