/**
 * Issue 14, audit chain truncation: someone who can write to the database, without the master key, must not
 * be able to shorten an org's audit log at either end, or roll it back, without `verify` saying so. The
 * head and the purge marker carry MACs (an unkeyed value or a row set back fails them); signed digests kept
 * outside the database catch what no MAC can: the whole log deleted, or rolled back to a state it really
 * had, or rewritten by a holder of the master key. Forged digests are refused; digests are emitted at the
 * configured interval to log lines and an owner-only file; retention still verifies; an upgraded
 * installation verifies; a reseal brings a chain back after a master-key change. Both engines.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { importJWK, jwtVerify } from 'jose';
import type { Kysely } from 'kysely';
import { AuditDigestSigner } from '../../src/audit/digest-signer.ts';
import { AuditLog } from '../../src/audit/log.ts';
import { resealAuditChain } from '../../src/audit/reseal.ts';
import { purgeAuditEvents, type RetentionRefusal } from '../../src/audit/retention.ts';
import { ManualClock } from '../../src/clock.ts';
import { createLogger } from '../../src/http/logger.ts';
import { auditAnchors } from '../../src/storage/migrations/0009-audit-anchors.ts';
import type { AuditEventsTable, DB } from '../../src/storage/schema.ts';
import { capturedLogs, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { type Verdict, verifyChain } from '../support/audit.ts';
import { tempDir, testConfig } from '../support/config.ts';
import { type EngineHandle, forEachEngine, prepareEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';

interface DigestLine {
  event: string;
  org_id: string;
  seq: number;
  hash: string;
  at: string;
  kid: string;
  digest: string;
}

const DAY = 86_400_000;

/** The `audit_digest` lines among captured log lines. */
function digestLines(lines: readonly string[]): DigestLine[] {
  return lines
    .map((line) => JSON.parse(line) as Partial<DigestLine>)
    .filter((line): line is DigestLine => line.event === 'audit_digest');
}

/** A digest with one claim changed and the signature kept: what an attacker editing a digest makes. */
function withClaim(digest: string, claim: string, value: unknown): string {
  const [header, payload, signature] = digest.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  claims[claim] = value;
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

forEachEngine('audit: truncation and rollback', (_engine, handle) => {
  let t: TestApp;
  let db: Kysely<DB>;
  // The suite's clock never moves on its own, so the app's timer makes no digest round and no retention
  // run but the first; the tests make them when they mean to.
  const clock = new ManualClock(Date.parse('2026-06-01T08:00:00Z'));

  before(async () => {
    t = await startTestApp(handle(), { clock, env: { COHERA_AUDIT_API_CALLS: 'none' } });
    db = t.app.deps.db;
  });
  after(() => t.close());

  const verify = (org: TestOrg, digest?: string) => verifyChain(t, org, digest);

  async function addEvents(org: TestOrg, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      clock.advance(1);
      const created = await t.call(org.adminKey, 'POST', '/v1/api-keys', {
        name: `k${i}`,
        scopes: ['read:*'],
      });
      assert.equal(created.statusCode, 201, created.body);
    }
  }

  async function orgWithEvents(n: number): Promise<TestOrg> {
    const org = await createOrg(t.app);
    await addEvents(org, n);
    return org;
  }

  const eventsOf = (org: TestOrg): Promise<AuditEventsTable[]> =>
    db.selectFrom('audit_events').selectAll().where('org_id', '=', org.orgId).orderBy('seq').execute();
  const headOf = (org: TestOrg) =>
    db.selectFrom('audit_chain_heads').selectAll().where('org_id', '=', org.orgId).executeTakeFirstOrThrow();

  /**
   * A signed digest of the org's chain as it stands. The app's own timer may make the round that digests
   * it; every round logs its digests, so the digest is taken from the log lines whichever round made it.
   */
  async function digestOf(org: TestOrg, loggedSince = 0): Promise<DigestLine> {
    const { seq } = await headOf(org);
    for (let round = 0; round < 3; round++) {
      await t.app.deps.audit.digests.emit();
      const line = digestLines(capturedLogs.slice(loggedSince))
        .reverse()
        .find((d) => d.org_id === org.orgId && d.seq === Number(seq));
      if (line) return line;
    }
    throw new Error(`no digest of ${org.orgId} at seq ${seq}`);
  }

  test('deleting the newest events and setting the head back fails the head’s MAC, and keeps failing', async () => {
    // The head set back to the last event kept, its MAC left as it was or replaced by an unkeyed hash.
    const unkeyed = (orgId: string, seq: number, hash: string) =>
      createHash('sha256')
        .update(JSON.stringify(['head', orgId, seq, hash]))
        .digest('hex');
    for (const recompute of [false, true]) {
      const org = await orgWithEvents(4);
      const rows = await eventsOf(org);
      const kept = rows.at(-3) as AuditEventsTable;
      await db
        .deleteFrom('audit_events')
        .where('org_id', '=', org.orgId)
        .where('seq', '>', kept.seq)
        .execute();
      await db
        .updateTable('audit_chain_heads')
        .set({
          seq: kept.seq,
          hash: kept.hash,
          ...(recompute ? { head_mac: unkeyed(org.orgId, Number(kept.seq), kept.hash) } : {}),
        })
        .where('org_id', '=', org.orgId)
        .execute();
      assert.deepEqual(await verify(org), {
        ok: false,
        checked: 0,
        first_bad: 'head',
        reason: 'head_unauthenticated',
        head_seq: Number(kept.seq),
        digest: null,
      });

      // The next event does not launder the rollback: the head is never sealed again over a bad MAC.
      const logStart = capturedLogs.length;
      await addEvents(org, 1);
      const later = await verify(org);
      assert.equal(later.ok, false);
      assert.equal(later.reason, 'head_unauthenticated');
      const lines = capturedLogs.slice(logStart).map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.ok(lines.some((l) => l.event === 'audit_head_unauthenticated' && l.org_id === org.orgId));
      // Nor is such a head ever signed in a digest.
      await t.app.deps.audit.digests.emit();
      assert.ok(!digestLines(capturedLogs.slice(logStart)).some((d) => d.org_id === org.orgId));
    }
  });

  test('deleting the head row with the newest events is found, and stays found after the next event', async () => {
    const org = await orgWithEvents(3);
    const rows = await eventsOf(org);
    await db
      .deleteFrom('audit_events')
      .where('org_id', '=', org.orgId)
      .where('seq', '>', (rows.at(-2) as AuditEventsTable).seq)
      .execute();
    await db.deleteFrom('audit_chain_heads').where('org_id', '=', org.orgId).execute();
    assert.deepEqual(await verify(org), {
      ok: false,
      checked: 0,
      first_bad: 'head',
      reason: 'head_missing',
      head_seq: 0,
      digest: null,
    });
    await addEvents(org, 1);
    assert.equal((await verify(org)).reason, 'head_unauthenticated');
  });

  test('deleting a prefix and forging a purge marker is found', async () => {
    const org = await orgWithEvents(4);
    const rows = await eventsOf(org);
    const cut = rows[2] as AuditEventsTable;
    await db.deleteFrom('audit_events').where('org_id', '=', org.orgId).where('seq', '<=', cut.seq).execute();
    // As retention would leave it, but without the key: the old MAC, or a made-up one.
    await db
      .updateTable('audit_chain_heads')
      .set({ purged_through_seq: cut.seq, purged_through_hash: cut.hash })
      .where('org_id', '=', org.orgId)
      .execute();
    assert.deepEqual(await verify(org), {
      ok: false,
      checked: 0,
      first_bad: 'head',
      reason: 'purge_marker_unauthenticated',
      head_seq: Number((rows.at(-1) as AuditEventsTable).seq),
      digest: null,
    });
    await db
      .updateTable('audit_chain_heads')
      .set({ purged_mac: randomBytes(32).toString('hex') })
      .where('org_id', '=', org.orgId)
      .execute();
    assert.equal((await verify(org)).reason, 'purge_marker_unauthenticated');
  });

  test('deleting the whole log: an earlier digest finds it; without one, verify sees an empty log', async () => {
    const org = await orgWithEvents(3);
    const earlier = await digestOf(org);
    const answer = await verify(org, earlier.digest);
    assert.equal(answer.ok, true);
    assert.deepEqual(answer.digest, { seq: earlier.seq, issued_at: `${earlier.at.slice(0, 19)}Z` });

    await db.deleteFrom('audit_events').where('org_id', '=', org.orgId).execute();
    await db.deleteFrom('audit_chain_heads').where('org_id', '=', org.orgId).execute();
    // Indistinguishable, inside the database, from an org that never had an event (documented).
    assert.deepEqual(await verify(org), {
      ok: true,
      checked: 0,
      first_bad: null,
      reason: null,
      head_seq: 0,
      digest: null,
    });
    assert.deepEqual(await verify(org, earlier.digest), {
      ok: false,
      checked: 0,
      first_bad: 'head',
      reason: 'head_behind_digest',
      head_seq: 0,
      digest: { seq: earlier.seq, issued_at: `${earlier.at.slice(0, 19)}Z` },
    });
  });

  test('rolling the org’s rows back to an earlier snapshot: a valid older state, found by a newer digest', async () => {
    const org = await orgWithEvents(3);
    const snapshotEvents = await eventsOf(org);
    const snapshotHead = await headOf(org);
    const older = await digestOf(org);
    await addEvents(org, 2);
    const newer = await digestOf(org);
    assert.ok(newer.seq > older.seq);

    await db.deleteFrom('audit_events').where('org_id', '=', org.orgId).execute();
    await db.deleteFrom('audit_chain_heads').where('org_id', '=', org.orgId).execute();
    await db.insertInto('audit_events').values(snapshotEvents).execute();
    await db.insertInto('audit_chain_heads').values(snapshotHead).execute();

    // Every row is one the server wrote, MACs included: without a digest, nothing inside can tell.
    const plain = await verify(org);
    assert.equal(plain.ok, true);
    assert.equal(plain.head_seq, older.seq);
    assert.equal((await verify(org, older.digest)).ok, true);
    const found = await verify(org, newer.digest);
    assert.equal(found.ok, false);
    assert.equal(found.reason, 'head_behind_digest');
    assert.equal(found.first_bad, 'head');
    // The next digest of this org goes back in seq: itself evidence of the rollback, for whoever keeps them.
    const next = await digestOf(org, capturedLogs.length);
    assert.equal(next.seq, older.seq);
  });

  test('a chain rewritten with the master key verifies alone; a digest taken before finds it', async () => {
    const org = await orgWithEvents(3);
    const digest = await digestOf(org);
    // Someone who holds the master key edits the digest's event and recomputes every hash and MAC.
    const { chain } = t.app.deps.audit;
    const rows = await eventsOf(org);
    let prev = (await headOf(org)).purged_through_hash;
    let target: AuditEventsTable | null = null;
    for (const row of rows) {
      const edited = {
        ...row,
        seq: Number(row.seq),
        prev_hash: prev,
        metadata: Number(row.seq) === digest.seq ? JSON.stringify({ name: 'nothing to see' }) : row.metadata,
      };
      const hash = chain.hashOf(edited);
      await db
        .updateTable('audit_events')
        .set({ prev_hash: prev, hash, metadata: edited.metadata })
        .where('org_id', '=', org.orgId)
        .where('seq', '=', row.seq)
        .execute();
      if (Number(row.seq) === digest.seq) target = row;
      prev = hash;
    }
    const last = Number((rows.at(-1) as AuditEventsTable).seq);
    await db
      .updateTable('audit_chain_heads')
      .set({ hash: prev, head_mac: chain.seal.head(org.orgId, last, prev) })
      .where('org_id', '=', org.orgId)
      .execute();
    assert.equal((await verify(org)).ok, true);
    const found = await verify(org, digest.digest);
    assert.equal(found.ok, false);
    assert.equal(found.reason, 'digest_hash_mismatch');
    assert.equal(found.first_bad, target?.id);
  });

  test('a digest of a head that ends in a segment of API calls: kept, it verifies; rewritten, it is found', async () => {
    const org = await orgWithEvents(1);
    for (let i = 0; i < 3; i++) {
      clock.advance(1);
      t.app.deps.audit.enqueue({
        orgId: org.orgId,
        actor: { kind: 'api_key', id: 'key_caller' },
        action: 'api.request',
        metadata: { i },
      });
    }
    await t.app.deps.audit.flush();
    const digest = await digestOf(org);
    const segment = await db
      .selectFrom('audit_segments')
      .selectAll()
      .where('org_id', '=', org.orgId)
      .executeTakeFirstOrThrow();
    assert.equal(Number(segment.seq_last), digest.seq, 'the digest names the segment’s end');
    assert.equal((await verify(org, digest.digest)).ok, true);

    // Someone who holds the master key edits a call in the segment and recomputes its hash and the head.
    const { chain } = t.app.deps.audit;
    const text = inflateRawSync(segment.events).toString('utf8').replace('{"i":1}', '{"i":7}');
    const edited = { ...segment, events: deflateRawSync(text, { level: 1 }) };
    const hash = chain.segmentHash(edited);
    await db
      .updateTable('audit_segments')
      .set({ events: edited.events, hash })
      .where('org_id', '=', org.orgId)
      .where('seq_last', '=', segment.seq_last)
      .execute();
    await db
      .updateTable('audit_chain_heads')
      .set({ hash, head_mac: chain.seal.head(org.orgId, digest.seq, hash) })
      .where('org_id', '=', org.orgId)
      .execute();
    assert.equal((await verify(org)).ok, true, 'rewritten with the key, the chain verifies alone');
    const found = await verify(org, digest.digest);
    assert.deepEqual(
      { ok: found.ok, reason: found.reason, first_bad: found.first_bad },
      { ok: false, reason: 'digest_hash_mismatch', first_bad: segment.id_first },
    );
  });

  test('forged digests are refused with 400 invalid_audit_digest naming the problem', async () => {
    const org = await orgWithEvents(2);
    const other = await orgWithEvents(1);
    const genuine = (await digestOf(org)).digest;
    const [header, payload, signature] = genuine.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    const foreignSigner = new AuditDigestSigner(randomBytes(32));
    const cases: [string, string, RegExp][] = [
      ['wrong signature', `${header}.${payload}.${flipped}`, /signature does not verify/],
      ['changed seq', withClaim(genuine, 'seq', 1), /signature does not verify/],
      ['changed hash', withClaim(genuine, 'hash', 'f'.repeat(64)), /signature does not verify/],
      ['changed org', withClaim(genuine, 'org_id', other.orgId), /signature does not verify/],
      ['another org’s digest', (await digestOf(other)).digest, /another organization/],
      [
        'another installation’s digest',
        foreignSigner.sign({ org_id: org.orgId, seq: 1, hash: 'a'.repeat(64), iat: 1 }),
        /key this server does not hold/,
      ],
      ['not a digest', 'hello', /not an audit digest/],
      [
        'an unsigned token',
        `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`,
        /not an audit digest/,
      ],
    ];
    for (const [label, digest, problem] of cases) {
      const response = await t.call(
        org.adminKey,
        'GET',
        `/v1/audit-events/verify?digest=${encodeURIComponent(digest)}`,
      );
      const body = assertProblem(response, 400, 'invalid_audit_digest', 'query/digest');
      assert.match(body.detail ?? '', problem, label);
    }
    assert.equal((await verify(org, genuine)).ok, true);
  });

  test('an auditor verifies a digest with the published public key alone (no credential, no master key)', async () => {
    const org = await orgWithEvents(1);
    const line = await digestOf(org);
    const published = await t.inject({ method: 'GET', url: '/v1/audit-events/digest-keys' });
    assert.equal(published.statusCode, 200, published.body);
    const [jwk] = published.json<{ keys: (Record<string, string> & { kid: string })[] }>().keys;
    assert.ok(jwk);
    assert.equal(jwk.kid, line.kid);
    assert.equal(JSON.stringify(jwk).includes('"d"'), false, 'never the private part');
    const { payload, protectedHeader } = await jwtVerify(line.digest, await importJWK(jwk, 'EdDSA'), {
      typ: 'audit-digest+jwt',
      algorithms: ['EdDSA'],
    });
    assert.equal(protectedHeader.kid, jwk.kid);
    assert.deepEqual(
      { org_id: payload.org_id, seq: payload.seq, hash: payload.hash },
      { org_id: org.orgId, seq: line.seq, hash: line.hash },
    );
  });

  test('retention still verifies after purging, with a sealed marker; it never moves a forged one', async () => {
    const org = await orgWithEvents(3);
    const early = await digestOf(org);
    // A marker moved without the key: retention must not seal it by moving it on.
    const forged = await orgWithEvents(2);
    await db
      .updateTable('audit_chain_heads')
      .set({ purged_mac: 'not a mac' })
      .where('org_id', '=', forged.orgId)
      .execute();
    // (The app's own hourly retention may run from here on too; it must come to the same end.)
    clock.advance(400 * DAY);
    await addEvents(org, 1);
    await addEvents(forged, 1);
    // A recent event's time set back, so that retention would delete it and every event before it.
    const backdated = await orgWithEvents(3);
    const recent = (await eventsOf(backdated))[1] as AuditEventsTable;
    await db
      .updateTable('audit_events')
      .set({ at: '2001-01-01T00:00:00.000Z' })
      .where('id', '=', recent.id)
      .execute();

    const refused: [string, RetentionRefusal][] = [];
    await purgeAuditEvents(db, t.app.deps.audit.chain, 365, clock.now(), (orgId, reason) =>
      refused.push([orgId, reason]),
    );
    const verdict = await verify(org);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    assert.equal(verdict.checked, 1);
    const head = await headOf(org);
    assert.ok(
      t.app.deps.audit.chain.seal.isPurgeMarker(
        org.orgId,
        Number(head.purged_through_seq),
        head.purged_through_hash,
        head.purged_mac,
      ),
    );
    // A digest of a state retention has since cut through is covered by the authenticated marker.
    assert.equal((await verify(org, early.digest)).ok, true);

    assert.ok(
      refused.some(([id, reason]) => id === forged.orgId && reason === 'purge_marker_unauthenticated'),
    );
    assert.equal((await eventsOf(forged)).length, 3);
    assert.ok(refused.some(([id, reason]) => id === backdated.orgId && reason === 'cut_event_invalid'));
    assert.equal((await eventsOf(backdated)).length, 3);
    assert.equal((await verify(backdated)).first_bad, recent.id);
  });

  test('reseal: a tampered head, once investigated, is sealed again and the reseal is in the log', async () => {
    const org = await orgWithEvents(3);
    const kept = (await eventsOf(org)).at(-2) as AuditEventsTable;
    await db.deleteFrom('audit_events').where('org_id', '=', org.orgId).where('seq', '>', kept.seq).execute();
    await db
      .updateTable('audit_chain_heads')
      .set({ seq: kept.seq, hash: kept.hash })
      .where('org_id', '=', org.orgId)
      .execute();
    assert.equal((await verify(org)).reason, 'head_unauthenticated');
    const result = await resealAuditChain(db, t.app.deps.audit, org.orgId);
    assert.deepEqual(result, {
      org_id: org.orgId,
      head: { seq: Number(kept.seq), was_authentic: false },
      purge_marker: { seq: 0, was_authentic: true },
      dropped_events: 0,
    });
    const verdict = await verify(org);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    const last = (await eventsOf(org)).at(-1) as AuditEventsTable;
    assert.equal(last.action, 'audit.chain_resealed');
    assert.deepEqual(JSON.parse(last.metadata), {
      head: { seq: Number(kept.seq), was_authentic: false },
      purge_marker: { seq: 0, was_authentic: true },
      dropped_events: 0,
    });
  });
});

forEachEngine('audit: digests, upgrade and master-key change', (engine) => {
  let handle: EngineHandle;
  const dir = tempDir('cohera-digests-');
  before(async () => {
    handle = await prepareEngine(engine);
  });
  after(async () => {
    await handle.cleanup();
    dir.remove();
  });

  test('digests come at the configured interval, to log lines and the file sink, only for orgs that moved', async () => {
    const database = await handle.open();
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _encoding, callback) {
          lines.push(...String(chunk).split('\n').filter(Boolean));
          callback();
        },
      }),
    );
    const clock = new ManualClock(Date.parse('2026-06-01T08:00:00Z'));
    const sink = join(dir.path, 'digests.ndjson');
    // Not started: the test drives the timer's tick itself, with the clock.
    const audit = new AuditLog(database.db, randomBytes(32), clock, logger, {
      digestIntervalMs: 60_000,
      digestSink: sink,
    });
    const [a, b] = [`org_A${randomBytes(4).toString('hex')}`, `org_B${randomBytes(4).toString('hex')}`];
    const record = (orgId: string) =>
      audit.record(database.db, { orgId, actor: { kind: 'system', id: 'test' }, action: 'api.request' });
    try {
      await record(a);
      await record(b);
      const first = await audit.digests.tick();
      assert.deepEqual(first.map((d) => d.org_id).sort(), [a, b].sort());
      assert.equal(statSync(sink).mode & 0o777, 0o600);

      await record(a);
      assert.deepEqual(await audit.digests.tick(), [], 'not due yet');
      clock.advance(59_999);
      assert.deepEqual(await audit.digests.tick(), [], 'not due yet');
      clock.advance(1);
      const second = await audit.digests.tick();
      assert.deepEqual(
        second.map((d) => [d.org_id, d.seq]),
        [[a, 2]],
        'only the org whose head moved',
      );
      clock.advance(60_000);
      assert.deepEqual(await audit.digests.tick(), [], 'nothing moved: no digest');

      // Each digest is one log line and one line of the file, the same object (beside pino's own fields).
      type LogLine = DigestLine & { level?: unknown; time?: unknown; service?: unknown; msg?: unknown };
      const logged = digestLines(lines).map((line) => {
        const { level: _level, time: _time, service: _service, msg, ...digest } = line as LogLine;
        assert.equal(msg, 'audit digest');
        return digest;
      });
      const filed = readFileSync(sink, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as DigestLine);
      assert.deepEqual(filed, logged);
      assert.deepEqual(
        logged.map((d) => d.digest),
        [...first, ...second].map((d) => d.digest),
      );
      assert.equal(statSync(sink).mode & 0o777, 0o600);
      for (const line of logged) assert.equal(audit.digestSigner.open(line.digest).seq, line.seq);
    } finally {
      await database.destroy();
    }
  });

  test('a running server makes digests on its own at COHERA_AUDIT_DIGEST_INTERVAL', async () => {
    const sink = join(dir.path, 'server-digests.ndjson');
    const t = await startTestApp(handle, {
      env: { COHERA_AUDIT_DIGEST_INTERVAL: '1', COHERA_AUDIT_DIGEST_SINK: sink },
    });
    try {
      const org = await createOrg(t.app);
      const created = await t.call(org.adminKey, 'POST', '/v1/api-keys', { name: 'k', scopes: ['read:*'] });
      assert.equal(created.statusCode, 201);
      let found: DigestLine | undefined;
      for (let waited = 0; !found && waited < 10_000; waited += 100) {
        await sleep(100);
        found = digestLines(capturedLogs).find((d) => d.org_id === org.orgId);
      }
      assert.ok(found, 'a digest within the interval');
      const filed = readFileSync(sink, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as DigestLine);
      assert.ok(filed.some((d) => d.digest === found.digest));
      const verdict = await t.call(
        org.adminKey,
        'GET',
        `/v1/audit-events/verify?digest=${encodeURIComponent(found.digest)}`,
      );
      assert.equal(verdict.json<Verdict>().ok, true, verdict.body);
    } finally {
      await t.close();
    }
  });

  test('an installation that upgrades keeps verifying: migration 0009 seals the heads it finds', async () => {
    const masterKey = randomBytes(32).toString('base64');
    const env = { COHERA_MASTER_KEY: masterKey, COHERA_AUDIT_API_CALLS: 'none' };
    let t = await startTestApp(handle, { env });
    const org = await createOrg(t.app);
    await t.call(org.adminKey, 'POST', '/v1/api-keys', { name: 'before the upgrade', scopes: ['read:*'] });
    await t.close();

    // The schema as it was before 0009, with the heads an earlier version wrote.
    const database = await handle.open();
    try {
      const { db } = database;
      for (const column of ['head_mac', 'purged_mac', 'digested_seq']) {
        await db.schema.alterTable('audit_chain_heads').dropColumn(column).execute();
      }
      const up = (key?: Buffer) =>
        db.transaction().execute((trx) => auditAnchors(engine, key).up(trx as unknown as Kysely<unknown>));
      await assert.rejects(up(), /needs the master key/);
      await up(Buffer.from(masterKey, 'base64'));
    } finally {
      await database.destroy();
    }

    t = await startTestApp(handle, { env });
    try {
      const verdict = await t.call(org.adminKey, 'GET', '/v1/audit-events/verify');
      assert.equal(verdict.json<Verdict>().ok, true, verdict.body);
      await t.call(org.adminKey, 'POST', '/v1/api-keys', { name: 'after the upgrade', scopes: ['read:*'] });
      assert.equal((await t.call(org.adminKey, 'GET', '/v1/audit-events/verify')).json<Verdict>().ok, true);
    } finally {
      await t.close();
    }
  });

  test('after a master-key change, a reseal that drops the unverifiable events makes the chain verify', async () => {
    let t = await startTestApp(handle, { env: { COHERA_AUDIT_API_CALLS: 'none' } });
    const org = await createOrg(t.app);
    await t.call(org.adminKey, 'POST', '/v1/api-keys', { name: 'old key era', scopes: ['read:*'] });
    await t.close();

    // startTestApp gives every app a new master key.
    t = await startTestApp(handle, { env: { COHERA_AUDIT_API_CALLS: 'none' } });
    try {
      const changed = (await t.call(org.adminKey, 'GET', '/v1/audit-events/verify')).json<Verdict>();
      assert.equal(changed.reason, 'head_unauthenticated');
      const result = await resealAuditChain(t.app.deps.db, t.app.deps.audit, org.orgId, {
        dropUnverifiable: true,
      });
      assert.equal(result?.head.was_authentic, false);
      assert.ok((result?.dropped_events ?? 0) >= 1);
      const resealed = (await t.call(org.adminKey, 'GET', '/v1/audit-events/verify')).json<Verdict>();
      assert.deepEqual(resealed, {
        ok: true,
        checked: 1,
        first_bad: null,
        reason: null,
        head_seq: resealed.head_seq,
        digest: null,
      });
    } finally {
      await t.close();
    }
  });
});

describe('the digest format', () => {
  test('a digest is refused by a signer with another master key, and accepted by one with the same', () => {
    const key = randomBytes(32);
    const digest = new AuditDigestSigner(key).sign({
      org_id: 'org_x',
      seq: 3,
      hash: 'c'.repeat(64),
      iat: 10,
    });
    assert.deepEqual(new AuditDigestSigner(Buffer.from(key)).open(digest), {
      org_id: 'org_x',
      seq: 3,
      hash: 'c'.repeat(64),
      iat: 10,
    });
    assert.throws(() => new AuditDigestSigner(randomBytes(32)).open(digest), /does not hold/);
  });
});

describe('digest settings', () => {
  test('the interval is 1 to 300 seconds, and the sink’s directory must exist', () => {
    const dir = tempDir();
    try {
      for (const interval of ['0', '301', '5m', '']) {
        const env = { COHERA_AUDIT_DIGEST_INTERVAL: interval };
        if (interval === '') assert.equal(testConfig(env, dir.path).auditDigestIntervalSeconds, 300);
        else assert.throws(() => testConfig(env, dir.path), /COHERA_AUDIT_DIGEST_INTERVAL must be/);
      }
      assert.equal(
        testConfig({ COHERA_AUDIT_DIGEST_INTERVAL: '60' }, dir.path).auditDigestIntervalSeconds,
        60,
      );
      assert.throws(
        () => testConfig({ COHERA_AUDIT_DIGEST_SINK: join(dir.path, 'missing', 'digests.ndjson') }, dir.path),
        /COHERA_AUDIT_DIGEST_SINK: the directory of .* does not exist/,
      );
      const sink = join(dir.path, 'digests.ndjson');
      assert.equal(testConfig({ COHERA_AUDIT_DIGEST_SINK: sink }, dir.path).auditDigestSink, sink);
      assert.equal(testConfig({}, dir.path).auditDigestSink, null);
    } finally {
      dir.remove();
    }
  });
});
