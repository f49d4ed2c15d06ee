/**
 * Micro-benchmark of what the SDK costs a caller per request, without the network: every client is given
 * the same `fetch`, which answers at once with a canned certificate response (the real server's headers
 * and body shape), so only client-side work is timed. Rows, interleaved round by round:
 *
 * - baseline: `fetch` + `response.json()` by hand, with the Authorization header: the least any client does;
 * - the SDK with an API key: `client.certificates.get(id)` (URL, headers, retry loop, rate-limit parse);
 * - the SDK with a service account: the same, on the token it minted once and reuses;
 * - what reuse saves: `ServiceAccount.generateToken()` per call (ES256 signing), which a naive client pays.
 *
 * Prints one JSON line (an SdkBenchResult).
 */
import { generateKeyPairSync } from 'node:crypto';
import { ServiceAccount } from '../packages/sdk/src/auth/index.ts';
import { Cohera } from '../packages/sdk/src/index.ts';
import { machineBusySeconds } from './support.ts';

export interface SdkBenchResult {
  iterations: number;
  rounds: number;
  /** Median of the rounds, nanoseconds per operation, by row id. */
  nsPerOp: Record<string, number>;
  roundsNs: Record<string, number[]>;
  otherCpuPct: number | null;
}

const iterations = Number(process.env.BENCH_SDK_ITERATIONS ?? 20_000);
const rounds = Number(process.env.BENCH_SDK_ROUNDS ?? 5);
const BASE_URL = 'http://127.0.0.1:9';
const API_KEY = `ck_live_${'B'.repeat(32)}000000`;

const body = JSON.stringify({
  id: 'cert_0357HqCHP1baFffZEYBPGP',
  object: 'certificate',
  standard: 'ISO 9001',
  number: 'QMS-2026-0042',
  issuer: 'TÜV SÜD',
  supplier_id: 'sup_0357HqCHP1baFffZEYBPGQ',
  product_ids: ['prd_0357HqCHP1baFffZEYBPGR'],
  issued_at: '2026-01-15T00:00:00Z',
  expires_at: '2027-01-31T23:59:59Z',
  status: 'valid',
  created_at: '2026-11-22T10:00:00Z',
  updated_at: '2026-11-22T10:00:00Z',
});
const headers = {
  'content-type': 'application/json; charset=utf-8',
  'x-request-id': 'req_0357HqCHP1baFffZEYBPGS',
  'x-ratelimit-limit': '600',
  'x-ratelimit-remaining': '599',
  'x-ratelimit-reset': '1764583260',
};
const cannedFetch: typeof fetch = async () => new Response(body, { status: 200, headers });

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

async function main() {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sa = await ServiceAccount.fromJSON({
    type: 'service_account',
    service_account_id: 'sa_0357HqCHP1baFffZEYBPGT',
    org_id: 'org_0357HqCHP1baFffZEYBPGU',
    private_key_id: 'sak_0357HqCHP1baFffZEYBPGV',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    algorithm: 'ES256',
    issuer: 'cohera.io',
    audience: 'https://api.cohera.io',
    api_base_url: BASE_URL,
  });
  const keyClient = new Cohera({ apiKey: API_KEY, baseUrl: BASE_URL, fetch: cannedFetch });
  const saClient = new Cohera({
    serviceAccount: sa,
    scopes: ['read:certificates'],
    baseUrl: BASE_URL,
    fetch: cannedFetch,
  });
  const url = `${BASE_URL}/v1/certificates/cert_0357HqCHP1baFffZEYBPGP`;

  const rows: Record<string, () => Promise<unknown>> = {
    'sdk-baseline': () =>
      cannedFetch(url, { headers: { authorization: `Bearer ${API_KEY}`, accept: 'application/json' } }).then(
        (r) => r.json(),
      ),
    'sdk-api-key': () => keyClient.certificates.get('cert_0357HqCHP1baFffZEYBPGP'),
    'sdk-service-account': () => saClient.certificates.get('cert_0357HqCHP1baFffZEYBPGP'),
    'sdk-sign-per-request': () => sa.generateToken({ scopes: ['read:certificates'] }),
  };
  // Signing is ~1000× dearer than the rest: fewer iterations keep the run short, ns/op is comparable.
  const count = (id: string) => (id === 'sdk-sign-per-request' ? Math.max(100, iterations / 20) : iterations);

  for (const run of Object.values(rows)) for (let i = 0; i < 2_000; i++) await run();

  const roundsNs: Record<string, number[]> = Object.fromEntries(Object.keys(rows).map((id) => [id, []]));
  const busyBefore = machineBusySeconds();
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  for (let round = 0; round < rounds; round++) {
    for (const [id, run] of Object.entries(rows)) {
      const n = count(id);
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await run();
      roundsNs[id]?.push(Number(process.hrtime.bigint() - start) / n);
    }
  }
  const wallSec = (performance.now() - wallBefore) / 1000;
  const ownSec = (() => {
    const cpu = process.cpuUsage(cpuBefore);
    return (cpu.user + cpu.system) / 1e6;
  })();
  const busyAfter = machineBusySeconds();
  const otherCpuPct =
    busyBefore === null || busyAfter === null
      ? null
      : Math.max(0, Math.round(((busyAfter - busyBefore - ownSec) / wallSec) * 100));
  const result: SdkBenchResult = {
    iterations,
    rounds,
    nsPerOp: Object.fromEntries(Object.entries(roundsNs).map(([id, ns]) => [id, medianOf(ns)])),
    roundsNs,
    otherCpuPct,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
