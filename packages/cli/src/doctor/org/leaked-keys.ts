/**
 * `leaked_keys` — no key reported leaked is still active (the report's `leaked_keys`: under the org's
 * `notify` leak policy a reported key keeps working until someone acts). The reference: "Exposed API
 * key — mitigation: rotate immediately", so the fix ends the old key at once.
 */
import type { SecurityReport } from '../../sdk.ts';
import { type DoctorCheck, listSome, plural } from '../check.ts';
import { keyName, reportCheck } from './report.ts';

export const TITLE = 'No leaked key still active';

export function leakedKeys(report: SecurityReport): DoctorCheck {
  const leaked = reportCheck(report, 'leaked_keys');
  if (!leaked || leaked.items.length === 0) {
    return {
      id: 'leaked_keys',
      status: 'pass',
      title: TITLE,
      detail: 'no active key was reported leaked',
      fix: null,
    };
  }
  return {
    id: 'leaked_keys',
    status: leaked.status,
    title: TITLE,
    detail: `${plural(leaked.items.length, 'leaked key')} still active: ${listSome(leaked.items.map(keyName))}`,
    fix: leaked.items.map((item) => `\`cohera keys roll ${item.key_id} --grace-period 0\``).join(', '),
  };
}
