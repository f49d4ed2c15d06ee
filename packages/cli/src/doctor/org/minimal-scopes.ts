/**
 * `minimal_scopes` — the checklist's "minimal scopes per environment", from the security report's
 * `admin_keys` (a key that can do everything, including making more keys) and `unused_scopes` (scopes a
 * key has not used in 30 days). Both are risks to weigh, so they warn, as in the report.
 */
import type { SecurityReport } from '../../sdk.ts';
import { type DoctorCheck, listSome, plural } from '../check.ts';
import { createCommand, keyName, reportCheck, worst } from './report.ts';

export const TITLE = 'Minimal scopes per environment';

export function minimalScopes(report: SecurityReport): DoctorCheck {
  const admin = reportCheck(report, 'admin_keys');
  const unused = reportCheck(report, 'unused_scopes');
  const details: string[] = [];
  const fixes: string[] = [];
  if (admin && admin.items.length > 0) {
    details.push(`${plural(admin.items.length, 'admin key')}: ${listSome(admin.items.map(keyName))}`);
    fixes.push(
      'give each job a key with only its scopes: `cohera keys create --name NAME --scopes SCOPES`, then ' +
        `\`cohera keys revoke ${admin.items[0]?.key_id}\`; keep one admin key that expires for administration`,
    );
  }
  if (unused && unused.items.length > 0) {
    details.push(
      `${plural(unused.items.length, 'key')} with unused scopes: ${listSome(
        unused.items.map((item) => `${keyName(item)} never used ${item.unused.join(',')}`),
      )}`,
    );
    const first = unused.items[0];
    if (first) {
      fixes.push(
        `replace it with a narrower key: \`${createCommand(first, first.suggested_scopes)}\`, then ` +
          `\`cohera keys revoke ${first.key_id}\``,
      );
    }
  }
  const status = worst([admin?.status ?? 'pass', unused?.status ?? 'pass']);
  return {
    id: 'minimal_scopes',
    status,
    title: TITLE,
    detail: details.length > 0 ? details.join('; ') : 'no admin keys, no unused scopes',
    fix: fixes.length > 0 ? fixes.join('; ') : null,
  };
}
