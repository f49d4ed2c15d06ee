/**
 * What `npm run bench` prints and keeps: the progress log (stderr), the Markdown tables (wall-clock,
 * micro-benchmarks, instruction counts), the notes that warn about a noisy or bottlenecked row, and
 * bench/results/latest.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { InstructionsReport } from './instructions.ts';
import type { MicroRowReport } from './micro.ts';
import type { HttpRowReport } from './runner.ts';
import type { ScanRowReport } from './scan.ts';
import { BENCH, ROOT, settings } from './settings.ts';
import { pinningEnabled } from './support.ts';

export function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
export const fmtMs = (n: number | null | undefined) =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(1);
const fmtPct = (n: number) => `${Math.round(n * 100)}%`;
const fmtTimes = (n: number | null | undefined) =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : `${n.toFixed(2)}×`;
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

export function autocannonVersion(): string | null {
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

export type Environment = ReturnType<typeof describeEnvironment>;

export function describeEnvironment() {
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  const autocannon = settings.tool === 'autocannon' ? autocannonVersion() : null;
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    pinned: pinningEnabled(),
    mode: settings.mode,
    tool: settings.tool === 'wrk' ? 'wrk' : `autocannon ${autocannon ?? ''}`.trim(),
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

/** The wall-clock table of the HTTP rows, and the micro-benchmarks' table. */
/** The server's CPU per request, user + system (where the time went: our code, or the kernel's calls). */
function cpuSplit(row: HttpRowReport): string {
  if (row.serverUserUs == null || row.serverSystemUs == null) return '–';
  return `${row.serverUserUs.toFixed(1)} + ${row.serverSystemUs.toFixed(1)}`;
}

export function wallClockTables(meta: Environment, http: HttpRowReport[], micro: MicroRowReport[]): string {
  const lines: string[] = [];
  const withPeer = http.some((row) => row.peerRatio !== undefined);
  lines.push(
    `Node ${meta.node} · ${meta.tool} · ${meta.cpus} CPUs${meta.pinned ? ' (server on CPU 0, load generator on CPU 1)' : ''} · ` +
      `median of ${meta.settings.runs} × ${meta.settings.durationSec} s (after ${meta.settings.warmupSec} s warm-up) · ` +
      `${meta.settings.connections} connections, pipelining ${meta.settings.pipelining}` +
      (meta.commit ? ` · ${meta.commit}` : ''),
    '',
    `| benchmark | req/s | p50 ms | p99 ms | vs baseline |${withPeer ? ' vs peer (≥ 2×) |' : ''} server CPU | µs/req user + sys | budget |`,
    `|---|--:|--:|--:|--:|${withPeer ? '--:|' : ''}--:|--:|---|`,
  );
  for (const row of http) {
    if (row.status === 'failed' || row.requestsPerSec === undefined) {
      lines.push(
        `| ${row.name} | failed | | | |${withPeer ? ' |' : ''} | | ${row.error?.split('\n')[0]?.slice(0, 80) ?? ''} |`,
      );
      continue;
    }
    const budget = !row.budget
      ? ''
      : 'maxP99Ms' in row.budget
        ? `p99 ≤ ${fmtInt(row.budget.maxP99Ms)} ms ${mark(row.budgetMet)}`
        : 'minPerSec' in row.budget
          ? `≥ ${fmtInt(row.budget.minPerSec)} ${row.budget.unit}/s ${mark(row.budgetMet)}`
          : `≥ ${fmtPct(row.budget.minRatio)} ${mark(row.budgetMet)}`;
    const warmup = row.warmupNon2xx || row.warmupErrors;
    const warn =
      row.non2xx || row.errors || warmup
        ? ` ⚠ ${row.non2xx} non-2xx, ${row.errors} errors` +
          (warmup ? ` (+ ${row.warmupNon2xx} non-2xx, ${row.warmupErrors} errors in the warm-up)` : '')
        : '';
    const peer = !withPeer
      ? ''
      : row.peerRatio === undefined
        ? ' |'
        : ` ${fmtTimes(row.peerRatio)} ${mark(row.peerBudgetMet)} |`;
    lines.push(
      `| ${row.name} | ${fmtInt(row.requestsPerSec)} | ${fmtMs(row.p50Ms)} | ${fmtMs(row.p99Ms)} | ` +
        `${typeof row.ratio === 'number' ? fmtPct(row.ratio) : '–'} |${peer} ${row.serverCpuPct == null ? '–' : `${row.serverCpuPct}%`} | ${cpuSplit(row)} | ${budget}${warn} |`,
    );
  }
  if (micro.length > 0) {
    lines.push('', '| micro-benchmark | ns/op | vs baseline | budget |', '|---|--:|--:|---|');
    for (const row of micro) {
      const budget = row.budget ? `< ${fmtInt(row.budget.maxNsPerOp)} ns ${mark(row.budgetMet)}` : '';
      lines.push(`| ${row.name} | ${fmtInt(row.nsPerOp)} | ${row.ratio.toFixed(2)}× | ${budget} |`);
    }
  }
  return lines.join('\n');
}

/**
 * The instruction-count table: instructions (callgrind's Ir) per request, of the main thread (where
 * requests are served; the stable count) and of all threads, both net of the idle rate; the baseline's
 * divided by the row's (the analogue of the req/s ratio: 85% means the row costs 1/0.85 of the baseline's
 * instructions) and the peer's divided by ours (the analogue of ours/peer req/s).
 */
export function instructionsTable(report: InstructionsReport): string {
  const lines: string[] = [
    `callgrind (${report.valgrind}) · Node ${report.node} (JIT on) · ` +
      `${fmtInt(report.requests)} requests per round × ${report.rounds} rounds after ${fmtInt(report.warmup)} ` +
      `warm-up requests · ${report.concurrency} keep-alive connection${report.concurrency === 1 ? '' : 's'} · ` +
      'median round · Ir per request net of the idle rate (main thread; all threads in brackets)',
    '',
    '| benchmark | Ir / request | rounds | all threads | idle share | vs baseline | vs peer (≥ 2×) | budget |',
    '|---|--:|--:|--:|--:|--:|--:|---|',
  ];
  const pair = (main: string, all: string) => (all === '–' ? main : `${main} (${all})`);
  for (const row of report.rows) {
    if (row.status === 'failed' || row.perRequest === undefined) {
      lines.push(`| ${row.name} | failed | | | | | | ${row.error?.split('\n')[0]?.slice(0, 80) ?? ''} |`);
      continue;
    }
    const rounds = (row.roundsPerRequest ?? []).map(fmtInt).join(' / ');
    const ratio = typeof row.ratio === 'number' ? fmtPct(row.ratio) : '–';
    const ratioAll = typeof row.ratioAllThreads === 'number' ? fmtPct(row.ratioAllThreads) : '–';
    const peer =
      row.peerRatio === undefined || row.peerRatio === null
        ? ''
        : `${pair(fmtTimes(row.peerRatio), fmtTimes(row.peerRatioAllThreads))} ${mark(row.peerBudgetMet)}`;
    const budget = row.minRatio === null ? '' : `≥ ${fmtPct(row.minRatio)} ${mark(row.budgetMet)}`;
    const warn = row.non2xx || row.errors ? ` ⚠ ${row.non2xx} non-2xx, ${row.errors} errors` : '';
    const idle = row.idleSharePct === null ? '–' : `${row.idleSharePct.toFixed(1)}%`;
    const all = row.allThreadsPerRequest === undefined ? '–' : fmtInt(row.allThreadsPerRequest);
    lines.push(
      `| ${row.name} | ${fmtInt(row.perRequest)} | ${rounds} | ${all} | ${idle} | ${pair(ratio, ratioAll)} | ` +
        `${peer} | ${budget}${warn} |`,
    );
  }
  return lines.join('\n');
}

/** Warnings about the wall-clock rows: a busy machine, a server that was not the bottleneck, stopped chains. */
export function httpNotes(http: HttpRowReport[]): string[] {
  const notes: string[] = [];
  for (const row of http) {
    if (row.otherCpuPct != null && row.otherCpuPct >= 15) {
      notes.push(
        `⚠ ${row.id}: other processes used ${row.otherCpuPct}% of a core during the median run; the machine was not quiet, so this row is noisy.`,
      );
    } else if (
      row.serverCpuPct != null &&
      row.serverCpuPct < 85 &&
      // Its load is the server's own delivery worker (bounded per endpoint) or one event at a time: idle by design.
      row.server !== 'webhook-delivery'
    ) {
      notes.push(
        `⚠ ${row.id}: the server used only ${row.serverCpuPct}% of its core, so the load generator may have been the bottleneck.`,
      );
    }
    if (row.failures?.length) {
      const samples = row.failures.map((f) => `${f.status || 'no answer'} ${f.body}`).join(' · ');
      notes.push(
        `⚠ ${row.id}: ${row.chainsAlive ?? '?'} of ${row.chains ?? '?'} chains left; each stopped at its first answer other than 200: ${samples}`,
      );
    }
  }
  return notes;
}

/** Writes bench/results/latest.json; returns its path. */
export function writeResults(results: {
  meta: Environment;
  elapsedSec: number;
  http: HttpRowReport[];
  micro: MicroRowReport[];
  scan: ScanRowReport[];
  instructions: InstructionsReport | null;
  notes: string[];
}): string {
  const { meta, ...rest } = results;
  const resultsDir = join(BENCH, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, 'latest.json');
  writeFileSync(file, `${JSON.stringify({ ...meta, ...rest }, null, 2)}\n`);
  return file;
}
