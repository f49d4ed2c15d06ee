/**
 * The benchmark's settings, read once from the environment (documented in bench/run.ts and bench/README.md).
 */
import { join } from 'node:path';
import type { LoadSpec } from './load.ts';
import { envInt, onPath } from './support.ts';

export const ROOT = join(import.meta.dirname, '..');
export const BENCH = import.meta.dirname;
export const CLI = join(ROOT, 'packages/cli/bin/cohera.js');

/** wall: wrk/autocannon throughput (the default); instructions: callgrind instruction counts; both. */
export type BenchMode = 'wall' | 'instructions' | 'both';

function chooseMode(): BenchMode {
  const mode = process.env.BENCH_MODE ?? 'wall';
  if (mode === 'wall' || mode === 'instructions' || mode === 'both') return mode;
  throw new Error(`BENCH_MODE must be wall, instructions or both, got "${mode}"`);
}

function chooseTool(): LoadSpec['tool'] {
  const forced = process.env.BENCH_TOOL;
  if (forced === 'wrk' || forced === 'autocannon') return forced;
  if (forced) throw new Error(`BENCH_TOOL must be wrk or autocannon, got "${forced}"`);
  return onPath('wrk') ? 'wrk' : 'autocannon';
}

export const settings = {
  mode: chooseMode(),
  durationSec: envInt('BENCH_DURATION', 5),
  runs: envInt('BENCH_RUNS', 3),
  connections: envInt('BENCH_CONNECTIONS', 50),
  pipelining: envInt('BENCH_PIPELINING', 1),
  warmupSec: envInt('BENCH_WARMUP', 2),
  tokenChains: envInt('BENCH_TOKEN_CHAINS', 20),
  tool: chooseTool(),
  only: process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null,
  serverNodeArgs: [
    ...(process.env.BENCH_PROFILE === '1'
      ? ['--cpu-prof', `--cpu-prof-dir=${join(BENCH, 'results', 'profiles')}`]
      : []),
    ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== ''),
  ],
  /** The instruction-count mode (bench/instructions.ts). */
  instructions: {
    /** Requests counted per round, and rounds per server (the median is reported). */
    requests: envInt('BENCH_INSTR_REQUESTS', 2000),
    rounds: envInt('BENCH_INSTR_ROUNDS', 5),
    /**
     * Requests before the first count: V8 compiles the hot path meanwhile. After 2,000 the rounds still fell
     * one after the other (139k, 125k, 120k instructions on the API-key row), as code that runs once per
     * batch or flush had not been optimized yet; after 8,000 the second and third agree within 1%.
     */
    warmup: envInt('BENCH_INSTR_WARMUP', 8000),
    /**
     * Requests in flight at once (keep-alive connections of the counting client): 16, so that the fleet
     * limiter's batches hold several requests, as under the wall-clock load's 50 connections.
     */
    concurrency: envInt('BENCH_INSTR_CONCURRENCY', 16),
    /** Node (V8) flags of the servers under callgrind, space-separated. */
    nodeFlags: (process.env.BENCH_INSTR_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== ''),
  },
};
