/**
 * `npm run bench` (DESIGN §7): load benchmarks of the real server against a bare Fastify baseline measured
 * in the same run, plus in-process micro-benchmarks. Every server, and the load generator, runs in its own
 * process (pinned to its own core where `taskset` exists), so they never share an event loop. Prints
 * Markdown tables and writes bench/results/latest.json. It never asserts: budgets are shown, not enforced.
 *
 * Settings (environment): BENCH_DURATION (s per run, 5), BENCH_RUNS (3), BENCH_CONNECTIONS (50),
 * BENCH_PIPELINING (1), BENCH_WARMUP (s, 2), BENCH_TOOL (wrk|autocannon; default wrk when installed),
 * BENCH_PIN (0 disables CPU pinning), BENCH_ONLY (comma-separated row ids), BENCH_CACHE_ITERATIONS,
 * BENCH_PROFILE=1 (servers write V8 CPU profiles to bench/results/profiles/, for Chrome DevTools).
 *
 * Adding an HTTP row: add an entry to ROWS (and, if it needs a differently configured server, an entry to
 * SERVERS that starts it). Rows are measured interleaved, run by run, so drift hits every row alike.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import type { CacheBenchResult } from './credential-cache.ts';
import type { LoadResult, LoadSpec } from './load.ts';
import {
  cpuSeconds,
  envInt,
  freePort,
  installCleanupHandlers,
  machineBusySeconds,
  makeTempDir,
  median,
  onPath,
  pinningEnabled,
  removeTempDir,
  runNode,
  type Spawned,
  spawnNode,
  stop,
  waitUntilReady,
} from './support.ts';

const ROOT = join(import.meta.dirname, '..');
const BENCH = import.meta.dirname;
const CLI = join(ROOT, 'packages/cli/bin/cohera.js');

const settings = {
  durationSec: envInt('BENCH_DURATION', 5),
  runs: envInt('BENCH_RUNS', 3),
  connections: envInt('BENCH_CONNECTIONS', 50),
  pipelining: envInt('BENCH_PIPELINING', 1),
  warmupSec: envInt('BENCH_WARMUP', 2),
  tool: chooseTool(),
  only: process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null,
  serverNodeArgs:
    process.env.BENCH_PROFILE === '1'
      ? ['--cpu-prof', `--cpu-prof-dir=${join(BENCH, 'results', 'profiles')}`]
      : [],
};

function chooseTool(): LoadSpec['tool'] {
  const forced = process.env.BENCH_TOOL;
  if (forced === 'wrk' || forced === 'autocannon') return forced;
  if (forced) throw new Error(`BENCH_TOOL must be wrk or autocannon, got "${forced}"`);
  return onPath('wrk') ? 'wrk' : 'autocannon';
}

// ---------------------------------------------------------------------------------------------------------
// What is measured

/** Data every row can use, created once against the embedded server. */
interface Fixture {
  dataDir: string;
  orgId: string;
  /** The bootstrap admin key: a real `ck_live_` key resolved by the verifier on every request. */
  apiKey: string;
  certificateId: string;
  /** The exact bytes the real server returns for the certificate (what the baseline serves). */
  certificateJson: string;
  /** A service-account JWT (ES256, 1 h) the client reuses: the verified-token cache path. */
  serviceAccountToken: string;
}

interface Target {
  url: string;
  server: Spawned;
}

interface ServerSpec {
  description: string;
  start(fixture: Fixture): Promise<Target>;
}

interface HttpRow {
  id: string;
  name: string;
  server: string;
  path(fixture: Fixture): string;
  headers?(fixture: Fixture): Record<string, string>;
  /** The row whose req/s this one is divided by. */
  baseline?: string;
  budget?: { minRatio: number };
}

const SERVERS: Record<string, ServerSpec> = {
  baseline: {
    description: 'bare Fastify 5, one route, same JSON body',
    start: startBaseline,
  },
  embedded: {
    description: 'cohera server: SQLite in a temp data dir, in-memory state',
    start: (fixture) => startCohera(fixture.dataDir, {}),
  },
  redis: {
    description: 'cohera server: same data, rate limits (and invalidation) on the local Redis',
    start: async (fixture) => {
      if (!(await reachable(6379))) throw new Error('Redis is not answering on 127.0.0.1:6379');
      return startCohera(fixture.dataDir, {
        COHERA_REDIS_URL: 'redis://127.0.0.1:6379',
        COHERA_REDIS_PREFIX: `bench:${process.pid}:${Date.now()}:`,
      });
    },
  },
};

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function reachable(port: number): Promise<boolean> {
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

const bearer = (fixture: Fixture) => ({ authorization: `Bearer ${fixture.apiKey}` });
const certificatePath = (fixture: Fixture) => `/v1/certificates/${fixture.certificateId}`;

const ROWS: HttpRow[] = [
  {
    id: 'baseline',
    name: 'baseline: bare Fastify GET /v1/certificates/:id',
    server: 'baseline',
    path: certificatePath,
  },
  {
    id: 'api-key',
    name: 'API key → GET /v1/certificates/:id (embedded default)',
    server: 'embedded',
    path: certificatePath,
    headers: bearer,
    baseline: 'baseline',
    budget: { minRatio: 0.85 },
  },
  {
    id: 'api-key-redis',
    name: 'API key → GET /v1/certificates/:id (Redis limiter)',
    server: 'redis',
    path: certificatePath,
    headers: bearer,
    baseline: 'baseline',
    budget: { minRatio: 0.7 },
  },
  {
    id: 'service-account',
    name: 'service-account JWT, reused → GET /v1/certificates/:id (vs API key)',
    server: 'embedded',
    path: certificatePath,
    headers: (fixture) => ({ authorization: `Bearer ${fixture.serviceAccountToken}` }),
    baseline: 'api-key',
    budget: { minRatio: 0.8 },
  },
];

// ---------------------------------------------------------------------------------------------------------
// Servers and fixture

/** The environment of a cohera process: no inherited COHERA_* setting, so "embedded default" is what runs. */
function coheraEnv(dataDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('COHERA_')) env[name] = value;
  return { ...env, COHERA_DATA_DIR: dataDir, COHERA_LOG_LEVEL: 'warn', ...extra };
}

async function startCohera(dataDir: string, extra: Record<string, string>): Promise<Target> {
  const port = await freePort();
  const server = spawnNode(CLI, ['server'], {
    env: coheraEnv(dataDir, { COHERA_PORT: String(port), ...extra }),
    role: 'server',
    stdout: 'ignore',
    nodeArgs: settings.serverNodeArgs,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(`${url}/health`, server);
  return { url, server };
}

async function startBaseline(fixture: Fixture): Promise<Target> {
  const port = await freePort();
  const bodyFile = join(fixture.dataDir, '..', 'certificate.json');
  writeFileSync(bodyFile, fixture.certificateJson);
  const server = spawnNode(join(BENCH, 'baseline-server.ts'), [], {
    env: { ...process.env, BENCH_PORT: String(port), BENCH_BODY_FILE: bodyFile },
    role: 'server',
    stdout: 'ignore',
    nodeArgs: settings.serverNodeArgs,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(`${url}/health`, server);
  return { url, server };
}

async function cli(dataDir: string, args: string[]): Promise<unknown> {
  const out = await runNode(CLI, args, { env: coheraEnv(dataDir, {}), role: 'server', timeoutMs: 60_000 });
  return JSON.parse(out);
}

async function call(url: string, key: string, method: string, path: string, body?: unknown) {
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

/**
 * Bootstraps an org through the operator CLI (enterprise, with limits no benchmark reaches, so a rate
 * limiter runs on every request but never answers 429), then creates a supplier, a product and a
 * certificate over HTTP with the admin key.
 */
async function setUp(dataDir: string): Promise<{ fixture: Fixture; embedded: Target }> {
  const boot = (await cli(dataDir, [
    'admin',
    'bootstrap',
    '--org',
    'Bench Org',
    '--email',
    'bench@example.com',
    '--tier',
    'enterprise',
    '--json',
  ])) as { org_id: string; api_key: string };
  await cli(dataDir, [
    'admin',
    'set-tier',
    '--org',
    boot.org_id,
    '--tier',
    'enterprise',
    '--per-minute',
    '999999999',
    '--per-day',
    '999999999',
    '--json',
  ]);
  const embedded = await startCohera(dataDir, {});
  const key = boot.api_key;
  const supplier = await call(embedded.url, key, 'POST', '/v1/suppliers', {
    name: 'Bench Components GmbH',
    country: 'DE',
    contact_email: 'quality@bench.example',
  });
  const product = await call(embedded.url, key, 'POST', '/v1/products', {
    name: 'Hydraulic pump HP-200',
    sku: 'HP-200',
    supplier_id: supplier.json.id,
  });
  const certificate = await call(embedded.url, key, 'POST', '/v1/certificates', {
    standard: 'ISO 9001',
    number: 'QMS-2026-000123',
    issuer: 'Bench Certification AG',
    supplier_id: supplier.json.id,
    product_ids: [product.json.id],
    issued_at: '2026-01-15',
    expires_at: '2099-12-31',
  });
  const certificateId = String(certificate.json.id);
  const read = await call(embedded.url, key, 'GET', `/v1/certificates/${certificateId}`);
  const account = await call(embedded.url, key, 'POST', '/v1/service-accounts', {
    name: 'bench reader',
    scopes: ['read:certificates'],
  });
  const file = (await call(embedded.url, key, 'POST', `/v1/service-accounts/${account.json.id}/keys`, {}))
    .json;
  const now = Math.floor(Date.now() / 1000);
  const serviceAccountToken = await new SignJWT({ scopes: ['read:certificates'], org_id: file.org_id })
    .setProtectedHeader({ alg: 'ES256', kid: String(file.private_key_id) })
    .setIssuer(String(file.issuer))
    .setAudience(String(file.audience))
    .setSubject(String(file.service_account_id))
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(await importPKCS8(String(file.private_key), 'ES256'));
  return {
    fixture: {
      dataDir,
      orgId: boot.org_id,
      apiKey: key,
      certificateId,
      certificateJson: read.text,
      serviceAccountToken,
    },
    embedded,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Measuring

interface RunMeasurement extends LoadResult {
  /** Server CPU use over the run, in % of one core (over 100% means GC or I/O threads helped). */
  serverCpuPct: number | null;
  loadCpuPct: number | null;
  /**
   * CPU that neither the server nor the load generator used over the run, in % of one core: other
   * processes competing for the two cores (a busy machine makes every number here noisy).
   */
  otherCpuPct: number | null;
}

async function load(target: Target, row: HttpRow, fixture: Fixture, durationSec: number) {
  const spec: LoadSpec = {
    tool: settings.tool,
    url: `${target.url}${row.path(fixture)}`,
    headers: row.headers?.(fixture) ?? {},
    durationSec,
    connections: settings.connections,
    pipelining: settings.pipelining,
  };
  const pid = target.server.child.pid;
  const serverBefore = cpuSeconds(pid);
  const machineBefore = machineBusySeconds();
  const started = performance.now();
  const out = await runNode(join(BENCH, 'load.ts'), [], {
    env: { ...process.env, BENCH_LOAD_SPEC: JSON.stringify(spec) },
    role: 'load',
    timeoutMs: (durationSec + 60) * 1000,
  });
  const wallSec = (performance.now() - started) / 1000;
  const serverAfter = cpuSeconds(pid);
  const machineAfter = machineBusySeconds();
  const result = JSON.parse(out) as LoadResult;
  const server = serverBefore === null || serverAfter === null ? null : serverAfter - serverBefore;
  const other =
    server === null || machineBefore === null || machineAfter === null || result.processCpuSec === null
      ? null
      : Math.max(0, machineAfter - machineBefore - server - result.processCpuSec);
  const pct = (seconds: number | null, over: number) =>
    seconds === null ? null : Math.round((seconds / over) * 100);
  return {
    ...result,
    serverCpuPct: pct(server, wallSec),
    loadCpuPct: pct(result.loadCpuSec, result.durationSec),
    otherCpuPct: pct(other, wallSec),
  } satisfies RunMeasurement;
}

interface HttpRowReport {
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
  non2xx?: number;
  errors?: number;
  serverCpuPct?: number | null;
  loadCpuPct?: number | null;
  otherCpuPct?: number | null;
  runs?: RunMeasurement[];
}

async function measureHttp(fixture: Fixture, targets: Map<string, Target>): Promise<HttpRowReport[]> {
  const rows = ROWS.filter((row) => !settings.only || settings.only.has(row.id) || row.id === 'baseline');
  const reports = new Map<string, HttpRowReport>();
  const active: HttpRow[] = [];

  for (const row of rows) {
    const report: HttpRowReport = { id: row.id, name: row.name, server: row.server, status: 'measured' };
    reports.set(row.id, report);
    try {
      let target = targets.get(row.server);
      if (!target) {
        const spec = SERVERS[row.server];
        if (!spec) throw new Error(`no server named ${row.server}`);
        target = await spec.start(fixture);
        targets.set(row.server, target);
      }
      // One request first: a row that does not answer 200 would measure its error path.
      const probe = await fetch(`${target.url}${row.path(fixture)}`, {
        headers: row.headers?.(fixture) ?? {},
      });
      const text = await probe.text();
      if (probe.status !== 200) throw new Error(`probe answered ${probe.status}: ${text.slice(0, 300)}`);
      log(`warm-up  ${row.name} (${settings.warmupSec} s)`);
      await load(target, row, fixture, settings.warmupSec);
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
        const result = await load(target, row, fixture, settings.durationSec);
        report.runs.push(result);
        log(
          `run ${run}/${settings.runs} ${row.name}: ${fmtInt(result.requestsPerSec)} req/s, ` +
            `p50 ${fmtMs(result.p50Ms)} ms, p99 ${fmtMs(result.p99Ms)} ms, server CPU ${result.serverCpuPct ?? '?'}%` +
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
        : row.baseline
          ? null
          : 1;
    report.budgetMet =
      row.budget && typeof report.ratio === 'number' ? report.ratio >= row.budget.minRatio : null;
  }
  return [...reports.values()];
}

interface MicroRowReport {
  id: string;
  name: string;
  nsPerOp: number;
  ratio: number;
  budget: { maxNsPerOp: number } | null;
  budgetMet: boolean | null;
  roundsNs: number[];
}

async function measureCredentialCache(notes: string[]): Promise<MicroRowReport[]> {
  log('micro    credential cache (in-process)');
  const out = await runNode(join(BENCH, 'credential-cache.ts'), [], { role: 'server', timeoutMs: 120_000 });
  const result = JSON.parse(out) as CacheBenchResult;
  if (result.cacheMisses !== 0) notes.push(`⚠ ${result.cacheMisses} cache misses inside the timed rounds`);
  if (result.otherCpuPct !== null && result.otherCpuPct >= 15) {
    notes.push(
      `⚠ micro-benchmarks: other processes used ${result.otherCpuPct}% of a core while they ran; the machine was not quiet.`,
    );
  }
  return [
    {
      id: 'hash-map',
      name: "baseline: crypto.hash('sha256', key) + Map.get",
      nsPerOp: result.baselineNsPerOp,
      ratio: 1,
      budget: null,
      budgetMet: null,
      roundsNs: result.baselineRoundsNs,
    },
    {
      id: 'api-key-cache-hit',
      name: 'credential cache hit: ApiKeyVerifier.verify() (SQLite behind it)',
      nsPerOp: result.verifierNsPerOp,
      ratio: result.verifierNsPerOp / result.baselineNsPerOp,
      budget: { maxNsPerOp: 5000 },
      budgetMet: result.verifierNsPerOp < 5000,
      roundsNs: result.verifierRoundsNs,
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Reporting

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number | null | undefined) =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(1);
const fmtPct = (n: number) => `${Math.round(n * 100)}%`;
const mark = (met: boolean | null | undefined) => (met === true ? '✓' : met === false ? '✗' : '');

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

function describeEnvironment(autocannonVersion: string | null) {
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    pinned: pinningEnabled(),
    tool: settings.tool === 'wrk' ? 'wrk' : `autocannon ${autocannonVersion ?? ''}`.trim(),
    commit: commit ? `${commit}${dirty ? ' (with uncommitted changes)' : ''}` : null,
    settings: {
      durationSec: settings.durationSec,
      runs: settings.runs,
      connections: settings.connections,
      pipelining: settings.pipelining,
      warmupSec: settings.warmupSec,
    },
  };
}

function markdown(
  meta: ReturnType<typeof describeEnvironment>,
  http: HttpRowReport[],
  micro: MicroRowReport[],
  notes: string[],
): string {
  const lines: string[] = [];
  lines.push(
    `Node ${meta.node} · ${meta.tool} · ${meta.cpus} CPUs${meta.pinned ? ' (server on CPU 0, load generator on CPU 1)' : ''} · ` +
      `median of ${meta.settings.runs} × ${meta.settings.durationSec} s (after ${meta.settings.warmupSec} s warm-up) · ` +
      `${meta.settings.connections} connections, pipelining ${meta.settings.pipelining}` +
      (meta.commit ? ` · ${meta.commit}` : ''),
    '',
    '| benchmark | req/s | p50 ms | p99 ms | vs baseline | server CPU | budget |',
    '|---|--:|--:|--:|--:|--:|---|',
  );
  for (const row of http) {
    if (row.status === 'failed' || row.requestsPerSec === undefined) {
      lines.push(`| ${row.name} | failed | | | | | ${row.error?.split('\n')[0]?.slice(0, 80) ?? ''} |`);
      continue;
    }
    const budget = row.budget ? `≥ ${fmtPct(row.budget.minRatio)} ${mark(row.budgetMet)}` : '';
    const warn = row.non2xx || row.errors ? ` ⚠ ${row.non2xx} non-2xx, ${row.errors} errors` : '';
    lines.push(
      `| ${row.name} | ${fmtInt(row.requestsPerSec)} | ${fmtMs(row.p50Ms)} | ${fmtMs(row.p99Ms)} | ` +
        `${typeof row.ratio === 'number' ? fmtPct(row.ratio) : '–'} | ${row.serverCpuPct === null || row.serverCpuPct === undefined ? '–' : `${row.serverCpuPct}%`} | ${budget}${warn} |`,
    );
  }
  if (micro.length > 0) {
    lines.push('', '| micro-benchmark | ns/op | vs baseline | budget |', '|---|--:|--:|---|');
    for (const row of micro) {
      const budget = row.budget ? `< ${fmtInt(row.budget.maxNsPerOp)} ns ${mark(row.budgetMet)}` : '';
      lines.push(`| ${row.name} | ${fmtInt(row.nsPerOp)} | ${row.ratio.toFixed(2)}× | ${budget} |`);
    }
  }
  if (notes.length > 0) lines.push('', ...notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

function autocannonVersion(): string | null {
  try {
    const out = execFileSync(process.execPath, ['-p', "require('autocannon/package.json').version"], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim();
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  installCleanupHandlers();
  const started = Date.now();
  const meta = describeEnvironment(settings.tool === 'autocannon' ? autocannonVersion() : null);
  log(
    `${meta.tool}, ${settings.runs} × ${settings.durationSec} s per row, ${settings.connections} connections` +
      (settings.tool === 'autocannon' && !process.env.BENCH_TOOL ? ' (wrk is not installed)' : ''),
  );
  const notes: string[] = [];
  const targets = new Map<string, Target>();
  const temp = makeTempDir('cohera-bench-');
  let http: HttpRowReport[] = [];
  try {
    log('setting up: bootstrap, supplier, product, certificate');
    const { fixture, embedded } = await setUp(join(temp, 'data'));
    targets.set('embedded', embedded);
    http = await measureHttp(fixture, targets);

    const baseline = targets.get('baseline');
    if (baseline) {
      const [real, bare] = await Promise.all([
        fetch(`${embedded.url}${certificatePath(fixture)}`, { headers: bearer(fixture) }).then((r) =>
          r.text(),
        ),
        fetch(`${baseline.url}${certificatePath(fixture)}`).then((r) => r.text()),
      ]);
      if (real !== bare)
        notes.push('⚠ the baseline body differs from the real server’s; ratios are not comparable');
      else notes.push(`Both servers return the same ${Buffer.byteLength(real)}-byte certificate JSON.`);
    }
  } finally {
    await Promise.all([...targets.values()].map((target) => stop(target.server)));
    removeTempDir(temp);
  }

  const micro = await measureCredentialCache(notes);

  for (const row of http) {
    if (row.otherCpuPct != null && row.otherCpuPct >= 15) {
      notes.push(
        `⚠ ${row.id}: other processes used ${row.otherCpuPct}% of a core during the median run; the machine was not quiet, so this row is noisy.`,
      );
    } else if (row.serverCpuPct != null && row.serverCpuPct < 85) {
      notes.push(
        `⚠ ${row.id}: the server used only ${row.serverCpuPct}% of its core, so the load generator may have been the bottleneck.`,
      );
    }
  }
  const table = markdown(meta, http, micro, notes);
  const resultsDir = join(BENCH, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, 'latest.json');
  writeFileSync(
    file,
    `${JSON.stringify({ ...meta, elapsedSec: (Date.now() - started) / 1000, http, micro, notes }, null, 2)}\n`,
  );
  process.stdout.write(`\n${table}\n\n`);
  log(`wrote ${file} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
