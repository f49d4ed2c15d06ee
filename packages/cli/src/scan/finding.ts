/** What `cohera scan` reports, whatever it scanned: one key at one place. The key is never printed whole. */
import { createHash } from 'node:crypto';
import type { Mode } from '@cohera/shared';

export type FindingSource = 'file' | 'stdin' | 'git' | 'staged';

export interface Finding {
  /** The whole key: kept in memory for --revoke, never written out. */
  key: string;
  mode: Mode;
  source: FindingSource;
  /** A file relative to the working directory, a path in the repository (git, staged), or `-` (stdin). */
  path: string;
  line: number;
  /** 1-based, in UTF-16 code units (what editors and SARIF count). */
  column: number;
  /** The full sha of the commit that added it (`--git`), else null. */
  commit: string | null;
}

/** `ck_live_Ab12…WXYZ`: the prefix lists show (12 characters) and the last 4, as the API shows keys. */
export function redact(key: string): string {
  return `${key.slice(0, 12)}…${key.slice(-4)}`;
}

/**
 * SHA-256 of the key, hex: the value Cohera stores and GitHub's secret-scanning feedback names
 * (`token_hash`), so a finding can be matched to a key without showing it. 190 random bits cannot be
 * recovered from their hash.
 */
export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Findings in a stable order: by source, path, commit, line, column. */
export function sortFindings(findings: Finding[]): Finding[] {
  // Plain code-unit order: localeCompare would load ICU's collation (~8 ms) for nothing.
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return findings.sort(
    (a, b) =>
      order(a.source, b.source) ||
      order(a.path, b.path) ||
      order(a.commit ?? '', b.commit ?? '') ||
      a.line - b.line ||
      a.column - b.column,
  );
}
