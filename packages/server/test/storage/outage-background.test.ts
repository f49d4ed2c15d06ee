/**
 * An outage is logged once, everywhere (issue 22): while PostgreSQL cannot answer, the background loops
 * (the audit log's and the usage recorder's flushes above all, retried every second or so) log nothing of
 * their own, and keep what they buffered: requests answered during the outage are counted and audited
 * once the database is back. The log shows the outage's one warn and its one recovery line, no flush
 * warnings. The database sits behind a TCP proxy that freezes (support/freezable-proxy.ts).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from '../../src/app.ts';
import { createOrg, type TestOrg } from '../support/app.ts';
import { tempDir, testConfig } from '../support/config.ts';
import { createPostgresDatabase, postgresReachable } from '../support/engines.ts';
import { FreezableProxy } from '../support/freezable-proxy.ts';

const postgresUp = await postgresReachable();

/** Waits for `check` to hold, polling; fails after a generous deadline (a bound on a hang, not a timing). */
async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(50);
  }
}

type LogLine = { level: number; msg: string; database?: string; listener?: string };

describe('background loops during a PostgreSQL outage', {
  skip: !postgresUp && 'PostgreSQL unreachable',
}, () => {
  const dir = tempDir();
  const lines: LogLine[] = [];
  let target: { url: string; drop(): Promise<void> };
  let proxy: FreezableProxy;
  /** Straight to PostgreSQL, past the proxy: what was really written. */
  let direct: pg.Client;
  let app: FastifyInstance;
  let org: TestOrg;

  before(async () => {
    target = await createPostgresDatabase();
    proxy = await FreezableProxy.start(target.url);
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
        callback();
      },
    });
    app = await buildApp(
      testConfig(
        {
          COHERA_DATABASE_URL: proxy.urlThrough(target.url),
          COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS: '1',
          COHERA_DATABASE_STATEMENT_TIMEOUT_SECONDS: '1',
          COHERA_DATABASE_QUERY_TIMEOUT_SECONDS: '2',
          COHERA_AUDIT_API_CALLS: 'all',
        },
        dir.path,
      ),
      { logDestination: sink, usageFlushMs: 300 },
    );
    org = await createOrg(app);
    direct = new pg.Client({ connectionString: target.url });
    await direct.connect();
  });
  after(async () => {
    proxy?.thaw();
    await app?.close();
    await direct?.end();
    await proxy?.close();
    await target?.drop();
    dir.remove();
  });

  const listSuppliers = () =>
    app.inject({ method: 'GET', url: '/v1/suppliers', headers: { authorization: `Bearer ${org.adminKey}` } });

  async function written(): Promise<{ requests: number; audited: number }> {
    const usage = await direct.query<{ n: string | null }>(
      'select sum(requests) as n from api_key_usage where org_id = $1',
      [org.orgId],
    );
    const audit = await direct.query<{ n: string }>(
      // API-call events are stored in segments, a run of `seq_first`…`seq_last` per row.
      'select coalesce(sum(seq_last - seq_first + 1), 0) as n from audit_segments where org_id = $1',
      [org.orgId],
    );
    return { requests: Number(usage.rows[0]?.n ?? 0), audited: Number(audit.rows[0]?.n ?? 0) };
  }

  test('nothing buffered is lost, and the outage is one warn and one recovery line', async () => {
    // The key and the org's limits cached, so requests authenticate while the database cannot answer.
    assert.equal((await listSuppliers()).statusCode, 200);
    await app.deps.usage.flush();
    await app.deps.audit.flush();
    const baseline = await written();
    assert.equal(baseline.requests, 1);
    const startLine = lines.length;

    proxy.freeze();
    const REQUESTS = 4;
    let answered: number[];
    try {
      answered = (await Promise.all(Array.from({ length: REQUESTS }, listSuppliers))).map(
        (r) => r.statusCode,
      );
      await eventually('the outage noticed', () => lines.some((l) => l.database === 'unreachable'));
      // Several failed flush rounds of both (audit every 1 s, usage every 300 ms).
      await sleep(3_000);
      // A flush in progress holds the events outside the buffer until its write fails and puts them back,
      // so they are looked for between two attempts.
      await eventually('the events back in the buffer', () => app.deps.audit.bufferDepth >= REQUESTS);
    } finally {
      proxy.thaw();
    }
    assert.deepEqual(answered, Array(REQUESTS).fill(503));

    await eventually('the recovery noticed', () => lines.some((l) => l.database === 'reachable'));
    // The loops' own next rounds write what they kept; no flush is called here.
    await eventually('everything written', async () => {
      const now = await written();
      return now.requests >= baseline.requests + REQUESTS && now.audited >= baseline.audited + REQUESTS;
    });
    const after = await written();
    assert.deepEqual(after, {
      requests: baseline.requests + REQUESTS,
      audited: baseline.audited + REQUESTS,
    });

    const during = lines.slice(startLine);
    assert.equal(during.filter((l) => l.database === 'unreachable').length, 1);
    assert.equal(during.filter((l) => l.database === 'reachable').length, 1);
    assert.deepEqual(
      during.filter((l) => /flush/.test(l.msg)).map((l) => l.msg),
      [],
      'no flush lines at info or above',
    );
    // Warn and above: the outage's one line, and at most the LISTEN connection's own loss (its health
    // shortens cache trust, so it is worth its line).
    const loud = during.filter((l) => l.level >= 40 && l.database !== 'unreachable' && l.listener !== 'lost');
    assert.deepEqual(
      loud.map((l) => l.msg),
      [],
    );
  });
});
