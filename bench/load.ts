/**
 * The load generator, run as its own process (on its own core when pinned) so that it never shares an
 * event loop with the server it measures. Reads a LoadSpec as JSON from BENCH_LOAD_SPEC (the environment,
 * not argv, so the credential in its headers stays out of process listings) and prints one JSON line
 * (a LoadResult). Uses Debian's `wrk` when the spec asks for it (lighter, measures in µs), else
 * autocannon, with latencies taken from each response's own timer (autocannon's histogram rounds to 1 ms).
 *
 *   BENCH_LOAD_SPEC='{"tool":"autocannon","url":"http://127.0.0.1:8080/health","durationSec":5,…}' \
 *     node bench/load.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { reapedChildrenCpuSeconds } from './support.ts';

export interface LoadSpec {
  tool: 'wrk' | 'autocannon';
  url: string;
  headers: Record<string, string>;
  durationSec: number;
  connections: number;
  pipelining: number;
  /** Default GET; a POST row (the webhook outbox rows) sends `body` with every request. */
  method?: 'GET' | 'POST';
  body?: string;
}

export interface LoadResult {
  tool: LoadSpec['tool'];
  requests: number;
  durationSec: number;
  requestsPerSec: number;
  /** Latency of 2xx responses; null when there were none. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Responses outside 2xx (a row with any is measuring errors, not the route). */
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** CPU seconds the load generator used while measuring (null where unknown). */
  loadCpuSec: number | null;
  /** CPU seconds this process used from its start, loading and wrk included (null where unknown). */
  processCpuSec: number | null;
}

function percentile(sorted: Float64Array, p: number): number | null {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? null;
}

async function withAutocannon(spec: LoadSpec): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 17);
  let count = 0;
  const cpuBefore = process.cpuUsage();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        headers: spec.headers,
        duration: spec.durationSec,
        connections: spec.connections,
        pipelining: spec.pipelining,
        ...(spec.method ? { method: spec.method } : {}),
        ...(spec.body === undefined ? {} : { body: spec.body }),
      },
      (error: unknown, done: autocannon.Result) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode >= 300) return;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = responseTime;
    });
  });
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = latencies.subarray(0, count).sort();
  return {
    tool: 'autocannon',
    requests: result.requests.total,
    durationSec: result.duration,
    requestsPerSec: result.requests.total / result.duration,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    non2xx: result.non2xx,
    errors: result.errors,
    loadCpuSec: (cpu.user + cpu.system) / 1e6,
    processCpuSec: 0,
  };
}

/** wrk reports through a Lua `done` hook: one marked JSON line, so no table scraping. */
const WRK_REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nBENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%.3f,"p99_us":%.3f,"non2xx":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
`;

async function withWrk(spec: LoadSpec): Promise<LoadResult> {
  if (spec.pipelining !== 1) throw new Error('the wrk runner supports pipelining 1 only; use autocannon');
  const dir = mkdtempSync(join(tmpdir(), 'cohera-wrk-'));
  try {
    const script = join(dir, 'report.lua');
    // Headers go in the script (a private temp file), not in wrk's argv. JSON string escapes of ASCII
    // text are valid Lua string literals.
    const headers = Object.entries(spec.headers)
      .map(([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}\n`)
      .join('');
    const request =
      (spec.method ? `wrk.method = ${JSON.stringify(spec.method)}\n` : '') +
      (spec.body === undefined ? '' : `wrk.body = ${JSON.stringify(spec.body)}\n`);
    writeFileSync(script, headers + request + WRK_REPORT, { mode: 0o600 });
    const args = ['-t1', `-c${spec.connections}`, `-d${spec.durationSec}s`, '--timeout', '5s', '-s', script];
    args.push(spec.url);
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
    if (code !== 0 || !line) throw new Error(`wrk exited with ${code}:\n${err}${out}`);
    const report = JSON.parse(line.slice('BENCH_JSON '.length)) as {
      requests: number;
      duration_us: number;
      p50_us: number;
      p99_us: number;
      non2xx: number;
      errors: number;
    };
    const durationSec = report.duration_us / 1e6;
    return {
      tool: 'wrk',
      requests: report.requests,
      durationSec,
      requestsPerSec: report.requests / durationSec,
      p50Ms: report.requests > report.non2xx ? report.p50_us / 1000 : null,
      p99Ms: report.requests > report.non2xx ? report.p99_us / 1000 : null,
      non2xx: report.non2xx,
      errors: report.errors,
      loadCpuSec: reapedChildrenCpuSeconds(),
      processCpuSec: 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const spec = JSON.parse(process.env.BENCH_LOAD_SPEC ?? '') as LoadSpec;
const result = spec.tool === 'wrk' ? await withWrk(spec) : await withAutocannon(spec);
const own = process.cpuUsage();
const reaped = reapedChildrenCpuSeconds();
result.processCpuSec = reaped === null ? null : (own.user + own.system) / 1e6 + reaped;
process.stdout.write(`${JSON.stringify(result)}\n`);
