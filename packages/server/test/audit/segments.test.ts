/**
 * API-call events stored in segments (audit/segments.ts), on every engine: each call is still its own
 * event to listing, filters, pagination and export, in one chain with the events stored as rows; and a
 * segment is tamper-evident like an event: an edited event inside it, an edited bound beside it, a deleted,
 * forged or re-encoded segment each make verify fail and name it. Retention and the operator's reseal cut
 * at segments as at events.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { MonotonicIds } from '@cohera/shared';
import fc from 'fast-check';
import { AuditLog } from '../../src/audit/log.ts';
import { resealAuditChain } from '../../src/audit/reseal.ts';
import { purgeAuditEvents } from '../../src/audit/retention.ts';
import { openSegment, PendingSegment } from '../../src/audit/segments.ts';
import { ManualClock } from '../../src/clock.ts';
import { createLogger } from '../../src/http/logger.ts';
import type { AuditSegmentsTable } from '../../src/storage/schema.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { type AuditEventJson, verifyChain } from '../support/audit.ts';
import { forEachEngine } from '../support/engines.ts';

type Event = AuditEventJson;

/** A segment's events with their JSON text changed, compressed again. */
function rewritten(events: Uint8Array, change: (text: string) => string): Buffer {
  return deflateRawSync(change(inflateRawSync(events).toString('utf8')), { level: 1 });
}

forEachEngine('audit: API calls in segments', (_engine, handle) => {
  let t: TestApp;
  const clock = new ManualClock(Date.parse('2026-06-01T08:00:00Z'));

  before(async () => {
    // Calls are enqueued by the tests, so each org holds exactly what its test made.
    t = await startTestApp(handle(), { clock, env: { COHERA_AUDIT_API_CALLS: 'none' } });
  });
  after(() => t.close());

  /** Records `n` API calls by `actor` (every third one failed), one millisecond apart. */
  function calls(org: TestOrg, n: number, actor = 'key_caller', from = 0): void {
    for (let i = from; i < from + n; i++) {
      clock.advance(1);
      t.app.deps.audit.enqueue({
        orgId: org.orgId,
        actor: { kind: 'api_key', id: actor },
        action: 'api.request',
        result: i % 3 === 2 ? 'failure' : 'success',
        metadata: { method: 'GET', route: '/v1/suppliers', status: i % 3 === 2 ? 404 : 200, i },
        request: { ip: '127.0.0.1', userAgent: `agent/${i}`, requestId: `req_${i}` },
      });
    }
  }

  /** A management event, recorded as a row. */
  async function management(org: TestOrg): Promise<void> {
    clock.advance(1);
    const created = await t.call(org.adminKey, 'POST', '/v1/api-keys', { name: 'k', scopes: ['read:*'] });
    assert.equal(created.statusCode, 201, created.body);
  }

  const segmentsOf = (org: TestOrg) =>
    t.app.deps.db
      .selectFrom('audit_segments')
      .selectAll()
      .where('org_id', '=', org.orgId)
      .orderBy('seq_last')
      .execute();

  async function list(org: TestOrg, query = ''): Promise<Event[]> {
    const all: Event[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page = await t.call(
        org.adminKey,
        'GET',
        `/v1/audit-events?limit=7${query}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json<{ data: Event[]; next_cursor: string | null }>();
      all.push(...body.data);
      if (body.next_cursor === null) return all;
      cursor = body.next_cursor;
    }
  }

  const verify = (org: TestOrg) => verifyChain(t, org);

  async function exported(org: TestOrg, query = ''): Promise<Event[]> {
    const response = await t.call(org.adminKey, 'GET', `/v1/audit-events/export${query ? `?${query}` : ''}`);
    assert.equal(response.statusCode, 200, response.body);
    return response.body
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Event);
  }

  /** An org whose chain interleaves rows and segments: rows, 10 calls, a row, 12 calls, a row. */
  async function mixedOrg(): Promise<TestOrg> {
    const org = await createOrg(t.app);
    await management(org);
    calls(org, 10);
    await t.app.deps.audit.flush();
    await management(org);
    calls(org, 12, 'key_other', 10);
    await t.app.deps.audit.flush();
    await management(org);
    return org;
  }

  test('one segment per org and flush; every call is listed as its own event, once, newest first', async () => {
    const org = await mixedOrg();
    const segments = await segmentsOf(org);
    assert.deepEqual(
      segments.map((s) => Number(s.seq_last) - Number(s.seq_first) + 1),
      [10, 12],
    );
    const listed = await list(org);
    const ids = listed.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no event twice across pages');
    assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first by id');
    const listedCalls = listed.filter((e) => e.action === 'api.request');
    assert.equal(listedCalls.length, 22);
    const fifth = listedCalls.find((e) => e.metadata.i === 5) as Event;
    assert.deepEqual(
      { ...fifth, id: undefined, at: undefined, seq: undefined },
      {
        id: undefined,
        at: undefined,
        seq: undefined,
        object: 'audit_event',
        org_id: org.orgId,
        actor: { kind: 'api_key', id: 'key_caller' },
        action: 'api.request',
        target: null,
        result: 'failure',
        ip: '127.0.0.1',
        user_agent: 'agent/5',
        request_id: 'req_5',
        metadata: { method: 'GET', route: '/v1/suppliers', status: 404, i: 5 },
      },
    );
    // Sequence numbers: the chain's places, shared by rows and segments without a gap.
    const seqs = listed.map((e) => e.seq).sort((a, b) => a - b);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => (seqs[0] as number) + i),
    );
    const verdict = await verify(org);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    assert.equal(verdict.checked, listed.length);
  });

  test('a full segment of long, non-ASCII calls keeps every character (its pending bytes grow past their first size)', async () => {
    const org = await createOrg(t.app);
    // ~1.5 KB of UTF-8 a call (2-, 3- and 4-byte characters), 1,000 calls: many times the first 128 KB.
    const agent = (i: number) => `Müller-Ağent/${i} ${'√ü€😀'.repeat(120)} «${i}»`;
    for (let i = 0; i < 1000; i++) {
      clock.advance(1);
      t.app.deps.audit.enqueue({
        orgId: org.orgId,
        actor: { kind: 'api_key', id: 'key_ünïcode' },
        action: 'api.request',
        result: 'success',
        metadata: { method: 'GET', route: '/v1/suppliers', status: 200, i, note: '"quoted" \\ back\nslash' },
        request: { ip: '::1', userAgent: agent(i), requestId: `req_${i}` },
      });
    }
    await t.app.deps.audit.flush();
    const segments = await segmentsOf(org);
    assert.equal(segments.length, 1);
    const opened = (await exported(org)).filter((e) => e.action === 'api.request');
    assert.equal(opened.length, 1000);
    opened.forEach((event, index) => {
      assert.equal(event.user_agent, agent(index));
      assert.equal(event.actor.id, 'key_ünïcode');
      assert.deepEqual(event.metadata, {
        method: 'GET',
        route: '/v1/suppliers',
        status: 200,
        i: index,
        note: '"quoted" \\ back\nslash',
      });
    });
    const verdict = await verify(org);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });

  test('many segments, and two nodes’ segments whose ids interleave: pages still list each event once, in order', async () => {
    const org = await createOrg(t.app);
    for (let flush = 0; flush < 20; flush++) {
      calls(org, 3, flush === 2 ? 'key_rare' : 'key_caller', flush * 3);
      await t.app.deps.audit.flush();
    }
    // A second node recording at the same moments: its segment's ids fall between this node's.
    const other = new AuditLog(t.app.deps.db, t.config.masterKey, clock, createLogger('silent'));
    for (let i = 0; i < 6; i++) {
      clock.advance(1);
      const call = {
        orgId: org.orgId,
        actor: { kind: 'api_key' as const, id: 'key_node2' },
        action: 'api.request' as const,
      };
      other.enqueue(call);
      t.app.deps.audit.enqueue({ ...call, actor: { kind: 'api_key', id: 'key_node1' } });
    }
    await other.flush();
    await t.app.deps.audit.flush();
    assert.ok((await segmentsOf(org)).length >= 22);
    const listed = await list(org);
    const ids = listed.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no event twice');
    assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first across interleaved segments');
    assert.equal(listed.filter((e) => e.action === 'api.request').length, 72);
    // A filter matching one early segment: the walk goes past many pages of segments to find it.
    assert.deepEqual(
      (await list(org, '&actor_id=key_rare')).map((e) => e.metadata.i),
      [8, 7, 6],
    );
    assert.equal((await verify(org)).ok, true);
  });

  test('filters apply to calls in segments as to rows', async () => {
    const org = await mixedOrg();
    const all = await list(org);
    const expect = (predicate: (e: Event) => boolean) =>
      all
        .filter(predicate)
        .map((e) => e.id)
        .sort();
    const ids = (events: Event[]) => events.map((e) => e.id).sort();
    assert.deepEqual(
      ids(await list(org, '&action=api.request')),
      expect((e) => e.action === 'api.request'),
    );
    assert.deepEqual(
      ids(await list(org, '&action=api.')),
      expect((e) => e.action.startsWith('api.')),
    );
    assert.deepEqual(
      ids(await list(org, '&action=api_key.')),
      expect((e) => e.action.startsWith('api_key.')),
    );
    assert.deepEqual(
      ids(await list(org, '&actor_id=key_other')),
      expect((e) => e.actor.id === 'key_other'),
    );
    // `key_calle` is inside `key_caller` (the segment pre-filter matches it); no event's actor is it.
    assert.deepEqual(ids(await list(org, '&actor_id=key_calle')), []);
    assert.deepEqual(
      ids(await list(org, '&result=failure')),
      expect((e) => e.result === 'failure'),
    );
    assert.deepEqual(
      ids(await list(org, '&result=success')),
      expect((e) => e.result === 'success'),
    );
    const target = all.find((e) => e.target !== null)?.target?.id as string;
    assert.deepEqual(
      ids(await list(org, `&target_id=${target}`)),
      expect((e) => e.target?.id === target),
    );
    // A time window that starts and ends inside the segments.
    const calls = all.filter((e) => e.action === 'api.request').sort((a, b) => (a.at < b.at ? -1 : 1));
    const since = (calls[3] as Event).at;
    const until = (calls[15] as Event).at;
    const windowed = ids(await list(org, `&since=${since}&until=${until}`));
    assert.deepEqual(
      windowed,
      expect((e) => e.at >= since && e.at <= until),
    );
    assert.ok(windowed.length >= 13);
  });

  test('an actor filter with LIKE’s special characters matches them as characters, and never errs', async () => {
    const org = await createOrg(t.app);
    const actors = ['key\\', 'key_%', 'keyA%', 'key\\x', 'KEY_%'];
    for (const actor of actors) calls(org, 1, actor);
    await t.app.deps.audit.flush();
    for (const actor of actors) {
      const found = await list(org, `&actor_id=${encodeURIComponent(actor)}`);
      assert.deepEqual(
        found.map((e) => e.actor.id),
        [actor],
        actor,
      );
    }
    assert.deepEqual(await list(org, `&actor_id=${encodeURIComponent('key_')}`), []);
    assert.deepEqual(await list(org, `&actor_id=${encodeURIComponent('%')}`), []);
  });

  test('export is every event once, in chain order, with the same filters', async () => {
    const org = await mixedOrg();
    const lines = await exported(org);
    assert.deepEqual(
      lines.map((e) => e.seq),
      lines.map((_, i) => (lines[0] as Event).seq + i),
      'contiguous and in order across rows and segments',
    );
    assert.equal(lines.length, (await list(org)).length);
    const failures = await exported(org, 'result=failure&action=api.request');
    assert.deepEqual(
      failures.map((e) => e.metadata.i),
      [2, 5, 8, 11, 14, 17, 20],
    );
  });

  async function tamperedVerdict(change: (segment: AuditSegmentsTable) => Partial<AuditSegmentsTable>) {
    const org = await mixedOrg();
    const [first] = await segmentsOf(org);
    const segment = first as AuditSegmentsTable;
    await t.app.deps.db
      .updateTable('audit_segments')
      .set(change(segment))
      .where('org_id', '=', org.orgId)
      .where('seq_last', '=', segment.seq_last)
      .execute();
    return { verdict: await verify(org), segment };
  }

  test('an event edited inside a segment is found, and the segment named', async () => {
    const { verdict, segment } = await tamperedVerdict((s) => ({
      events: rewritten(s.events, (text) => text.replace('"status":404', '"status":200')),
    }));
    assert.deepEqual(
      { ok: verdict.ok, reason: verdict.reason, first_bad: verdict.first_bad },
      { ok: false, reason: 'event_invalid', first_bad: segment.id_first },
    );
  });

  test('a segment re-encoded with the same meaning is found (the MAC covers its exact bytes)', async () => {
    for (const events of [
      (s: AuditSegmentsTable) => rewritten(s.events, (text) => text.replaceAll(',', ', ')),
      // The same text, compressed harder: other bytes.
      (s: AuditSegmentsTable) => deflateRawSync(inflateRawSync(s.events), { level: 9 }),
    ]) {
      const { verdict } = await tamperedVerdict((s) => ({ events: events(s) }));
      assert.equal(verdict.reason, 'event_invalid');
    }
  });

  test('a segment altered into a decompression bomb fails to open, and verify names it', async () => {
    const bomb = deflateRawSync(Buffer.alloc(100 * 1024 * 1024, 0x20), { level: 9 });
    assert.ok(bomb.length < 200_000);
    const org = await mixedOrg();
    const [first] = await segmentsOf(org);
    await t.app.deps.db
      .updateTable('audit_segments')
      .set({ events: bomb })
      .where('org_id', '=', org.orgId)
      .where('seq_last', '=', (first as AuditSegmentsTable).seq_last)
      .execute();
    assert.equal((await verify(org)).reason, 'event_invalid');
    const listed = await t.call(org.adminKey, 'GET', '/v1/audit-events?limit=100');
    assert.equal(listed.statusCode, 500, 'refused, not inflated: memory stays bounded');
  });

  test('each bound beside the events is covered: times, ids, actors, failures', async () => {
    for (const change of [
      { at_last: '2020-01-01T00:00:00.000Z' },
      { at_first: '2020-01-01T00:00:00.000Z' },
      { id_last: 'evt_0000000000000000000000' },
      { actor_ids: 'key_caller key_admin' },
      { failures: 0 },
    ] satisfies Partial<AuditSegmentsTable>[]) {
      const { verdict } = await tamperedVerdict(() => change);
      assert.equal(verdict.reason, 'event_invalid', JSON.stringify(change));
    }
  });

  test('a deleted segment is found: the next link is named', async () => {
    const org = await mixedOrg();
    const [first] = await segmentsOf(org);
    await t.app.deps.db
      .deleteFrom('audit_segments')
      .where('org_id', '=', org.orgId)
      .where('seq_last', '=', (first as AuditSegmentsTable).seq_last)
      .execute();
    const next = (await exported(org)).find((e) => e.seq > Number((first as AuditSegmentsTable).seq_last));
    const verdict = await verify(org);
    assert.deepEqual(
      { ok: verdict.ok, reason: verdict.reason, first_bad: verdict.first_bad },
      { ok: false, reason: 'event_invalid', first_bad: next?.id },
    );
  });

  test('deleting the newest segment is found: the head no longer matches', async () => {
    const org = await createOrg(t.app);
    await management(org);
    calls(org, 5);
    await t.app.deps.audit.flush();
    await t.app.deps.db.deleteFrom('audit_segments').where('org_id', '=', org.orgId).execute();
    assert.equal((await verify(org)).reason, 'head_mismatch');
  });

  test('a forged segment is found, even with a plausible hash and bounds', async () => {
    const org = await createOrg(t.app);
    await management(org);
    calls(org, 4);
    await t.app.deps.audit.flush();
    const [real] = await segmentsOf(org);
    const segment = real as AuditSegmentsTable;
    // A copy of the real segment placed where the next link goes, its hash that of another link.
    const forged = {
      ...segment,
      seq_first: Number(segment.seq_last) + 1,
      seq_last: Number(segment.seq_last) + 4,
      prev_hash: segment.hash,
      hash: segment.prev_hash,
    };
    await t.app.deps.db.insertInto('audit_segments').values(forged).execute();
    const verdict = await verify(org);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.reason, 'event_invalid');
  });

  test('retention cuts at segments; a segment planted before the cut is found; a tampered cut is refused', async () => {
    const org = await createOrg(t.app);
    await management(org);
    calls(org, 6);
    await t.app.deps.audit.flush();
    clock.advance(400 * 86_400_000);
    calls(org, 3, 'key_caller', 6);
    await t.app.deps.audit.flush();
    const before = await segmentsOf(org);
    const deleted = await purgeAuditEvents(t.app.deps.db, t.app.deps.audit.chain, 365, clock.now());
    assert.ok(deleted >= 7, `deleted ${deleted}`);
    const left = await segmentsOf(org);
    assert.deepEqual(
      left.map((s) => s.seq_last),
      [before.at(-1)?.seq_last],
    );
    const kept = await exported(org);
    assert.deepEqual(
      kept.map((e) => e.metadata.i),
      [6, 7, 8],
    );
    const verdict = await verify(org);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    assert.equal(verdict.checked, 3);

    // Planted: the kept segment's copy, placed before the cut.
    const planted = { ...(left[0] as AuditSegmentsTable), seq_first: 1, seq_last: 3 };
    await t.app.deps.db.insertInto('audit_segments').values(planted).execute();
    const found = await verify(org);
    assert.deepEqual(
      { reason: found.reason, first_bad: found.first_bad },
      { reason: 'event_before_purge_marker', first_bad: planted.id_first },
    );
    await t.app.deps.db
      .deleteFrom('audit_segments')
      .where('org_id', '=', org.orgId)
      .where('seq_last', '=', 3)
      .execute();

    // A recent segment whose time was set back, to have it deleted: retention will not cut there.
    const refused: string[] = [];
    await t.app.deps.db
      .updateTable('audit_segments')
      .set({ at_last: '2020-01-01T00:00:00.000Z' })
      .where('org_id', '=', org.orgId)
      .execute();
    await purgeAuditEvents(t.app.deps.db, t.app.deps.audit.chain, 365, clock.now(), (orgId, reason) => {
      if (orgId === org.orgId) refused.push(reason);
    });
    assert.deepEqual(refused, ['cut_event_invalid']);
    assert.equal((await segmentsOf(org)).length, 1, 'nothing deleted');
  });

  test('reseal --drop-unverifiable drops segments written under an earlier master key', async () => {
    // A chain begun under another master key (what a changed key leaves behind), continued under this one.
    const orgId = `org_reseal${randomBytes(6).toString('hex')}`;
    const call = (id: string) => ({
      orgId,
      actor: { kind: 'system' as const, id },
      action: 'api.request' as const,
    });
    const earlier = new AuditLog(t.app.deps.db, Buffer.alloc(32, 7), clock, createLogger('silent'));
    earlier.enqueue(call('old'));
    earlier.enqueue(call('old'));
    await earlier.flush();
    t.app.deps.audit.enqueue(call('new'));
    t.app.deps.audit.enqueue(call('new'));
    await t.app.deps.audit.flush();
    const { chain } = t.app.deps.audit;
    assert.equal((await chain.verify(t.app.deps.db, orgId)).ok, false);

    const result = await resealAuditChain(t.app.deps.db, t.app.deps.audit, orgId, { dropUnverifiable: true });
    assert.equal(result?.dropped_events, 2);
    const verdict = await chain.verify(t.app.deps.db, orgId);
    assert.deepEqual(
      { ok: verdict.ok, checked: verdict.checked },
      { ok: true, checked: 3 }, // the two new calls and the reseal's own event
    );
  });
});

/** 2^48 ms: the last time an id holds. Past the end of 9999, `isoAt` writes a six-digit year (`+010000-…`). */
const ID_TIME_END = 2 ** 48;
const FOUR_DIGIT_YEARS_END = Date.UTC(10000, 0, 1);

/**
 * The ids and times of calls as the audit log makes them: one MonotonicIds generator, one clock reading for
 * both, a clock that mostly moves a few milliseconds (or not at all) and now and then jumps either way (which
 * makes the generator draw afresh, and its ids no longer sort in the order they came). Some runs start just
 * before the end of year 9999, so that times with six-digit years are written too.
 */
const callClock = fc.record({
  start: fc.oneof(
    fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2100, 0, 1) }),
    fc.integer({ min: FOUR_DIGIT_YEARS_END - 3_000, max: ID_TIME_END - 100_000_000 }),
  ),
  steps: fc.array(
    fc.oneof(
      { weight: 20, arbitrary: fc.integer({ min: 0, max: 3 }) },
      { weight: 1, arbitrary: fc.integer({ min: -100_000, max: -1 }) },
      { weight: 1, arbitrary: fc.integer({ min: 60_001, max: 10_000_000 }) },
    ),
    { minLength: 30, maxLength: 30 },
  ),
});

/** A call's fields after its id and time: `add`'s other parameters. */
type CallFields = Parameters<PendingSegment['add']> extends [unknown, unknown, ...infer Rest] ? Rest : never;

/**
 * Feeds `fields` to a new segment with ids and times from `clock`. Returns it, the calls as JSON.stringify
 * writes them whole (`expected`), and the text the segment must hold (`text`): a call whose actor, result,
 * IP, user agent and (frozen, so memoized) metadata are the call before's as `[id, at, request id]`. Checks
 * that opening the segment gives every call whole again.
 */
function segmentOf(clock: { start: number; steps: number[] }, fields: CallFields[]) {
  const segment = new PendingSegment('org_x');
  const ids = new MonotonicIds('audit_event');
  const expected: unknown[][] = [];
  let now = clock.start;
  fields.forEach((call, i) => {
    now += clock.steps[i % clock.steps.length] as number;
    ids.advance(now);
    segment.add(ids, now, ...call);
    expected.push([ids.current(), new Date(now).toISOString(), ...call]);
  });
  const stored = expected.map((call, i) => {
    const before = expected[i - 1];
    const repeat =
      before !== undefined &&
      [2, 3, 4, 5, 6].every((field) => call[field] === before[field]) &&
      call[8] === before[8] &&
      Object.isFrozen(call[8]);
    return repeat ? [call[0], call[1], call[7]] : call;
  });
  const encoded = segment.encode(1);
  // What the API shows: every call whole again, in its place.
  const opened = openSegment({ ...encoded, prev_hash: '', hash: '' });
  assert.deepEqual(
    opened.map((event) => [
      event.id,
      event.at,
      event.actor_kind,
      event.actor_id,
      event.result,
      event.ip,
      event.user_agent,
      event.request_id,
      JSON.parse(event.metadata),
    ]),
    expected.map((call) => JSON.parse(JSON.stringify(call))),
  );
  assert.deepEqual(
    opened.map((event) => event.seq),
    expected.map((_call, i) => 1 + i),
  );
  return { encoded, expected, text: JSON.stringify(stored) };
}

/** The bounds a segment must carry: the smallest and largest id and time of its calls, as text sorts them. */
function assertBounds(encoded: ReturnType<PendingSegment['encode']>, expected: unknown[][]): void {
  const ids = expected.map((call) => call[0] as string).sort();
  const times = expected.map((call) => Date.parse(call[1] as string)).sort((a, b) => a - b);
  assert.equal(encoded.id_first, ids[0]);
  assert.equal(encoded.id_last, ids.at(-1));
  assert.equal(encoded.at_first, new Date(times[0] as number).toISOString());
  assert.equal(encoded.at_last, new Date(times.at(-1) as number).toISOString());
}

test('a pending segment writes exactly the JSON of its calls, metadata frozen (memoized) or not', () => {
  // Text a hand-made splice could get wrong: quotes, backslashes, control and non-ASCII characters, nulls.
  const text = fc.string({ unit: 'binary', maxLength: 24 });
  const nullable = fc.option(text, { nil: null });
  const call = fc.tuple(
    text,
    text,
    fc.constantFrom('success' as const, 'failure' as const),
    nullable,
    nullable,
    nullable,
    fc.dictionary(text, fc.oneof(text, fc.integer(), fc.constant(null)), { maxKeys: 4 }),
    fc.boolean(),
  );
  fc.assert(
    fc.property(callClock, fc.array(call, { minLength: 1, maxLength: 12 }), (clock, calls) => {
      const shared = Object.freeze({ method: 'GET', route: '/v1/x/:id', status: 200, mode: 'live' });
      const { encoded, expected, text } = segmentOf(
        clock,
        calls.map(([kind, actor, result, ip, agent, requestId, own, useShared]) => [
          kind,
          actor,
          result,
          ip,
          agent,
          requestId,
          useShared ? shared : own,
        ]),
      );
      assert.equal(inflateRawSync(encoded.events).toString('utf8'), text);
      assertBounds(encoded, expected);
    }),
    { numRuns: 300 },
  );
});

test('a pending segment keeps the bounds of its ids and times when the clock jumps either way', () => {
  fc.assert(
    fc.property(callClock, fc.integer({ min: 1, max: 200 }), (clock, count) => {
      const metadata = Object.freeze({ method: 'GET', status: 200 });
      const { encoded, expected, text } = segmentOf(
        clock,
        Array.from({ length: count }, () => ['api_key', 'key_1', 'success', null, null, null, metadata]),
      );
      assertBounds(encoded, expected);
      assert.equal(inflateRawSync(encoded.events).toString('utf8'), text);
    }),
    { numRuns: 300 },
  );
});

test('a pending segment re-encodes what changes between calls that repeat their actor, client and result', () => {
  // Few values, so consecutive calls often repeat the middle fields (copied) and sometimes change one of them.
  const pick = fc.constantFrom('a', 'ab', 'é', '"', '\\', '\u0001', '\ud800', '');
  const nullable = fc.option(pick, { nil: null });
  const call = fc.tuple(
    fc.constantFrom('api_key', 'user'),
    pick,
    fc.constantFrom('success' as const, 'failure' as const),
    nullable,
    nullable,
    nullable,
  );
  fc.assert(
    fc.property(callClock, fc.array(call, { minLength: 1, maxLength: 30 }), (clock, calls) => {
      const metadata = Object.freeze({ method: 'GET', status: 200 });
      const { encoded, text } = segmentOf(
        clock,
        calls.map((call): CallFields => [...call, metadata]),
      );
      assert.equal(inflateRawSync(encoded.events).toString('utf8'), text);
    }),
    { numRuns: 500 },
  );
});

test('a segment written before the short form opens as ever; one that starts with a repeat is refused', () => {
  const whole = (id: string, requestId: string) => [
    id,
    '2026-12-06T10:00:00.000Z',
    'api_key',
    'key_1',
    'success',
    '127.0.0.1',
    null,
    requestId,
    { method: 'GET', status: 200 },
  ];
  const segment = (calls: unknown[]) => ({
    org_id: 'org_x',
    seq_first: 5,
    seq_last: 4 + calls.length,
    id_first: '',
    id_last: '',
    at_first: '',
    at_last: '',
    failures: 0,
    actor_ids: 'key_1',
    events: deflateRawSync(JSON.stringify(calls)),
    prev_hash: '',
    hash: '',
  });
  const opened = openSegment(segment([whole('a', 'r1'), whole('b', 'r2')]));
  assert.deepEqual(
    opened.map((event) => [event.id, event.seq, event.request_id, event.actor_id, event.metadata]),
    [
      ['a', 5, 'r1', 'key_1', '{"method":"GET","status":200}'],
      ['b', 6, 'r2', 'key_1', '{"method":"GET","status":200}'],
    ],
  );
  assert.throws(
    () => openSegment(segment([['a', '2026-12-06T10:00:00.000Z', 'r1']])),
    /starts with a repeated call/,
  );
});
