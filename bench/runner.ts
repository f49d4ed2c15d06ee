/**
 * Process and server orchestration for `npm run bench`: what a row, a server and a measurement are, how
 * servers start (plainly, or under a wrapper such as valgrind), how a load process runs and what CPU it and
 * the server used, and the interleaved runs of the wall-clock mode (warm-up, then run by run, every row).
 * The rows themselves are in bench/rows.ts, the tables in bench/report.ts.
 */
import { hash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { LoadResult, LoadSpec } from './load.ts';
import { fmtInt, fmtMs, log } from './report.ts';
import { BENCH, CLI, settings } from './settings.ts';
import {
  cpuTimes,
  freePort,
  machineBusySeconds,
  median,
  runNode,
  type Spawned,
  spawnNode,
  stop,
  waitUntilReady,
} from './support.ts';
import type { TokenLoadResult } from './token-load.ts';
import type { WebhookRunMeasurement, WebhookSetup } from './webhooks.ts';

// ---------------------------------------------------------------------------------------------------------
// What is measured

/** Data every row can use, created once against the embedded server (bench/fixture.ts). */
export interface Fixture {
  dataDir: string;
  /** The embedded server's address: the OAuth issuer (COHERA_PUBLIC_URL) every node of the data shares. */
  issuer: string;
  orgId: string;
  /** The bootstrap admin key: a real `ck_live_` key resolved by the verifier on every request. */
  apiKey: string;
  certificateId: string;
  /** The exact bytes the real server returns for the certificate (what the baseline serves). */
  certificateJson: string;
  /** A service-account JWT (ES256, 1 h) the client reuses: the verified-token cache path. */
  serviceAccountToken: string;
  /** The OAuth app (confidential, `read:certificates`) and what its authorization-code flows yielded. */
  oauth: {
    clientId: string;
    clientSecret: string;
    /** An OAuth access token (JWT, ES256, 1 h) the client reuses: the verified-token cache path. */
    accessToken: string;
    /**
     * One refresh token per token-endpoint chain, each from its own flow; replaced by the chain's newest
     * after every run (they rotate), null once a chain stopped.
     */
    refreshTokens: (string | null)[];
  };
}

export interface Target {
  url: string;
  server: Spawned;
  /** Where the server's own metrics listener (COHERA_METRICS_PORT) answers, if it has one. */
  metricsUrl?: string;
  /** A webhook rows' server: its keys, bodies and local receivers (bench/webhooks.ts). */
  webhooks?: WebhookSetup;
}

/** How a server process is started: plainly (the wall-clock mode) or under callgrind (bench/instructions.ts). */
export interface Launch {
  /** The command before Node (none, or `valgrind --tool=callgrind …`). */
  wrapper: readonly string[];
  nodeArgs: readonly string[];
  /** How long the server may take to answer /health (valgrind makes Node ~50× slower to start). */
  readyTimeoutMs: number;
  /** Environment the launch adds to every server (the callgrind one lengthens timeouts). */
  env?: Record<string, string>;
}

// 120 s: a cohera server can take over 30 s to start on a machine busy with other work.
export const plainLaunch: Launch = {
  wrapper: [],
  nodeArgs: settings.serverNodeArgs,
  readyTimeoutMs: 120_000,
};

export interface ServerSpec {
  description: string;
  start(fixture: Fixture, launch: Launch): Promise<Target>;
  /** A line for the notes, read after the last run while the server still runs. */
  report?(target: Target): Promise<string | null>;
}

/**
 * A ratio to the baseline row, an absolute rate (`unit` names what is counted, e.g. tokens), or a latency
 * ceiling (the webhook-latency row: p99 of one run).
 */
export type Budget = { minRatio: number } | { minPerSec: number; unit: string } | { maxP99Ms: number };

export interface HttpRow {
  id: string;
  name: string;
  server: string;
  path(fixture: Fixture): string;
  headers?(fixture: Fixture): Record<string, string>;
  /** The row whose req/s this one is divided by. */
  baseline?: string;
  budget?: Budget;
  /**
   * DESIGN §7's peer comparison: this row's req/s divided by the peer row's (the tutorial stack serving the
   * same route), with its goal (2×). Shown when both rows were measured; BENCH_ONLY does not add the peer.
   */
  peer?: { row: string; minRatio: number };
  /** Counted by default in the instruction-count mode (plain GET rows only; BENCH_ONLY picks others). */
  instructions?: boolean;
  /** Uses the OAuth tokens of the set-up's authorization-code flows (run only when a selected row does). */
  oauthFlows?: boolean;
  /**
   * For a row that cannot replay one request: `probe` replaces the single GET that checks the row answers
   * 200, `load` runs its own load process instead of wrk/autocannon.
   */
  custom?: {
    probe(target: Target, fixture: Fixture): Promise<void>;
    load(target: Target, fixture: Fixture, durationSec: number): Promise<RunMeasurement>;
  };
  /**
   * For a row whose server keeps working after the load stops (the audit log writes what it buffered once
   * a second): `leadInSec` of unmeasured load right before each run, so that the run starts with the work
   * of the load before it under way, as under steady load; and `settle`, awaited after the warm-up and
   * after each run, until that work is done, so that it is not measured in the row that follows.
   */
  background?: { leadInSec: number; settle(target: Target): Promise<void> };
}

export interface RunMeasurement extends Omit<LoadResult, 'tool'> {
  tool: LoadResult['tool'] | TokenLoadResult['tool'] | WebhookRunMeasurement['tool'];
  /** Server CPU use over the run, in % of one core (over 100% means GC or I/O threads helped). */
  serverCpuPct: number | null;
  /** The server's user and system CPU per request, in µs (null where unknown). */
  serverUserUs?: number | null;
  serverSystemUs?: number | null;
  loadCpuPct: number | null;
  /**
   * CPU that neither the server nor the load generator used over the run, in % of one core: other
   * processes competing for the two cores (a busy machine makes every number here noisy).
   */
  otherCpuPct: number | null;
  /** Token-endpoint row: chains that ran, chains still alive at the end, and what stopped the others. */
  chains?: number;
  chainsAlive?: number;
  failures?: TokenLoadResult['failures'];
}

export interface HttpRowReport {
  id: string;
  name: string;
  server: string;
  status: 'measured' | 'failed';
  error?: string;
  requestsPerSec?: number;
  p50Ms?: number | null;
  p99Ms?: number | null;
  ratio?: number | null;
  baseline?: string | null;
  budget?: HttpRow['budget'] | null;
  budgetMet?: boolean | null;
  /** Ours / the peer row's req/s (DESIGN §7: ≥ 2×), when both were measured. */
  peer?: string | null;
  peerRatio?: number | null;
  peerMinRatio?: number | null;
  peerBudgetMet?: boolean | null;
  non2xx?: number;
  errors?: number;
  serverCpuPct?: number | null;
  serverUserUs?: number | null;
  serverSystemUs?: number | null;
  loadCpuPct?: number | null;
  otherCpuPct?: number | null;
  /** Non-2xx answers and errors during the warm-up (not in `non2xx`/`errors`, which count the runs). */
  warmupNon2xx?: number;
  warmupErrors?: number;
  /** Token-endpoint row: chains at the start, chains still alive after the last run, what stopped any. */
  chains?: number;
  chainsAlive?: number;
  failures?: TokenLoadResult['failures'];
  runs?: RunMeasurement[];
}

// ---------------------------------------------------------------------------------------------------------
// Servers

/** The environment of a cohera process: no inherited COHERA_* setting, so "embedded default" is what runs. */
function coheraEnv(dataDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('COHERA_')) env[name] = value;
  return { ...env, COHERA_DATA_DIR: dataDir, COHERA_LOG_LEVEL: 'warn', ...extra };
}

export async function startCohera(
  dataDir: string,
  extra: Record<string, string>,
  launch: Launch = plainLaunch,
): Promise<Target> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawnNode(CLI, ['server'], {
    // The OAuth issuer is COHERA_PUBLIC_URL: it must be the address the flows and tokens use.
    env: coheraEnv(dataDir, { COHERA_PORT: String(port), COHERA_PUBLIC_URL: url, ...launch.env, ...extra }),
    role: 'server',
    stdout: 'ignore',
    nodeArgs: launch.nodeArgs,
    wrapper: launch.wrapper,
  });
  await readyOrStopped(url, server, launch);
  return { url, server };
}

/** Waits for /health; a server that never got ready is stopped, as no caller knows of it yet. */
async function readyOrStopped(url: string, server: Spawned, launch: Launch): Promise<void> {
  try {
    await waitUntilReady(`${url}/health`, server, launch.readyTimeoutMs);
  } catch (error) {
    await stop(server);
    throw error;
  }
}

/** The certificate JSON the baseline and the peer serve, in a file next to the data dir. */
function certificateFile(fixture: Fixture): string {
  const file = join(fixture.dataDir, '..', 'certificate.json');
  writeFileSync(file, fixture.certificateJson);
  return file;
}

/** A server script of bench/ (baseline-server.ts, peer-server.ts) on a free port, `env` added. */
async function startBenchServer(script: string, env: Record<string, string>, launch: Launch) {
  const port = await freePort();
  const server = spawnNode(join(BENCH, script), [], {
    env: { ...process.env, BENCH_PORT: String(port), ...launch.env, ...env },
    role: 'server',
    stdout: 'ignore',
    nodeArgs: launch.nodeArgs,
    wrapper: launch.wrapper,
  });
  const url = `http://127.0.0.1:${port}`;
  await readyOrStopped(url, server, launch);
  return { url, server };
}

export function startBaseline(fixture: Fixture, launch: Launch, withHeaders = false): Promise<Target> {
  return startBenchServer(
    'baseline-server.ts',
    { BENCH_BODY_FILE: certificateFile(fixture), BENCH_BASELINE_HEADERS: withHeaders ? '1' : '0' },
    launch,
  );
}

/**
 * The peer (bench/peer-server.ts): Fastify + @fastify/rate-limit + a SHA-256-hashed key looked up in SQLite
 * on every request; its rate limits in the plugin's memory store, or in Redis under a prefix of its own.
 * It gets the key's hash, never the key.
 */
export async function startPeer(
  fixture: Fixture,
  launch: Launch,
  store: 'memory' | 'redis',
): Promise<Target> {
  const env: Record<string, string> = {
    BENCH_BODY_FILE: certificateFile(fixture),
    // A file of its own per start: the peer creates and seeds it.
    BENCH_PEER_DB: join(fixture.dataDir, '..', `peer-${store}-${Date.now()}.sqlite`),
    BENCH_PEER_KEY_HASH: hash('sha256', fixture.apiKey, 'hex'),
  };
  if (store === 'redis') {
    if (!(await reachable(6379))) throw new Error('Redis is not answering on 127.0.0.1:6379');
    env.BENCH_REDIS_URL = 'redis://127.0.0.1:6379';
    env.BENCH_REDIS_PREFIX = `bench-peer:${process.pid}:${Date.now()}:`;
  }
  return startBenchServer('peer-server.ts', env, launch);
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** The value of an unlabelled metric of a server's metrics listener. */
export async function metric(target: Target, name: string): Promise<number> {
  if (!target.metricsUrl) throw new Error('the server has no metrics listener');
  const text = await (await fetch(`${target.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`the server reports no ${name}`);
  return Number(line.slice(name.length + 1));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function cli(dataDir: string, args: string[]): Promise<unknown> {
  const out = await runNode(CLI, args, { env: coheraEnv(dataDir, {}), role: 'server', timeoutMs: 60_000 });
  return JSON.parse(out);
}

export async function call(url: string, key: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return { text, json: JSON.parse(text) as Record<string, unknown>, headers: response.headers };
}

/** One GET of a row first: a row that does not answer 200 would measure its error path. */
export async function probeGet(target: Target, row: HttpRow, fixture: Fixture): Promise<void> {
  const probe = await fetch(`${target.url}${row.path(fixture)}`, { headers: row.headers?.(fixture) ?? {} });
  const text = await probe.text();
  if (probe.status !== 200) throw new Error(`probe answered ${probe.status}: ${text.slice(0, 300)}`);
}

// ---------------------------------------------------------------------------------------------------------
// Load processes

/**
 * Runs one load process (pinned to the load core) and measures the CPU the server, the load generator and
 * everything else used meanwhile. `env` carries the spec (credentials stay out of argv).
 */
export async function runLoadProcess<R extends Omit<LoadResult, 'tool'>>(
  target: Target,
  script: string,
  env: Record<string, string>,
  durationSec: number,
) {
  const pid = target.server.child.pid;
  const serverBefore = cpuTimes(pid);
  const machineBefore = machineBusySeconds();
  const started = performance.now();
  const out = await runNode(join(BENCH, script), [], {
    env: { ...process.env, ...env },
    role: 'load',
    timeoutMs: (durationSec + 60) * 1000,
  });
  const wallSec = (performance.now() - started) / 1000;
  const serverAfter = cpuTimes(pid);
  const machineAfter = machineBusySeconds();
  const result = JSON.parse(out) as R;
  const spent =
    serverBefore === null || serverAfter === null
      ? null
      : { user: serverAfter.user - serverBefore.user, system: serverAfter.system - serverBefore.system };
  const server = spent === null ? null : spent.user + spent.system;
  // Per request: whether a gap between rows is the server's own code (user) or the kernel's share of its
  // system calls (system). The server's CPU over the whole load process, so a little over the measured part.
  const perRequestUs = (seconds: number) =>
    result.requests > 0 ? Math.round((seconds / result.requests) * 10_000_000) / 10 : null;
  const other =
    server === null || machineBefore === null || machineAfter === null || result.processCpuSec === null
      ? null
      : Math.max(0, machineAfter - machineBefore - server - result.processCpuSec);
  const pct = (seconds: number | null, over: number) =>
    seconds === null ? null : Math.round((seconds / over) * 100);
  return {
    result,
    cpu: {
      serverCpuPct: pct(server, wallSec),
      serverUserUs: spent === null ? null : perRequestUs(spent.user),
      serverSystemUs: spent === null ? null : perRequestUs(spent.system),
      loadCpuPct: pct(result.loadCpuSec, result.durationSec),
      otherCpuPct: pct(other, wallSec),
    },
  };
}

/** wrk or autocannon (bench/load.ts) with this spec, for `durationSec`, as one measurement. */
export async function runLoadSpec(target: Target, spec: LoadSpec): Promise<RunMeasurement> {
  const { result, cpu } = await runLoadProcess<LoadResult>(
    target,
    'load.ts',
    { BENCH_LOAD_SPEC: JSON.stringify(spec) },
    spec.durationSec,
  );
  return { ...result, ...cpu } satisfies RunMeasurement;
}

/** A row's load: its own, or the default. */
function loadRow(target: Target, row: HttpRow, fixture: Fixture, durationSec: number) {
  return row.custom ? row.custom.load(target, fixture, durationSec) : load(target, row, fixture, durationSec);
}

/** The default load: wrk or autocannon replaying the row's GET over many connections. */
function load(target: Target, row: HttpRow, fixture: Fixture, durationSec: number) {
  return runLoadSpec(target, {
    tool: settings.tool,
    url: `${target.url}${row.path(fixture)}`,
    headers: row.headers?.(fixture) ?? {},
    durationSec,
    connections: settings.connections,
    pipelining: settings.pipelining,
  });
}

// ---------------------------------------------------------------------------------------------------------
// The wall-clock mode: interleaved runs

/** What a row counts per second: requests, or the unit of its absolute budget (tokens). */
export const unitOf = (row: Pick<HttpRow, 'budget'>) =>
  row.budget && 'unit' in row.budget ? row.budget.unit : 'req';

/** Keeps the first few answers that stopped a chain, over the warm-up and all runs. */
function noteFailures(report: HttpRowReport, result: RunMeasurement): void {
  if (result.chains !== undefined) {
    report.chains ??= result.chains;
    report.chainsAlive = result.chainsAlive;
  }
  if (!result.failures?.length) return;
  report.failures = [...(report.failures ?? []), ...result.failures].slice(0, 5);
}

/**
 * BENCH_ONLY's rows, with the rows their ratios are taken against (the baseline, the API-key row, …), or
 * `fallback`'s when BENCH_ONLY is unset (every row in the wall-clock mode).
 */
export function selectedRows(rows: readonly HttpRow[], fallback: (row: HttpRow) => boolean): HttpRow[] {
  if (!settings.only) return rows.filter(fallback);
  for (const id of settings.only) {
    if (!rows.some((row) => row.id === id))
      log(`BENCH_ONLY: no row "${id}" (rows: ${rows.map((r) => r.id).join(', ')})`);
  }
  const wanted = new Set(['baseline', ...settings.only]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of rows) {
      if (wanted.has(row.id) && row.baseline && !wanted.has(row.baseline)) {
        wanted.add(row.baseline);
        grew = true;
      }
    }
  }
  return rows.filter((row) => wanted.has(row.id));
}

/** The server of a row, started on first use and kept in `targets` (the caller stops them). */
export async function targetOf(
  row: HttpRow,
  servers: Record<string, ServerSpec>,
  fixture: Fixture,
  targets: Map<string, Target>,
  launch: Launch,
): Promise<Target> {
  let target = targets.get(row.server);
  if (!target) {
    const spec = servers[row.server];
    if (!spec) throw new Error(`no server named ${row.server}`);
    target = await spec.start(fixture, launch);
    targets.set(row.server, target);
  }
  return target;
}

export async function measureHttp(
  rows: readonly HttpRow[],
  servers: Record<string, ServerSpec>,
  fixture: Fixture,
  targets: Map<string, Target>,
): Promise<HttpRowReport[]> {
  const reports = new Map<string, HttpRowReport>();
  const active: HttpRow[] = [];

  for (const row of rows) {
    const report: HttpRowReport = { id: row.id, name: row.name, server: row.server, status: 'measured' };
    reports.set(row.id, report);
    try {
      const target = await targetOf(row, servers, fixture, targets, plainLaunch);
      // One request first: a row that does not answer 200 would measure its error path.
      if (row.custom) await row.custom.probe(target, fixture);
      else await probeGet(target, row, fixture);
      log(`warm-up  ${row.name} (${settings.warmupSec} s)`);
      const warmup = await loadRow(target, row, fixture, settings.warmupSec);
      await row.background?.settle(target);
      report.warmupNon2xx = warmup.non2xx;
      report.warmupErrors = warmup.errors;
      noteFailures(report, warmup);
      if (warmup.non2xx || warmup.errors) {
        log(`warm-up  ${row.name}: ${warmup.non2xx} non-2xx, ${warmup.errors} errors`);
      }
      report.runs = [];
      active.push(row);
    } catch (error) {
      report.status = 'failed';
      report.error = (error as Error).message;
      log(`FAILED   ${row.name}: ${report.error}`);
    }
  }

  for (let run = 1; run <= settings.runs; run++) {
    for (const row of active) {
      const report = reports.get(row.id);
      const target = targets.get(row.server);
      if (!report?.runs || !target || report.status === 'failed') continue;
      try {
        if (row.background) await loadRow(target, row, fixture, row.background.leadInSec);
        const result = await loadRow(target, row, fixture, settings.durationSec);
        await row.background?.settle(target);
        report.runs.push(result);
        noteFailures(report, result);
        log(
          `run ${run}/${settings.runs} ${row.name}: ${fmtInt(result.requestsPerSec)} ${unitOf(row)}/s, ` +
            `p50 ${fmtMs(result.p50Ms)} ms, p99 ${fmtMs(result.p99Ms)} ms, server CPU ${result.serverCpuPct ?? '?'}%` +
            (result.serverUserUs == null
              ? ''
              : ` (${result.serverUserUs} µs user + ${result.serverSystemUs} µs system per request)`) +
            (result.otherCpuPct === null ? '' : `, other processes ${result.otherCpuPct}%`) +
            (result.non2xx || result.errors ? `, ${result.non2xx} non-2xx, ${result.errors} errors` : ''),
        );
      } catch (error) {
        report.status = 'failed';
        report.error = (error as Error).message;
        log(`FAILED   ${row.name}: ${report.error}`);
      }
    }
  }

  for (const report of reports.values()) {
    if (report.status !== 'measured' || !report.runs?.length) continue;
    const runs = report.runs;
    const medianRps = median(runs.map((r) => r.requestsPerSec));
    const chosen = runs.find((r) => r.requestsPerSec === medianRps) ?? runs[0];
    if (!chosen) continue;
    report.requestsPerSec = chosen.requestsPerSec;
    report.p50Ms = chosen.p50Ms;
    report.p99Ms = chosen.p99Ms;
    report.serverCpuPct = chosen.serverCpuPct;
    report.serverUserUs = chosen.serverUserUs ?? null;
    report.serverSystemUs = chosen.serverSystemUs ?? null;
    report.loadCpuPct = chosen.loadCpuPct;
    report.otherCpuPct = chosen.otherCpuPct;
    report.non2xx = runs.reduce((sum, r) => sum + r.non2xx, 0);
    report.errors = runs.reduce((sum, r) => sum + r.errors, 0);
  }
  for (const row of rows) {
    const report = reports.get(row.id);
    if (!report) continue;
    const base = row.baseline ? reports.get(row.baseline) : undefined;
    report.baseline = row.baseline ?? null;
    report.budget = row.budget ?? null;
    report.ratio =
      report.requestsPerSec !== undefined && base?.requestsPerSec
        ? report.requestsPerSec / base.requestsPerSec
        : row.baseline || (row.budget && !('minRatio' in row.budget))
          ? null
          : 1;
    report.budgetMet = !row.budget
      ? null
      : 'maxP99Ms' in row.budget
        ? report.p99Ms === undefined || report.p99Ms === null
          ? null
          : report.p99Ms <= row.budget.maxP99Ms
        : 'minPerSec' in row.budget
          ? report.requestsPerSec === undefined
            ? null
            : report.requestsPerSec >= row.budget.minPerSec
          : typeof report.ratio === 'number'
            ? report.ratio >= row.budget.minRatio
            : null;
    const peer = row.peer ? reports.get(row.peer.row) : undefined;
    if (row.peer && peer) {
      report.peer = row.peer.row;
      report.peerMinRatio = row.peer.minRatio;
      report.peerRatio =
        report.requestsPerSec !== undefined && peer.requestsPerSec
          ? report.requestsPerSec / peer.requestsPerSec
          : null;
      report.peerBudgetMet = report.peerRatio === null ? null : report.peerRatio >= row.peer.minRatio;
    }
  }
  return [...reports.values()];
}
