/**
 * What `cohera doctor` reports: one result per item of the reference's security checklist, each with
 * the concrete fix. Results never hold a whole key: keys are shown as prefix…last4 (scan's `redact`).
 */

/** `skip`: the item could not be answered here (no credential, a credential without `admin`, `--offline`). */
export type DoctorStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  /** Stable and machine-readable (docs/cli.md lists them). */
  id: string;
  status: DoctorStatus;
  /** The checklist item, as a sentence. */
  title: string;
  /** What was found, for this project or org. */
  detail: string;
  /** The command(s) to run to fix it; null when there is nothing to do. */
  fix: string | null;
}

export interface DoctorSummary {
  pass: number;
  warn: number;
  fail: number;
  skip: number;
  /** The worst status among the checks that ran (`skip`s aside): `fail` makes the exit status 1. */
  result: 'pass' | 'warn' | 'fail';
}

export interface DoctorReport {
  checks: DoctorCheck[];
  summary: DoctorSummary;
}

export function summarize(checks: DoctorCheck[]): DoctorSummary {
  const summary: DoctorSummary = { pass: 0, warn: 0, fail: 0, skip: 0, result: 'pass' };
  for (const check of checks) summary[check.status]++;
  summary.result = summary.fail > 0 ? 'fail' : summary.warn > 0 ? 'warn' : 'pass';
  return summary;
}

/** `1 key`, `2 keys`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** The first few of a list in words, with how many more: `a, b, c and 4 more`. */
export function listSome(items: string[], shown = 3): string {
  if (items.length <= shown) return items.join(', ');
  return `${items.slice(0, shown).join(', ')} and ${items.length - shown} more`;
}

/** Quotes a path for a shell command when it needs it. */
export function shellQuote(text: string): string {
  return /^[\w./@%+=:,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
