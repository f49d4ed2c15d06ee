/**
 * The Python SDK's own cost per call (issue 18), as micro-benchmark rows of `npm run bench`: it starts the
 * bare Fastify route of baseline-server.ts (core 0) serving the benchmark certificate, then runs
 * bench/sdk-python.py (core 1, Debian's /usr/bin/python3) which times, interleaved round by round, a bare
 * httpx request and the SDK's `client.certificates.retrieve(id)` — in process on a canned response (the
 * SDK's pure overhead) and over loopback to that route — plus token minting. Ratios are to the bare httpx
 * row of the same kind.
 *
 * Alone: `npx node bench/sdk-python.ts` prints the rows as JSON. Skipped, with a note, when
 * /usr/bin/python3 lacks httpx, PyJWT or cryptography.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, makeTempDir, pinningEnabled, removeTempDir, spawnNode, stop } from './support.ts';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

/** The shape of bench/micro.ts's rows (declared there; kept structurally equal here). */
export interface PythonMicroRow {
  id: string;
  name: string;
  nsPerOp: number;
  ratio: number;
  budget: { maxNsPerOp: number } | null;
  budgetMet: boolean | null;
  roundsNs: number[];
}

interface PythonBenchResult {
  python: string;
  httpx: string;
  iterations: number;
  rounds: number;
  nsPerOp: Record<string, number>;
  roundsNs: Record<string, number[]>;
  cpuPct: number | null;
}

/** The certificate the real server returns in bench/fixture.ts's fixture shape (same bytes for both clients). */
const CERTIFICATE = {
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
};

function pythonReady(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import httpx, jwt, cryptography'], { stdio: 'ignore' });
  return probe.status === 0;
}

async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function runPython(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  // The client on core 1, as the load generators are: the route's server has core 0.
  const [command, commandArgs] = pinningEnabled()
    ? ['taskset', ['-c', '1', PYTHON, ...args]]
    : [PYTHON, args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`sdk-python.py exited with ${code}:\n${stderr.trim()}`));
    });
  });
}

export async function measurePythonSdkOverhead(notes: string[]): Promise<PythonMicroRow[]> {
  process.stderr.write('bench: micro    Python SDK client overhead (canned, and loopback to a bare route)\n');
  if (!pythonReady()) {
    notes.push(
      `Python SDK rows skipped: ${PYTHON} lacks httpx, PyJWT or cryptography (Debian: python3-httpx python3-jwt python3-cryptography).`,
    );
    return [];
  }
  const temp = makeTempDir('cohera-bench-python-');
  const bodyFile = join(temp, 'certificate.json');
  writeFileSync(bodyFile, JSON.stringify(CERTIFICATE));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...process.env, BENCH_PORT: String(port), BENCH_BODY_FILE: bodyFile };
  const server = spawnNode(join(BENCH, 'baseline-server.ts'), [], { env, role: 'server', stdout: 'ignore' });
  let result: PythonBenchResult;
  try {
    await waitForHealth(url, 15_000);
    const out = await runPython([join(BENCH, 'sdk-python.py'), '--url', url], env, 300_000);
    result = JSON.parse(out) as PythonBenchResult;
  } finally {
    await stop(server);
    removeTempDir(temp);
  }
  if (result.cpuPct !== null) {
    notes.push(
      `Python SDK rows: Python ${result.python}, httpx ${result.httpx}, ${result.rounds} rounds × ${result.iterations} calls; the client process was on the CPU ${result.cpuPct}% of the time.`,
    );
  }
  const row = (id: string, baselineId: string, name: string): PythonMicroRow => {
    const nsPerOp = result.nsPerOp[id] ?? Number.NaN;
    return {
      id,
      name,
      nsPerOp,
      ratio: nsPerOp / (result.nsPerOp[baselineId] ?? Number.NaN),
      budget: null,
      budgetMet: null,
      roundsNs: result.roundsNs[id] ?? [],
    };
  };
  return [
    row(
      'py-httpx-canned',
      'py-httpx-canned',
      'Python baseline: httpx get + .json() (canned response, no network)',
    ),
    row('py-sdk-canned', 'py-httpx-canned', 'Python SDK: client.certificates.retrieve(id), API key (canned)'),
    row(
      'py-sdk-service-account',
      'py-httpx-canned',
      'Python SDK: the same with a service account (minted token reused)',
    ),
    row(
      'py-sign-per-request',
      'py-httpx-canned',
      'what reuse saves: ServiceAccount.generate_token() (ES256) per call',
    ),
    row(
      'py-httpx-local',
      'py-httpx-local',
      'Python baseline: httpx get + .json() over loopback to a bare Fastify route',
    ),
    row(
      'py-sdk-local',
      'py-httpx-local',
      'Python SDK: client.certificates.retrieve(id) over loopback to the same route',
    ),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const notes: string[] = [];
  const rows = await measurePythonSdkOverhead(notes);
  process.stdout.write(`${JSON.stringify({ rows, notes }, null, 2)}\n`);
}
