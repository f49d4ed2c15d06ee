/**
 * The token-endpoint load generator (DESIGN §7: ≥ 1.5k tokens/s on one core), run as its own process like
 * load.ts. Codes and refresh tokens are single-use (refresh tokens rotate on every use), so no tool can
 * replay one request: this runs one rotation chain per starting refresh token, all concurrently, each
 * `POST /oauth/token` with `grant_type=refresh_token`, the chain's current refresh token and
 * client_secret_basic, then the same with the refresh token of the answer, until the duration is over.
 *
 * Reads a TokenLoadSpec as JSON from BENCH_TOKEN_SPEC (the environment, so the client secret and the
 * tokens stay out of process listings) and prints one JSON line (a TokenLoadResult) with each chain's
 * current refresh token, so the next run continues the chains. A chain stops at its first answer other
 * than 200 with a refresh token (its token may be spent): that answer is counted and a sample kept.
 */
import { Agent, request } from 'node:http';
import type { LoadResult } from './load.ts';
import { basicAuthorization, refreshBody } from './oauth.ts';
import { reapedChildrenCpuSeconds } from './support.ts';

export interface TokenLoadSpec {
  /** The token endpoint, e.g. http://127.0.0.1:8080/oauth/token. */
  url: string;
  clientId: string;
  clientSecret: string;
  /** One per chain; null for a chain that already stopped. */
  refreshTokens: (string | null)[];
  durationSec: number;
}

export interface TokenLoadResult extends Omit<LoadResult, 'tool'> {
  tool: 'refresh-chains';
  /** Chains that ran (had a refresh token at the start). */
  chains: number;
  /** Chains that still hold a usable refresh token at the end. */
  chainsAlive: number;
  /** Each chain's current refresh token (null once it stopped): the next run starts from these. */
  refreshTokens: (string | null)[];
  /** The first few answers that stopped a chain (status 0: no answer), with their bodies' start. */
  failures: { status: number; body: string }[];
}

const REQUEST_TIMEOUT_MS = 10_000;

function percentile(sorted: Float64Array, p: number): number | null {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? null;
}

const spec = JSON.parse(process.env.BENCH_TOKEN_SPEC ?? '') as TokenLoadSpec;
const target = new URL(spec.url);
const authorization = basicAuthorization({ clientId: spec.clientId, clientSecret: spec.clientSecret });
const agent = new Agent({ keepAlive: true, maxSockets: Math.max(1, spec.refreshTokens.length) });

/** One token request; resolves with the status and body, rejects on a connection error or timeout. */
function post(refreshToken: string): Promise<{ status: number; body: string }> {
  const body = refreshBody(refreshToken);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          accept: 'application/json',
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.once('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.once('error', reject);
    req.end(body);
  });
}

const tokens = [...spec.refreshTokens];
let latencies = new Float64Array(1 << 14);
let ok = 0;
let non200 = 0;
let errors = 0;
const failures: TokenLoadResult['failures'] = [];
const fail = (chain: number, status: number, body: string) => {
  tokens[chain] = null;
  if (failures.length < 5) failures.push({ status, body: body.slice(0, 300) });
};

async function chain(index: number, deadline: number): Promise<void> {
  let token = tokens[index];
  while (token && performance.now() < deadline) {
    const started = performance.now();
    let answer: { status: number; body: string };
    try {
      answer = await post(token);
    } catch (error) {
      errors++;
      return fail(index, 0, (error as Error).message);
    }
    const ms = performance.now() - started;
    if (answer.status !== 200) {
      non200++;
      return fail(index, answer.status, answer.body);
    }
    let next: unknown;
    try {
      next = (JSON.parse(answer.body) as { refresh_token?: unknown }).refresh_token;
    } catch {
      next = undefined;
    }
    if (typeof next !== 'string' || next === '') {
      errors++;
      return fail(index, answer.status, `200 without a refresh_token: ${answer.body}`);
    }
    token = next;
    tokens[index] = next;
    if (ok === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[ok++] = ms;
  }
}

const cpuBefore = process.cpuUsage();
const started = performance.now();
const deadline = started + spec.durationSec * 1000;
await Promise.all(tokens.map((_, index) => chain(index, deadline)));
const durationSec = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
agent.destroy();

const sorted = latencies.subarray(0, ok).sort();
const own = process.cpuUsage();
const reaped = reapedChildrenCpuSeconds();
const result: TokenLoadResult = {
  tool: 'refresh-chains',
  requests: ok + non200 + errors,
  durationSec,
  requestsPerSec: ok / durationSec,
  p50Ms: percentile(sorted, 50),
  p99Ms: percentile(sorted, 99),
  non2xx: non200,
  errors,
  loadCpuSec: (cpu.user + cpu.system) / 1e6,
  processCpuSec: reaped === null ? null : (own.user + own.system) / 1e6 + reaped,
  chains: spec.refreshTokens.filter((t) => t !== null).length,
  chainsAlive: tokens.filter((t) => t !== null).length,
  refreshTokens: tokens,
  failures,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
