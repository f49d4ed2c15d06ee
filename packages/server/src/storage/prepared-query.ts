/**
 * Queries on a hot path whose SQL is built by Kysely once per dialect and then run with new parameters.
 * Building and compiling a query through the builder costs 15–50 µs (an upsert with its conflict clause the
 * most), as much as running it on SQLite; the OAuth token endpoint makes several per token. The statement
 * text is the same every time, so it is compiled on first use and the parameters are bound directly after.
 *
 * The builder is given the parameters it must place, and every one of them must come out of compilation
 * as exactly one bound parameter, in the order given (checked on first use, so a query that inlines,
 * repeats or reorders a value fails at once instead of binding the wrong value later). Constants belong in
 * the parameter list too, since Kysely binds them as parameters.
 */
import { type Compilable, CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { DB } from './schema.ts';

type Executor = Kysely<DB> | Transaction<DB>;

export interface PreparedQuery<P extends readonly unknown[], R> {
  /** All rows. */
  execute(db: Executor, ...params: P): Promise<R[]>;
  /** The first row, or undefined. */
  first(db: Executor, ...params: P): Promise<R | undefined>;
  /** Rows changed by an insert, update or delete. */
  changes(db: Executor, ...params: P): Promise<bigint>;
}

export function preparedQuery<P extends readonly unknown[], R>(
  build: (db: Executor, ...params: P) => Compilable<R>,
): PreparedQuery<P, R> {
  // Keyed by the dialect's adapter class: SQLite and PostgreSQL differ in placeholders and quoting.
  const texts = new Map<unknown, string>();
  const run = (db: Executor, params: P) => {
    const dialect = db.getExecutor().adapter.constructor;
    let text = texts.get(dialect);
    if (text === undefined) {
      const compiled = build(db, ...params).compile();
      const bound = compiled.parameters;
      if (bound.length !== params.length || bound.some((value, i) => value !== params[i])) {
        throw new Error(`prepared query binds other parameters than it is given: ${compiled.sql}`);
      }
      text = compiled.sql;
      texts.set(dialect, text);
    }
    return db.executeQuery<R>(CompiledQuery.raw(text, params as unknown as unknown[]));
  };
  return {
    execute: async (db, ...params) => (await run(db, params)).rows,
    first: async (db, ...params) => (await run(db, params)).rows[0],
    changes: async (db, ...params) => {
      const result = await run(db, params);
      return result.numAffectedRows ?? 0n;
    },
  };
}
