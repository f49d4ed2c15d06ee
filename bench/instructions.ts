/**
 * The instruction-count mode of `npm run bench` (BENCH_MODE=instructions or both; `npm run
 * bench:instructions`): instructions executed per request, counted by valgrind's callgrind, which unlike
 * req/s do not move with whatever else the machine runs (`perf stat` is not available here).
 *
 * Each server of the selected rows runs under `valgrind --tool=callgrind --instr-atstart=yes
 * --separate-threads=yes`, 50–100× slower than natively. For each row: one probe GET; BENCH_INSTR_WARMUP
 * requests (V8 compiles the hot path, caches fill); the counters zeroed (`callgrind_control -z`), 3 s
 * without requests, dumped (`callgrind_control -d`): the idle rate, what the server's timers cost per
 * second; then BENCH_INSTR_ROUNDS rounds of: zero, exactly BENCH_INSTR_REQUESTS requests from
 * bench/count-load.ts (its own process, keep-alive, each request after the previous answer), dump.
 *
 * Two counts per round, from each thread's `summary:`: the main thread's, where the requests are served
 * (the headline: it repeats within a few per cent), and all threads' (adding V8's concurrent compiler and
 * GC threads and libuv's pool: real work, but when a compile or a marking cycle lands varies from round to
 * round). Timers fire per second of wall time and valgrind stretches a round 50×, so both are net of the
 * idle rate over the round's duration (the share it took is shown); work a request defers to a timer (a
 * batched write) stays in the net count, as it is not there when idle. The median round is reported.
 *
 * The JIT stays on. --jitless cannot run these servers (Node strips TypeScript's types with a WebAssembly
 * module, and --jitless turns WebAssembly off), and would count the interpreter, which weighs JavaScript
 * many times more than the C++ it calls (llhttp, SQLite, OpenSSL) and is not what serves production
 * traffic. V8 writes machine code and runs it: valgrind re-translates it (--smc-check=all-non-file, the
 * amd64 default, given explicitly).
 *
 * The dumps stay in bench/results/callgrind/<pid of the run>/ for `callgrind_annotate`, until the next run.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CountResult, CountSpec } from './count-load.ts';
import { fmtInt, log } from './report.ts';
import {
  type Fixture,
  type HttpRow,
  type Launch,
  probeGet,
  type ServerSpec,
  sleep,
  type Target,
  targetOf,
} from './runner.ts';
import { BENCH, settings } from './settings.ts';
import { runNode, stop } from './support.ts';

const run = promisify(execFile);

export interface InstructionRowReport {
  id: string;
  name: string;
  server: string;
  status: 'measured' | 'failed';
  error?: string;
  /**
   * The main thread's instructions per request net of its idle rate (what the server's timers do per
   * second of the round, subtracted): the median round's and every round's.
   */
  perRequest?: number;
  roundsPerRequest?: number[];
  /** The same for all threads (V8's compiler and GC threads, libuv's pool). */
  allThreadsPerRequest?: number;
  roundsAllThreads?: number[];
  /** The baseline row's Ir/request divided by this row's (main thread; all threads): the req/s ratio's twin. */
  baseline: string | null;
  ratio?: number | null;
  ratioAllThreads?: number | null;
  /** The row's wall-clock budget (a ratio to the baseline), checked against the instruction ratio. */
  minRatio: number | null;
  budgetMet?: boolean | null;
  /** The peer row's Ir/request divided by this row's (DESIGN §7: ≥ 2×). */
  peer?: string | null;
  peerRatio?: number | null;
  peerRatioAllThreads?: number | null;
  peerBudgetMet?: boolean | null;
  /** Instructions per second with no request (timers), and their share of the median round (all threads). */
  idlePerSec: { main: number; all: number } | null;
  idleSharePct: number | null;
  non2xx: number;
  errors: number;
}

export interface InstructionsReport {
  valgrind: string;
  node: string;
  requests: number;
  rounds: number;
  warmup: number;
  concurrency: number;
  rows: InstructionRowReport[];
  elapsedSec: number;
}

const CALLGRIND_ROOT = join(BENCH, 'results', 'callgrind');
/** This run's dumps: a directory per bench process, so that two runs at once keep theirs apart. */
const CALLGRIND_DIR = join(CALLGRIND_ROOT, String(process.pid));

/** Makes this run's dump directory and removes those of earlier runs whose process has ended. */
function prepareDumpDir(): void {
  mkdirSync(CALLGRIND_ROOT, { recursive: true });
  for (const name of readdirSync(CALLGRIND_ROOT)) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    rmSync(join(CALLGRIND_ROOT, name), { recursive: true, force: true });
  }
  mkdirSync(CALLGRIND_DIR, { recursive: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long the idle rate is counted for, with no request. */
const IDLE_MS = 3000;

/** Whether valgrind and callgrind_control are installed: the mode cannot run without them. */
export async function valgrindVersion(): Promise<string | null> {
  try {
    const { stdout } = await run('valgrind', ['--version']);
    await run('callgrind_control', ['--version']);
    return stdout.trim();
  } catch {
    return null;
  }
}

/** How a server of this mode starts: under callgrind, its dumps in this run's directory. */
function callgrindLaunch(server: string): Launch {
  return {
    wrapper: [
      'valgrind',
      '--tool=callgrind',
      '--instr-atstart=yes',
      // One dump file per thread: the main thread's count apart from V8's and libuv's helper threads.
      '--separate-threads=yes',
      // V8 writes machine code into memory it then runs: valgrind must re-translate what changed (the
      // default on amd64, spelled out for the other architectures).
      '--smc-check=all-non-file',
      `--callgrind-out-file=${join(CALLGRIND_DIR, `${server}.%p.out`)}`,
    ],
    nodeArgs: settings.instructions.nodeFlags,
    // A Redis command (and the health check's PING) that takes over 1 s under valgrind is not a Redis outage.
    env: { COHERA_REDIS_COMMAND_TIMEOUT_MS: '10000' },
    // Node starts in ~25 s under valgrind, the cohera server in about a minute.
    readyTimeoutMs: 600_000,
  };
}

/** `callgrind_control -z` (zero) or `-d` (dump) of a process running under callgrind. */
async function control(pid: number, command: '-z' | '-d'): Promise<void> {
  await run('callgrind_control', [command, String(pid)], { timeout: 120_000 });
}

/** Instructions of one dump: the main thread's and every thread's. */
interface Count {
  main: number;
  all: number;
}

/**
 * The newest dump of a process: one file per thread, `<server>.<pid>.out.<n>-<thread>`, thread 01 the main
 * one. Each file's `summary:` is that thread's count since the last zeroing.
 */
function lastDump(server: string, pid: number): Count {
  const prefix = `${server}.${pid}.out.`;
  const files = readdirSync(CALLGRIND_DIR)
    .map((name) => /^(\d+)-(\d+)$/.exec(name.startsWith(prefix) ? name.slice(prefix.length) : ''))
    .filter((match) => match !== null)
    .map((match) => ({ dump: Number(match[1]), thread: Number(match[2]), name: `${prefix}${match[0]}` }));
  const newest = Math.max(...files.map((file) => file.dump));
  const count: Count = { main: 0, all: 0 };
  let sawMain = false;
  for (const file of files.filter((f) => f.dump === newest)) {
    const summary = /^summary:\s+(\d+)/m.exec(readFileSync(join(CALLGRIND_DIR, file.name), 'utf8'));
    if (!summary?.[1]) throw new Error(`no summary line in callgrind's dump ${file.name}`);
    const instructions = Number(summary[1]);
    count.all += instructions;
    if (file.thread === 1) {
      count.main = instructions;
      sawMain = true;
    }
  }
  if (!sawMain) throw new Error(`callgrind wrote no dump of the main thread for ${server} (pid ${pid})`);
  return count;
}

/** Exactly `requests` requests of the row from bench/count-load.ts, in a process of its own. */
async function countRequests(target: Target, row: HttpRow, fixture: Fixture, requests: number) {
  const spec: CountSpec = {
    url: `${target.url}${row.path(fixture)}`,
    headers: row.headers?.(fixture) ?? {},
    requests,
    concurrency: settings.instructions.concurrency,
  };
  const out = await runNode(join(BENCH, 'count-load.ts'), [], {
    env: { ...process.env, BENCH_COUNT_SPEC: JSON.stringify(spec) },
    role: 'load',
    timeoutMs: 1_800_000,
  });
  const result = JSON.parse(out) as CountResult;
  if (result.non2xx === result.requests || result.errors > 0) {
    throw new Error(
      `${result.non2xx} non-2xx and ${result.errors} errors of ${requests} requests: ${result.firstFailure}`,
    );
  }
  return result;
}

/** Warm-up, idle rate, then the counted rounds of one row on its (callgrind) server. */
async function countRow(target: Target, row: HttpRow, fixture: Fixture, report: InstructionRowReport) {
  const { requests, rounds, warmup } = settings.instructions;
  const pid = target.server.child.pid;
  if (pid === undefined) throw new Error('the server has no pid');
  await probeGet(target, row, fixture);
  log(`warm-up  ${row.name}: ${fmtInt(warmup)} requests under callgrind`);
  await countRequests(target, row, fixture, warmup);
  // The warm-up's deferred work done before the idle count, which would otherwise take it for idle work.
  await row.background?.settle(target);

  await control(pid, '-z');
  const idleStarted = performance.now();
  await sleep(IDLE_MS);
  await control(pid, '-d');
  const idleSec = (performance.now() - idleStarted) / 1000;
  const idle = lastDump(row.server, pid);
  report.idlePerSec = { main: idle.main / idleSec, all: idle.all / idleSec };

  const main: number[] = [];
  const all: number[] = [];
  const idleShares: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    await control(pid, '-z');
    const started = performance.now();
    const result = await countRequests(target, row, fixture, requests);
    await control(pid, '-d');
    const wallSec = (performance.now() - started) / 1000;
    const count = lastDump(row.server, pid);
    report.non2xx += result.non2xx;
    report.errors += result.errors;
    const idleMain = report.idlePerSec.main * wallSec;
    const idleAll = report.idlePerSec.all * wallSec;
    main.push(Math.max(0, count.main - idleMain) / requests);
    all.push(Math.max(0, count.all - idleAll) / requests);
    idleShares.push((idleAll / count.all) * 100);
    log(
      `round ${round}/${rounds} ${row.name}: main thread ${fmtInt(main.at(-1) ?? 0)} Ir/request, ` +
        `all threads ${fmtInt(all.at(-1) ?? 0)} (net of ${fmtInt(idleAll)} Ir at the idle rate over ${wallSec.toFixed(1)} s)`,
    );
  }
  report.roundsPerRequest = main;
  report.perRequest = middle(main);
  report.roundsAllThreads = all;
  report.allThreadsPerRequest = middle(all);
  report.idleSharePct = middle(idleShares);
}

/** The median, the mean of the middle two for an even count (support.ts's `median` takes the lower). */
function middle(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  const upper = sorted[half] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[half - 1] ?? Number.NaN) + upper) / 2;
}

/**
 * Counts every row, one server at a time (valgrind multiplies what a server needs of memory and CPU), and derives the ratios.
 * `rows` come from `selectedRows`: GET rows replaying one request (a custom row is skipped with a log). A
 * background row's deferred work (the audit log's flush, every second of wall time) runs inside the rounds,
 * which last seconds under valgrind: each round writes what the one before left buffered in place of what
 * it leaves buffered itself, so in the steady state the count holds one write per event.
 */
export async function measureInstructions(
  rows: readonly HttpRow[],
  servers: Record<string, ServerSpec>,
  fixture: Fixture,
): Promise<InstructionsReport> {
  const started = Date.now();
  const valgrind = await valgrindVersion();
  if (!valgrind) throw new Error('the instruction-count mode needs valgrind and callgrind_control on PATH');
  prepareDumpDir();
  const countable = rows.filter((row) => {
    if (!row.custom) return true;
    log(`instructions: row ${row.id} does not replay one GET; it is measured in the wall-clock mode only`);
    return false;
  });
  const reports = new Map<string, InstructionRowReport>();
  for (const serverName of new Set(countable.map((row) => row.server))) {
    const targets = new Map<string, Target>();
    for (const row of countable.filter((r) => r.server === serverName)) {
      const report: InstructionRowReport = {
        id: row.id,
        name: row.name,
        server: row.server,
        status: 'measured',
        baseline: row.baseline ?? null,
        minRatio: row.budget && 'minRatio' in row.budget ? row.budget.minRatio : null,
        idlePerSec: null,
        idleSharePct: null,
        non2xx: 0,
        errors: 0,
      };
      reports.set(row.id, report);
      try {
        if (!targets.has(row.server)) log(`starting ${row.server} under callgrind (about a minute)`);
        const target = await targetOf(row, servers, fixture, targets, callgrindLaunch(row.server));
        await countRow(target, row, fixture, report);
      } catch (error) {
        report.status = 'failed';
        report.error = (error as Error).message;
        log(`FAILED   ${row.name}: ${report.error}`);
      }
    }
    // valgrind writes its last dump on exit: give it time before the SIGKILL.
    await Promise.all([...targets.values()].map((target) => stop(target.server, 60_000)));
  }

  for (const row of countable) {
    const report = reports.get(row.id);
    if (!report || report.perRequest === undefined) continue;
    const base = row.baseline ? reports.get(row.baseline) : undefined;
    report.ratio = base?.perRequest ? base.perRequest / report.perRequest : row.baseline ? null : 1;
    report.ratioAllThreads =
      base?.allThreadsPerRequest && report.allThreadsPerRequest
        ? base.allThreadsPerRequest / report.allThreadsPerRequest
        : row.baseline
          ? null
          : 1;
    report.budgetMet =
      report.minRatio === null || typeof report.ratio !== 'number' ? null : report.ratio >= report.minRatio;
    const peer = row.peer ? reports.get(row.peer.row) : undefined;
    if (row.peer && peer?.perRequest !== undefined) {
      report.peer = row.peer.row;
      report.peerRatio = peer.perRequest / report.perRequest;
      report.peerRatioAllThreads =
        peer.allThreadsPerRequest && report.allThreadsPerRequest
          ? peer.allThreadsPerRequest / report.allThreadsPerRequest
          : null;
      report.peerBudgetMet = report.peerRatio >= row.peer.minRatio;
    }
  }
  const { requests, rounds, warmup, concurrency } = settings.instructions;
  return {
    valgrind,
    node: process.version,
    requests,
    rounds,
    warmup,
    concurrency,
    rows: [...reports.values()],
    elapsedSec: (Date.now() - started) / 1000,
  };
}
