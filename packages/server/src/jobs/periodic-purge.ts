/**
 * A purge every node runs on an interval (idempotency keys, webhook messages): idempotent deletes, so
 * nodes need no coordination. One run at a time; a failure is logged and the next tick tries again;
 * `stop()` waits for a run in progress, so shutdown never closes the database under a delete.
 */
import type { Logger } from 'pino';
import { logTaskFailure } from '../storage/unavailable.ts';

export interface PeriodicPurge {
  stop(): Promise<void>;
}

/** Runs `purge` (which answers how many rows it deleted) every `everyMs` until `stop()`. */
export function startPeriodicPurge(
  what: string,
  purge: () => Promise<number>,
  log: Pick<Logger, 'debug' | 'error'>,
  everyMs: number,
): PeriodicPurge {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    running ??= purge()
      .then(
        (deleted) => {
          if (deleted > 0) log.debug({ deleted }, `${what} purged`);
        },
        (error: unknown) => logTaskFailure(log, error, `${what} purge failed`),
      )
      .finally(() => {
        running = null;
      });
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
