/**
 * The in-process micro-benchmarks of `npm run bench`: the credential cache (bench/credential-cache.ts) and
 * the SDK's own cost per request (bench/sdk-overhead.ts), each in a process of its own.
 */
import { join } from 'node:path';
import type { CacheBenchResult } from './credential-cache.ts';
import { log } from './report.ts';
import type { SdkBenchResult } from './sdk-overhead.ts';
import { BENCH } from './settings.ts';
import { runNode } from './support.ts';

export interface MicroRowReport {
  id: string;
  name: string;
  nsPerOp: number;
  ratio: number;
  budget: { maxNsPerOp: number } | null;
  budgetMet: boolean | null;
  roundsNs: number[];
}

export async function measureCredentialCache(notes: string[]): Promise<MicroRowReport[]> {
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

/** The SDK's own cost per request (bench/sdk-overhead.ts): no network, the same canned response for all. */
export async function measureSdkOverhead(notes: string[]): Promise<MicroRowReport[]> {
  log('micro    SDK client overhead (in-process)');
  const out = await runNode(join(BENCH, 'sdk-overhead.ts'), [], { role: 'server', timeoutMs: 120_000 });
  const result = JSON.parse(out) as SdkBenchResult;
  if (result.otherCpuPct !== null && result.otherCpuPct >= 15) {
    notes.push(`⚠ SDK micro-benchmark: other processes used ${result.otherCpuPct}% of a core while it ran.`);
  }
  const baseline = result.nsPerOp['sdk-baseline'] ?? Number.NaN;
  const row = (id: string, name: string): MicroRowReport => ({
    id,
    name,
    nsPerOp: result.nsPerOp[id] ?? Number.NaN,
    ratio: (result.nsPerOp[id] ?? Number.NaN) / baseline,
    budget: null,
    budgetMet: null,
    roundsNs: result.roundsNs[id] ?? [],
  });
  return [
    row('sdk-baseline', 'baseline: fetch + response.json() by hand (canned response, no network)'),
    row('sdk-api-key', 'SDK: client.certificates.get(id) with an API key'),
    row('sdk-service-account', 'SDK: the same with a service account (its minted token reused)'),
    row('sdk-sign-per-request', 'what reuse saves: ServiceAccount.generateToken() (ES256) per request'),
  ];
}
