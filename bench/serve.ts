/**
 * The bench's servers, kept running for a person: the fixture is set up as `npm run bench` sets it up,
 * the embedded server and the servers BENCH_SERVE names start, and they stay up until Ctrl-C, for the
 * tools a benchmark cannot run for you (wrk by hand, `strace -c -f -p`, `perf`, the inspector's CPU
 * profiler through `kill -USR1`). What a tool needs (addresses, pids, the data dir, the API key, the
 * service-account token, the OAuth app and its refresh tokens) is written to bench/results/serve.json,
 * readable by its owner only; the terminal shows addresses and pids, never a credential.
 *
 *   BENCH_SERVE=baseline,audit-all npm run bench:serve
 *   BENCH_SERVE=token-endpoint BENCH_SERVE_OAUTH=1 npm run bench:serve   (with the refresh-token chains)
 *
 * Server names are those of bench/rows.ts (SERVERS). Ctrl-C stops every server and removes the data.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setUp } from './fixture.ts';
import { SERVERS } from './rows.ts';
import { plainLaunch, type Target } from './runner.ts';
import { BENCH } from './settings.ts';
import { installCleanupHandlers, makeTempDir } from './support.ts';

installCleanupHandlers();
const names = (process.env.BENCH_SERVE ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter((name) => name !== '' && name !== 'embedded');
const unknown = names.filter((name) => !(name in SERVERS));
if (unknown.length > 0) {
  process.stderr.write(
    `bench:serve: no server named ${unknown.join(', ')}; BENCH_SERVE takes ${Object.keys(SERVERS).join(', ')}\n`,
  );
  process.exit(2);
}

const temp = makeTempDir('cohera-serve-');
const dataDir = join(temp, 'data');
process.stderr.write('bench:serve: setting up the fixture (bootstrap, data, service account, OAuth app)\n');
const { fixture, embedded } = await setUp(dataDir, { oauthFlows: process.env.BENCH_SERVE_OAUTH === '1' });
const targets: Record<string, Target> = { embedded };
for (const name of names) {
  const spec = SERVERS[name];
  if (spec) targets[name] = await spec.start(fixture, plainLaunch);
}

const servers = Object.fromEntries(
  Object.entries(targets).map(([name, target]) => [
    name,
    { url: target.url, pid: target.server.child.pid ?? null },
  ]),
);
const results = join(BENCH, 'results');
mkdirSync(results, { recursive: true });
const file = join(results, 'serve.json');
writeFileSync(file, `${JSON.stringify({ servers, dataDir, fixture }, null, 2)}\n`, { mode: 0o600 });
// An older file keeps its mode on overwrite: it holds credentials, so it is made the owner's only.
chmodSync(file, 0o600);

for (const [name, server] of Object.entries(servers)) {
  process.stderr.write(`bench:serve: ${name.padEnd(16)} ${server.url}  pid ${server.pid ?? '?'}\n`);
}
process.stderr.write(
  `bench:serve: credentials and paths in ${file} (e.g. jq -r .fixture.apiKey); Ctrl-C stops everything\n`,
);
// Kept alive until a signal: installCleanupHandlers stops the servers and removes the data dir.
setInterval(() => {}, 1 << 30);
