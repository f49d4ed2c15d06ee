/**
 * Tamper evidence on every engine: an edited, deleted or inserted event, made directly in the database,
 * makes `GET /v1/audit-events/verify` fail and name the first bad event; retention keeps the chain
 * verifiable; two writers appending to one org at once still make one valid chain.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { AuditLog } from '../../src/audit/log.ts';
import { purgeAuditEvents } from '../../src/audit/retention.ts';
import { ManualClock } from '../../src/clock.ts';
import { createLogger } from '../../src/http/logger.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { verifyChain } from '../support/audit.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';

forEachEngine('audit: tamper evidence', (_engine, handle) => {
  let t: TestApp;
  const clock = new ManualClock(Date.parse('2026-06-01T08:00:00Z'));

  before(async () => {
    // API calls are not recorded here, so the chains hold exactly the events each test makes.
    t = await startTestApp(handle(), { clock, env: { COHERA_AUDIT_API_CALLS: 'none' } });
  });
  after(() => t.close());

  const verify = (org: TestOrg) => verifyChain(t, org);

  /** An org with `n` recorded key creations (plus whatever bootstrapping recorded). */
  async function orgWithEvents(n: number): Promise<{ org: TestOrg; ids: string[] }> {
    const org = await createOrg(t.app);
    for (let i = 0; i < n; i++) {
      clock.advance(1);
      const created = await t.call(org.adminKey, 'POST', '/v1/api-keys', {
        name: `k${i}`,
        scopes: ['read:*'],
      });
      assert.equal(created.statusCode, 201, created.body);
    }
    const rows = await t.app.deps.db
      .selectFrom('audit_events')
      .select(['id', 'action'])
      .where('org_id', '=', org.orgId)
      .orderBy('seq')
      .execute();
    return { org, ids: rows.filter((r) => r.action === 'api_key.created').map((r) => r.id) };
  }

  test('an intact chain verifies, and counts every event', async () => {
    const { org, ids } = await orgWithEvents(4);
    const verdict = await verify(org);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.first_bad, null);
    assert.ok(verdict.checked >= ids.length);
  });

  test('an edited event is found', async () => {
    const { org, ids } = await orgWithEvents(4);
    await t.app.deps.db
      .updateTable('audit_events')
      .set({ metadata: JSON.stringify({ name: 'innocent' }) })
      .where('id', '=', ids[2] as string)
      .execute();
    const seq = (await seqOf(ids[2] as string)) ?? 0;
    assert.deepEqual(await verify(org), {
      ok: false,
      checked: seq,
      first_bad: ids[2],
      reason: 'event_invalid',
      head_seq: seq + 1,
      digest: null,
    });
  });

  async function seqOf(id: string): Promise<number | undefined> {
    const row = await t.app.deps.db
      .selectFrom('audit_events')
      .select('seq')
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? Number(row.seq) : undefined;
  }

  test('an edited actor or result is found too: every field is covered', async () => {
    const { org, ids } = await orgWithEvents(3);
    await t.app.deps.db
      .updateTable('audit_events')
      .set({ actor_id: 'key_someoneelse' })
      .where('id', '=', ids[0] as string)
      .execute();
    assert.equal((await verify(org)).first_bad, ids[0]);
  });

  test('a deleted event is found: the next one is named', async () => {
    const { org, ids } = await orgWithEvents(4);
    await t.app.deps.db
      .deleteFrom('audit_events')
      .where('id', '=', ids[1] as string)
      .execute();
    const verdict = await verify(org);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.first_bad, ids[2]);
  });

  test('deleting the newest events is found: the chain head no longer matches', async () => {
    const { org, ids } = await orgWithEvents(3);
    await t.app.deps.db
      .deleteFrom('audit_events')
      .where('id', '=', ids[2] as string)
      .execute();
    const verdict = await verify(org);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.first_bad, ids[1], 'the last event after which events are missing');
  });

  test('an inserted (forged) event is found, even with a plausible hash', async () => {
    const { org, ids } = await orgWithEvents(2);
    const last = await t.app.deps.db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', org.orgId)
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    const forged = {
      ...last,
      id: `evt_${randomBytes(11).toString('hex').slice(0, 22)}`,
      seq: Number(last.seq) + 1,
      action: 'api_key.revoked',
      prev_hash: last.hash,
      hash: randomBytes(32).toString('hex'),
    };
    await t.app.deps.db.insertInto('audit_events').values(forged).execute();
    const verdict = await verify(org);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.first_bad, forged.id);
    assert.ok(ids.length === 2);
  });

  test('retention deletes old events and the chain still verifies; a row planted before the cut is found', async () => {
    const { org } = await orgWithEvents(3);
    clock.advance(400 * 86_400_000);
    await t.call(org.adminKey, 'POST', '/v1/api-keys', { name: 'after', scopes: ['read:*'] });
    const deleted = await purgeAuditEvents(t.app.deps.db, t.app.deps.audit.chain, 365, clock.now());
    assert.ok(deleted >= 3);
    const left = await t.app.deps.db
      .selectFrom('audit_events')
      .select('id')
      .where('org_id', '=', org.orgId)
      .execute();
    assert.equal(left.length, 1);
    const headSeq = (await verify(org)).head_seq;
    assert.deepEqual(await verify(org), {
      ok: true,
      checked: 1,
      first_bad: null,
      reason: null,
      head_seq: headSeq,
      digest: null,
    });

    const kept = await t.app.deps.db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', org.orgId)
      .executeTakeFirstOrThrow();
    const planted = { ...kept, id: `evt_${'P'.repeat(22)}`, seq: 1 };
    await t.app.deps.db.insertInto('audit_events').values(planted).execute();
    assert.equal((await verify(org)).first_bad, planted.id);
  });

  test('another org’s chain is untouched by all of this, and only admins may verify', async () => {
    const { org } = await orgWithEvents(2);
    assert.equal((await verify(org)).ok, true);
    const reader = await createKey(t.app, org, ['read:*']);
    assertProblem(await t.call(reader, 'GET', '/v1/audit-events/verify'), 403, 'insufficient_scope');
  });

  test('two writers appending to one org at once make one valid chain', async () => {
    const org = await createOrg(t.app);
    const logger = createLogger('silent');
    const writers = [0, 1].map(
      () => new AuditLog(t.app.deps.db, t.config.masterKey, clock, logger, { flushMs: 60_000 }),
    );
    // A second connection pool on PostgreSQL, so the appends really run at once.
    const second = handle().engine === 'postgres' ? await handle().open() : null;
    try {
      const dbs = [t.app.deps.db, second?.db ?? t.app.deps.db];
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (writers[i % 2] as AuditLog).record(dbs[i % 2] as typeof t.app.deps.db, {
            orgId: org.orgId,
            actor: { kind: 'system', id: `writer-${i % 2}` },
            action: 'api.request',
            metadata: { i },
          }),
        ),
      );
      const seqs = (
        await t.app.deps.db.selectFrom('audit_events').select('seq').where('org_id', '=', org.orgId).execute()
      )
        .map((r) => Number(r.seq))
        .sort((a, b) => a - b);
      assert.equal(new Set(seqs).size, seqs.length, 'no sequence number twice');
      const verdict = await verify(org);
      assert.equal(verdict.ok, true, JSON.stringify(verdict));
      assert.ok(verdict.checked >= 40);
    } finally {
      await second?.destroy();
    }
  });
});
