/** Reading the security report's checks for the org items. */
import type { SecurityCheck, SecurityReport } from '../../sdk.ts';
import { type DoctorStatus, shellQuote } from '../check.ts';

/** One check of the report by id, typed by it (the report always carries every check). */
export function reportCheck<Id extends SecurityCheck['id']>(
  report: SecurityReport,
  id: Id,
): Extract<SecurityCheck, { id: Id }> | null {
  return (report.checks.find((check) => check.id === id) as Extract<SecurityCheck, { id: Id }>) ?? null;
}

/** A key as lists show it: `ci ck_live_Ab12…WXYZ (key_…)`. */
export function keyName(item: { key_id: string; name: string; prefix: string; last4: string }): string {
  return `${item.name} ${item.prefix}…${item.last4} (${item.key_id})`;
}

const RANK: Record<DoctorStatus, number> = { skip: 0, pass: 1, warn: 2, fail: 3 };

/** The worst of some statuses (`pass` for none). */
export function worst(statuses: DoctorStatus[]): DoctorStatus {
  return statuses.reduce<DoctorStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'pass');
}

/** `cohera keys create` for a key like `item` with `scopes` (a test key stays a test key). */
export function createCommand(item: { name: string; mode: string }, scopes: string[]): string {
  const mode = item.mode === 'test' ? ' --mode test' : '';
  return `cohera keys create --name ${shellQuote(item.name)} --scopes ${shellQuote(scopes.join(','))}${mode}`;
}
