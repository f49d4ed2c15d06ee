/**
 * `npm run bench` (DESIGN §7): load benchmarks of the real server against a bare Fastify baseline and the
 * peer stack (Fastify + @fastify/rate-limit + a hashed key looked up in SQLite per request) measured in the
 * same run, plus in-process micro-benchmarks. Every server, and the load generator, runs in its own
 * process (pinned to its own core where `taskset` exists), so they never share an event loop. Prints
 * Markdown tables and writes bench/results/latest.json. It never asserts: budgets are shown, not enforced.
 *
 * Settings (environment): BENCH_DURATION (s per run, 5), BENCH_RUNS (3), BENCH_CONNECTIONS (50),
 * BENCH_PIPELINING (1), BENCH_WARMUP (s, 2), BENCH_TOOL (wrk|autocannon; default wrk when installed),
 * BENCH_PIN (0 disables CPU pinning), BENCH_ONLY (comma-separated row ids; the rows their ratios are
 * taken against are measured too, the peer rows only when named), BENCH_CACHE_ITERATIONS, BENCH_PROFILE=1
 * (servers write V8 CPU profiles to bench/results/profiles/, for Chrome DevTools), BENCH_TOKEN_CHAINS
 * (concurrent refresh-token chains of the token-endpoint row, 20; the set-up runs one authorization-code
 * flow per chain), BENCH_SCAN=0 (skips the `cohera scan` rows).
 *
 * BENCH_MODE: wall (the default: req/s, the tables above), instructions (instructions per request under
 * valgrind's callgrind, bench/instructions.ts; `npm run bench:instructions`), or both (both tables). The
 * instruction mode counts the rows marked `instructions` in bench/rows.ts (baseline, api-key,
 * api-key-redis, peer, peer-redis) or BENCH_ONLY's, with BENCH_INSTR_REQUESTS (counted per round, 2,000),
 * BENCH_INSTR_ROUNDS (3), BENCH_INSTR_WARMUP (requests, 8,000) and BENCH_INSTR_CONCURRENCY
 * (keep-alive connections, 16).
 *
 * The pieces: bench/settings.ts (the above), bench/rows.ts (SERVERS and ROWS: what is measured),
 * bench/fixture.ts (the data every row uses), bench/runner.ts (servers, load processes, interleaved runs),
 * bench/instructions.ts (the callgrind mode), bench/micro.ts, bench/report.ts (tables, latest.json).
 */
import { join } from 'node:path';
import { setUp } from './fixture.ts';
import { type InstructionsReport, measureInstructions } from './instructions.ts';
import { type MicroRowReport, measureCredentialCache, measureSdkOverhead } from './micro.ts';
import {
  describeEnvironment,
  httpNotes,
  instructionsTable,
  log,
  wallClockTables,
  writeResults,
} from './report.ts';
import { bearer, certificatePath, ROWS, SERVERS } from './rows.ts';
import { type Fixture, type HttpRowReport, measureHttp, selectedRows, type Target } from './runner.ts';
import { measureScan, type ScanRowReport, scanTable } from './scan.ts';
import { measurePythonSdkOverhead } from './sdk-python.ts';
import { settings } from './settings.ts';
import { cleanupNow, installCleanupHandlers, makeTempDir, removeTempDir, stop } from './support.ts';
import { closeReceivers } from './webhooks.ts';

/** The servers that serve the certificate JSON without being cohera: their bodies must equal the real one. */
const STAND_INS = ['baseline', 'peer', 'peer-redis'];

/** Whether the baseline and the peers returned exactly the real server's bytes (ratios compare like with like). */
async function compareBodies(fixture: Fixture, targets: Map<string, Target>, notes: string[]) {
  const embedded = targets.get('embedded');
  if (!embedded) return;
  const get = (target: Target) =>
    fetch(`${target.url}${certificatePath(fixture)}`, { headers: bearer(fixture) }).then((r) => r.text());
  const real = await get(embedded);
  for (const name of STAND_INS) {
    const target = targets.get(name);
    if (!target) continue;
    if ((await get(target)) !== real)
      notes.push(`⚠ the ${name} body differs from the real server’s; its ratios are not comparable`);
    else
      notes.push(
        `${name} returns the same ${Buffer.byteLength(real)}-byte certificate JSON as the real server.`,
      );
  }
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const started = Date.now();
  const meta = describeEnvironment();
  const wall = settings.mode !== 'instructions';
  if (wall) {
    log(
      `${meta.tool}, ${settings.runs} × ${settings.durationSec} s per row, ${settings.connections} connections` +
        (settings.tool === 'autocannon' && !process.env.BENCH_TOOL ? ' (wrk is not installed)' : ''),
    );
  }
  const notes: string[] = [];
  const targets = new Map<string, Target>();
  const temp = makeTempDir('cohera-bench-');
  let http: HttpRowReport[] = [];
  let instructions: InstructionsReport | null = null;
  const wallRows = wall ? selectedRows(ROWS, () => true) : [];
  const instructionRows =
    settings.mode === 'wall' ? [] : selectedRows(ROWS, (row) => row.instructions === true);
  const oauthFlows = [...wallRows, ...instructionRows].some((row) => row.oauthFlows);
  try {
    log(
      'setting up: bootstrap, supplier, product, certificate, service account, OAuth app' +
        (oauthFlows ? ` and ${settings.tokenChains} authorization-code flows` : ''),
    );
    const { fixture, embedded } = await setUp(join(temp, 'data'), { oauthFlows });
    targets.set('embedded', embedded);
    if (wall) {
      http = await measureHttp(wallRows, SERVERS, fixture, targets);
      for (const [name, target] of targets) {
        const note = await SERVERS[name]
          ?.report?.(target)
          .catch((error: unknown) => `⚠ ${name}: ${(error as Error).message}`);
        if (note) notes.push(note);
      }
      await compareBodies(fixture, targets, notes);
    }
    // The callgrind servers start on the same data once every wall-clock server has stopped.
    await Promise.all([...targets.values()].map((target) => closeReceivers(target.webhooks)));
    await Promise.all([...targets.values()].map((target) => stop(target.server)));
    targets.clear();
    if (settings.mode !== 'wall') instructions = await measureInstructions(instructionRows, SERVERS, fixture);
  } finally {
    await Promise.all([...targets.values()].map((target) => closeReceivers(target.webhooks)));
    await Promise.all([...targets.values()].map((target) => stop(target.server)));
    removeTempDir(temp);
  }

  const micro: MicroRowReport[] = wall
    ? [
        ...(await measureCredentialCache(notes)),
        ...(await measureSdkOverhead(notes)),
        ...(await measurePythonSdkOverhead(notes)),
      ]
    : [];
  // `cohera scan` against ripgrep and `git log -p | rg` (bench/scan.ts); BENCH_SCAN=0 skips it.
  const scan: ScanRowReport[] = !wall || process.env.BENCH_SCAN === '0' ? [] : await measureScan(log);

  notes.push(...httpNotes(http));
  const file = writeResults({
    meta,
    elapsedSec: (Date.now() - started) / 1000,
    http,
    micro,
    scan,
    instructions,
    notes,
  });
  const noteLines = notes.length > 0 ? `\n\n${notes.map((n) => `- ${n}`).join('\n')}` : '';
  // The notes follow the wall-clock tables, as they always have, or the instruction table on its own.
  if (wall) process.stdout.write(`\n${wallClockTables(meta, http, micro)}${noteLines}\n\n`);
  if (scan.length > 0) process.stdout.write(`${scanTable(scan)}\n\n`);
  if (instructions) process.stdout.write(`${instructionsTable(instructions)}${wall ? '' : noteLines}\n\n`);
  log(`wrote ${file} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
  // A server that never became ready is still running, and would keep this process alive.
  cleanupNow();
});
