/**
 * `key_rotation` — keys against the org's rotation policy, from the security report:
 * `keys_older_than_policy` and `service_account_keys_older_than_policy` fail (a rule the org set is
 * broken), `keys_without_expiry` and `service_account_keys_without_expiry` warn (a key that lives until
 * someone revokes or deletes it).
 */
import type { SecurityReport } from '../../sdk.ts';
import { type DoctorCheck, listSome, plural } from '../check.ts';
import { createCommand, keyName, reportCheck, worst } from './report.ts';

export const TITLE = 'Keys rotated within the rotation policy';

export function keyRotation(report: SecurityReport): DoctorCheck {
  const days = report.policy.key_rotation_days;
  const old = reportCheck(report, 'keys_older_than_policy');
  const noExpiry = reportCheck(report, 'keys_without_expiry');
  const oldAccounts = reportCheck(report, 'service_account_keys_older_than_policy');
  const accountsNoExpiry = reportCheck(report, 'service_account_keys_without_expiry');
  const details: string[] = [];
  const fixes: string[] = [];
  if (old && old.items.length > 0) {
    details.push(
      `${plural(old.items.length, 'key')} older than ${days} days: ${listSome(old.items.map(keyName))}`,
    );
    fixes.push(
      `\`cohera keys roll ${old.items[0]?.key_id}\` (a new key, same scopes; the old one works 24 h more)`,
    );
  }
  if (oldAccounts && oldAccounts.items.length > 0) {
    const first = oldAccounts.items[0];
    details.push(
      `${plural(oldAccounts.items.length, 'service-account key')} older than ${days} days: ${listSome(
        oldAccounts.items.map((item) => `${item.service_account_name} (${item.key_id})`),
      )}`,
    );
    if (first) {
      fixes.push(
        `\`cohera service-accounts keys create ${first.service_account_id} --out service-account.json ` +
          `--expires-in-days ${days}\`, deploy it, then \`cohera service-accounts keys delete ${first.service_account_id} ${first.key_id}\``,
      );
    }
  }
  if (noExpiry && noExpiry.items.length > 0) {
    details.push(
      `${plural(noExpiry.items.length, 'key')} without expiry: ${listSome(noExpiry.items.map(keyName))}`,
    );
    const first = noExpiry.items[0];
    if (first) {
      fixes.push(
        `\`${createCommand(first, first.scopes)} --expires-in-days ${days}\`, deploy it, then ` +
          `\`cohera keys revoke ${first.key_id}\``,
      );
    }
  }
  if (accountsNoExpiry && accountsNoExpiry.items.length > 0) {
    const first = accountsNoExpiry.items[0];
    details.push(
      `${plural(accountsNoExpiry.items.length, 'service-account key')} without expiry: ${listSome(
        accountsNoExpiry.items.map((item) => `${item.service_account_name} (${item.key_id})`),
      )}`,
    );
    if (first) {
      fixes.push(
        `\`cohera service-accounts keys create ${first.service_account_id} --out service-account.json ` +
          `--expires-in-days ${days}\`, deploy it, then ` +
          `\`cohera service-accounts keys delete ${first.service_account_id} ${first.key_id}\``,
      );
    }
  }
  return {
    id: 'key_rotation',
    status: worst([old, oldAccounts, noExpiry, accountsNoExpiry].map((check) => check?.status ?? 'pass')),
    title: TITLE,
    detail: details.length > 0 ? details.join('; ') : `every key expires within ${days} days of its creation`,
    fix: fixes.length > 0 ? fixes.join('; ') : null,
  };
}
