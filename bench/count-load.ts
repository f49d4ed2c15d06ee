/**
 * The client of the instruction-count mode (bench/instructions.ts): sends exactly `requests` GETs over
 * `concurrency` keep-alive connections (a plain node:http Agent), each request after the previous one on
 * its connection has been answered and read, so the server does the same work in every round. Runs as a
 * process of its own, so that none of its work is counted in the server's. Reads its spec as JSON from
 * BENCH_COUNT_SPEC (the environment, not argv: the headers carry a credential) and prints one JSON line.
 *
 *   BENCH_COUNT_SPEC='{"url":"http://127.0.0.1:8080/health","headers":{},"requests":100,"concurrency":1}' \
 *     node bench/count-load.ts
 */
import { Agent, request } from 'node:http';

export interface CountSpec {
  url: string;
  headers: Record<string, string>;
  requests: number;
  concurrency: number;
}

export interface CountResult {
  requests: number;
  non2xx: number;
  errors: number;
  /** The first answer outside 2xx, for the error message. */
  firstFailure: string | null;
  wallSec: number;
}

/** Under valgrind one request takes milliseconds, a JIT compilation or GC pause seconds. */
const REQUEST_TIMEOUT_MS = 120_000;

function get(
  agent: Agent,
  url: URL,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers, timeout: REQUEST_TIMEOUT_MS }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function count(spec: CountSpec): Promise<CountResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const url = new URL(spec.url);
  const result: CountResult = { requests: 0, non2xx: 0, errors: 0, firstFailure: null, wallSec: 0 };
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < spec.requests) {
      next++;
      try {
        const { status, body } = await get(agent, url, spec.headers);
        result.requests++;
        if (status < 200 || status >= 300) {
          result.non2xx++;
          result.firstFailure ??= `${status} ${body.slice(0, 200)}`;
        }
      } catch (error) {
        result.errors++;
        result.firstFailure ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  result.wallSec = (performance.now() - started) / 1000;
  agent.destroy();
  return result;
}

if (import.meta.main) {
  const spec = JSON.parse(process.env.BENCH_COUNT_SPEC ?? '') as CountSpec;
  process.stdout.write(`${JSON.stringify(await count(spec))}\n`);
}
