/**
 * What a database error says about the request that caused it, on both engines. Repositories check what
 * they can in the transaction that writes (resources/references.ts); a constraint the database enforces
 * anyway and that a race or an overlooked path still trips is the request's conflict with the data, not a
 * server fault, so the error handler answers it with a 409 instead of a 500 (http/errors.ts).
 */
import { isForeignKeyViolation, isUniqueViolation } from './database.ts';

export type ConstraintViolation =
  /** A unique or primary key already holds this value. */
  | 'unique'
  /** An insert or update names a row that does not exist (any more). */
  | 'missing_reference'
  /** A delete (or key update) would orphan rows that still reference the row. */
  | 'still_referenced'
  /** A foreign key failed, direction unknown: SQLite's error says only "FOREIGN KEY constraint failed". */
  | 'foreign_key'
  /** PostgreSQL aborted the transaction to break a deadlock or a serialization conflict with another. */
  | 'concurrent_change';

// PostgreSQL SQLSTATEs (Appendix A): serialization_failure, deadlock_detected.
const CONCURRENT_CHANGE = new Set(['40001', '40P01']);

/** The kind of constraint violation `error` is, or null for any other error. */
export function constraintViolationOf(error: unknown): ConstraintViolation | null {
  if (error === null || typeof error !== 'object') return null;
  if (isUniqueViolation(error)) return 'unique';
  if (isForeignKeyViolation(error)) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (code !== '23503' || typeof message !== 'string') return 'foreign_key';
    // PostgreSQL's messages name the side: "insert or update on table …" / "update or delete on table …".
    if (message.startsWith('update or delete on table')) return 'still_referenced';
    if (message.startsWith('insert or update on table')) return 'missing_reference';
    return 'foreign_key';
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONCURRENT_CHANGE.has(code)) return 'concurrent_change';
  return null;
}

/** The constraint's name, for a log line (PostgreSQL reports it; never the values, which are user data). */
export function constraintNameOf(error: unknown): string | null {
  const name = (error as { constraint?: unknown } | null)?.constraint;
  return typeof name === 'string' ? name : null;
}
