/**
 * Group commit: the writes requested in one event-loop turn share one transaction. Each write is still its
 * own statement with its own result; what is shared is the commit, and with it the pages both wrote (an
 * index's last page, a table's): SQLite writes each changed page to its log once per transaction, and
 * PostgreSQL flushes its log once per commit. Measured on SQLite with the token endpoint's two writes per
 * grant (an insert and a conditional update of oauth_artifacts): 104 µs a grant one by one, 64 µs with five
 * grants to a transaction; the token endpoint under 20 concurrent refresh chains went from about 1,100–1,330
 * to 1,450–1,790 tokens/s, its system time per token from ~110 to ~65 µs.
 *
 * A write resolves only once its transaction committed, so a caller's guarantees are those of its statement
 * run alone: when it resolves, what it wrote is durable and visible to every later read. A write waits one
 * `setImmediate` for its turn's others; a lone write (the common case on a quiet server) then runs as it
 * always did, outside any transaction.
 *
 * When the transaction fails, every write in it fails with that error: none of them was committed, and none
 * is retried on its own, since a commit whose answer was lost (a dropped connection) may have happened,
 * and a conditional write run again would then see its own first run as a rival's.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from './schema.ts';

export type Write<T> = (db: Kysely<DB> | Transaction<DB>) => Promise<T>;

interface Pending {
  write: Write<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  readonly #db: Kysely<DB>;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Runs `write` with the writes of this event-loop turn; resolves with its result once committed. */
  run<T>(write: Write<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // After this turn's I/O callbacks: every request that arrived with this one has queued its write.
        setImmediate(this.#flush);
      }
    });
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    const only = batch.length === 1 ? batch[0] : undefined;
    if (only) {
      only.write(this.#db).then(only.resolve, only.reject);
      return;
    }
    const results: unknown[] = [];
    this.#db
      .transaction()
      .execute(async (trx) => {
        for (const pending of batch) results.push(await pending.write(trx));
      })
      .then(
        () => {
          for (let i = 0; i < batch.length; i++) batch[i]?.resolve(results[i]);
        },
        (error: unknown) => {
          for (const pending of batch) pending.reject(error);
        },
      );
  };
}
