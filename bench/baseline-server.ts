/**
 * The baseline every HTTP row is compared to: a bare Fastify 5 app with one route that returns the same
 * JSON the real server returns for the benchmarked certificate. It does what a plain Fastify route does
 * (return an object, serialized per request), with no authentication, rate limiting, hooks or database.
 *
 * With BENCH_BASELINE_HEADERS=1 it is the yardstick row `baseline-headers`: the same route also setting the
 * seven headers the contract puts on every authenticated answer (X-Request-Id, X-Content-Type-Options, the
 * three X-RateLimit-* and the IETF RateLimit-Policy and RateLimit fields), their values changing per request
 * as ours do, with `reply.header` as a Fastify app would. What those headers alone cost a bare route, so the
 * API-key row's gap can be read against the part of it no implementation of the contract avoids.
 *
 *   BENCH_PORT=… BENCH_BODY_FILE=certificate.json node bench/baseline-server.ts
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const port = Number(process.env.BENCH_PORT);
const bodyFile = process.env.BENCH_BODY_FILE;
if (!Number.isInteger(port) || port < 1 || !bodyFile) {
  process.stderr.write('baseline-server: set BENCH_PORT and BENCH_BODY_FILE\n');
  process.exit(2);
}

const body: unknown = JSON.parse(readFileSync(bodyFile, 'utf8'));
const app = Fastify({ logger: false });

app.get('/health', async () => ({ status: 'ok' }));
if (process.env.BENCH_BASELINE_HEADERS === '1') {
  const limit = 600;
  let served = 0;
  app.get<{ Params: { id: string } }>('/v1/certificates/:id', async (_request, reply) => {
    served++;
    const remaining = limit - (served % limit);
    const now = Date.now() / 1000;
    const minuteReset = Math.ceil(now / 60) * 60;
    const dayReset = Math.ceil(now / 86_400) * 86_400;
    reply.header('x-request-id', `req_${served.toString(16).padStart(20, '0')}`);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-ratelimit-limit', `${limit}`);
    reply.header('x-ratelimit-remaining', `${remaining}`);
    reply.header('x-ratelimit-reset', `${minuteReset}`);
    reply.header('ratelimit-policy', `"minute";q=${limit};w=60, "day";q=50000;w=86400`);
    reply.header(
      'ratelimit',
      `"minute";r=${remaining};t=${Math.ceil(minuteReset - now)}, "day";r=${remaining};t=${Math.ceil(dayReset - now)}`,
    );
    return body;
  });
} else {
  app.get<{ Params: { id: string } }>('/v1/certificates/:id', async () => body);
}

await app.listen({ port, host: '127.0.0.1' });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
