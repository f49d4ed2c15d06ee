/**
 * Micro-benchmark of a credential-cache hit (DESIGN §7: under 5 µs): `ApiKeyVerifier.verify()` over a
 * real SQLite database, warmed once, then timed in rounds of `BENCH_CACHE_ITERATIONS` hits. The baseline,
 * timed in the same process and interleaved round by round, is the least any cache hit can cost:
 * `crypto.hash('sha256', key)` + `Map.get`. Prints one JSON line (a CacheBenchResult).
 */
import { hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertApiKey } from '../packages/server/src/auth/api-keys/repository.ts';
import { ApiKeyVerifier } from '../packages/server/src/auth/api-keys/verifier.ts';
import { systemClock } from '../packages/server/src/clock.ts';
import { insertOrg } from '../packages/server/src/orgs/repository.ts';
import { openDatabase } from '../packages/server/src/storage/database.ts';
import { addMembership, insertUser } from '../packages/server/src/users/repository.ts';
import { generateApiKey } from '../packages/shared/src/index.ts';
import { machineBusySeconds } from './support.ts';

export interface CacheBenchResult {
  iterations: number;
  rounds: number;
  /** Median of the rounds, nanoseconds per operation. */
  verifierNsPerOp: number;
  baselineNsPerOp: number;
  verifierRoundsNs: number[];
  baselineRoundsNs: number[];
  cacheHits: number;
  cacheMisses: number;
  /** CPU other processes used while the rounds ran, in % of one core (high means a noisy result). */
  otherCpuPct: number | null;
}

const iterations = Number(process.env.BENCH_CACHE_ITERATIONS ?? 200_000);
const rounds = Number(process.env.BENCH_CACHE_ROUNDS ?? 5);

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

const dir = mkdtempSync(join(tmpdir(), 'cohera-bench-cache-'));
try {
  const database = await openDatabase({ databaseUrl: null, dataDir: dir });
  try {
    const now = Date.now();
    const org = await insertOrg(database.db, { name: 'Bench', tier: 'enterprise' }, now);
    // A key is bounded by its creator's current role (docs/team.md): its creator must be a member.
    const owner = await insertUser(database.db, { email: 'bench@example.com', passwordHash: 'unused' }, now);
    await addMembership(database.db, { orgId: org.id, userId: owner.id, role: 'owner' }, now);
    const key = generateApiKey('live');
    await insertApiKey(
      database.db,
      { orgId: org.id, mode: 'live' },
      key,
      {
        name: 'bench',
        scopes: ['read:certificates'],
        expiresAt: null,
        rateLimitPerMinute: null,
        createdBy: { kind: 'user', id: owner.id },
      },
      now,
    );
    const verifier = new ApiKeyVerifier(database.db, systemClock);
    const first = await verifier.verify(key);
    if (first.orgId !== org.id) throw new Error('the verifier resolved the key to the wrong org');

    const baselineMap = new Map<string, { orgId: string }>([[hash('sha256', key, 'hex'), { orgId: org.id }]]);
    let sink = 0;

    const timeVerifier = (): number => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) {
        const context = verifier.verify(key);
        if (context instanceof Promise) throw new Error('cache miss inside the timed loop');
        sink += context.scopes.length;
      }
      return Number(process.hrtime.bigint() - start) / iterations;
    };
    const timeBaseline = (): number => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) {
        const entry = baselineMap.get(hash('sha256', key, 'hex'));
        if (entry === undefined) throw new Error('baseline map lost its entry');
        sink += entry.orgId.length;
      }
      return Number(process.hrtime.bigint() - start) / iterations;
    };

    // One untimed round each lets the JIT settle before anything is recorded.
    timeVerifier();
    timeBaseline();
    const hitsBefore = verifier.hits;
    const missesBefore = verifier.misses;
    const verifierRoundsNs: number[] = [];
    const baselineRoundsNs: number[] = [];
    const machineBefore = machineBusySeconds();
    const ownBefore = process.cpuUsage();
    const started = performance.now();
    for (let round = 0; round < rounds; round++) {
      verifierRoundsNs.push(timeVerifier());
      baselineRoundsNs.push(timeBaseline());
    }
    const wallSec = (performance.now() - started) / 1000;
    const own = process.cpuUsage(ownBefore);
    const machineAfter = machineBusySeconds();
    const otherCpuPct =
      machineBefore === null || machineAfter === null
        ? null
        : Math.round(
            (Math.max(0, machineAfter - machineBefore - (own.user + own.system) / 1e6) / wallSec) * 100,
          );
    if (sink === 0) throw new Error('unreachable: keeps the loops from being optimised away');

    const result: CacheBenchResult = {
      iterations,
      rounds,
      verifierNsPerOp: medianOf(verifierRoundsNs),
      baselineNsPerOp: medianOf(baselineRoundsNs),
      verifierRoundsNs,
      baselineRoundsNs,
      cacheHits: verifier.hits - hitsBefore,
      cacheMisses: verifier.misses - missesBefore,
      otherCpuPct,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await database.destroy();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
