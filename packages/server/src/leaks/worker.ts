/**
 * The leak worker every node runs: it empties the queue the public revoke endpoint fills (queue.ts) and
 * handles each reported key as leaked (handle.ts). It polls every `pollIntervalMs` (250 ms by default, so a
 * report queued on any node is handled well within a second); an idle poll is one indexed read. One run
 * at a time per node; a run takes batches until the queue is empty.
 *
 * Requests never wake it (revoke-route.ts says why): its runs keep their own rhythm, not the reporter's.
 */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/log.ts';
import type { Clock } from '../clock.ts';
import type { InvalidationBus } from '../state/invalidation-bus.ts';
import type { DB } from '../storage/schema.ts';
import { logTaskFailure, type TaskLog } from '../storage/unavailable.ts';
import { afterCommit, applyLeak, type LeakOutcome } from './handle.ts';
import { claimLeakReports, hasLeakReports } from './queue.ts';

export interface LeakWorkerDeps {
  db: Kysely<DB>;
  clock: Clock;
  audit: AuditLog;
  bus: InvalidationBus;
  webhooks: { wake(): void };
  log: TaskLog;
  pollIntervalMs?: number;
  /** Reports handled per transaction (default 100). */
  batchSize?: number;
}

export class LeakWorker {
  readonly #deps: LeakWorkerDeps;
  readonly #batchSize: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  /** A wake-up that arrived during a run: run again right after it. */
  #again = false;
  #stopped = false;

  constructor(deps: LeakWorkerDeps) {
    this.#deps = deps;
    this.#batchSize = deps.batchSize ?? 100;
  }

  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => this.wake(), this.#deps.pollIntervalMs ?? 250);
    this.#timer.unref();
  }

  /** Runs now (or right after the run in progress). Never throws; failures are logged and retried. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.drain()
      .then(
        () => {},
        // Polled every 250 ms: an outage is logged once by the database's availability, not here each time.
        (error: unknown) => logTaskFailure(this.#deps.log, error, 'leak report processing failed'),
      )
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  /** Handles batches until the queue is empty; returns how many reports were taken. */
  async drain(): Promise<number> {
    let taken = 0;
    if (!(await hasLeakReports(this.#deps.db))) return 0;
    while (!this.#stopped) {
      const count = await this.#runBatch();
      taken += count;
      if (count < this.#batchSize) break;
    }
    return taken;
  }

  async #runBatch(): Promise<number> {
    const { db, audit, clock } = this.#deps;
    const now = clock.now();
    let count = 0;
    const outcomes = await db.transaction().execute(async (trx) => {
      const reports = await claimLeakReports(trx, this.#batchSize);
      count = reports.length;
      const results: LeakOutcome[] = [];
      for (const report of reports) {
        results.push(
          await applyLeak(
            trx,
            audit,
            report.key_hash,
            {
              source: 'public',
              url: null,
              request: { ip: report.ip, userAgent: null, requestId: report.request_id },
            },
            now,
          ),
        );
      }
      return results;
    });
    await afterCommit(this.#deps, outcomes);
    return count;
  }

  /** Stops polling and waits for a run in progress (shutdown never closes the database under it). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
