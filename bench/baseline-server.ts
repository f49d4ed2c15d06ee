/**
 * The baseline every HTTP row is compared to: a bare Fastify 5 app with one route that returns the same
 * JSON the real server returns for the benchmarked certificate. It does what a plain Fastify route does
 * (return an object, serialized per request), with no authentication, rate limiting, hooks or database.
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
app.get<{ Params: { id: string } }>('/v1/certificates/:id', async () => body);

await app.listen({ port, host: '127.0.0.1' });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
