/**
 * The Security page's mapping from the report's checks (`GET /v1/security/report`, docs/security-report.md)
 * to the reference's best practices and to what the dashboard offers for each key a check lists. Pure: the
 * page renders it, test/security-checks.test.ts holds it against the server's list of checks.
 *
 * The server may add checks ("new checks may be added, existing ids keep meaning"): a check this mapping
 * does not know is still shown with its own title, suggested action and items, just without a button.
 */
import type { CheckStatus, SecurityCheck, ServiceAccountKeyItem, UnusedScopesItem } from '../api/types.ts';
import type { RollPreset } from '../pages/api-keys/RollKeyDialog.tsx';
import { normalize } from './scopes.ts';

export type CheckId = SecurityCheck['id'];

export type PracticeId = 'never_commit' | 'rotate' | 'least_privilege' | 'monitor' | 'revoke_unused';

export interface Practice {
  id: PracticeId;
  /** The reference's words ("Cohera authentication", best practices). */
  title: string;
  detail: string;
}

/** The reference's five practices, in its order. */
export const PRACTICES: readonly Practice[] = [
  {
    id: 'never_commit',
    title: 'Never commit credentials',
    detail: 'Use environment variables or secret managers.',
  },
  {
    id: 'rotate',
    title: 'Rotate keys regularly',
    detail: 'Set expiration dates and rotate keys periodically.',
  },
  {
    id: 'least_privilege',
    title: 'Use least privilege',
    detail: 'Only request scopes your application needs.',
  },
  { id: 'monitor', title: 'Monitor usage', detail: 'Review API key usage in the dashboard.' },
  { id: 'revoke_unused', title: 'Revoke unused keys', detail: 'Delete keys that are no longer needed.' },
];

/** What the page does for an item of a check. */
export type ActionKind = 'set_expiry' | 'roll' | 'narrow_scopes' | 'revoke' | 'delete_service_account_key';

export interface CheckInfo {
  practice: PracticeId;
  action: ActionKind;
  /**
   * What to do, in the dashboard's words and buttons. The report's own `suggested_action` is written for
   * API users (`expires_in_days`, `policy.max_key_lifetime_days`, `POST /v1/…`): shown only for a check
   * this dashboard does not know.
   */
  advice: string;
  /** What to do about one listed item, next to its button. */
  itemAdvice: string;
}

/**
 * Every check the server reports, with the practice it measures and its action. Typed by the SDK's check
 * ids, so `tsc` refuses a missing one; the unit test compares the keys with the server's route schema.
 */
export const CHECKS: Readonly<Record<CheckId, CheckInfo>> = {
  keys_without_expiry: {
    practice: 'rotate',
    action: 'set_expiry',
    advice:
      'Give every key an expiration. “Set an expiration” rolls the key into one that ends in 90 days (or your organization’s maximum); the old key keeps working for the grace period you choose while you deploy the new one.',
    itemAdvice: 'Roll it into a key that expires.',
  },
  keys_older_than_policy: {
    practice: 'rotate',
    action: 'roll',
    advice:
      'Roll each key: the new key keeps the name and scopes, and the old one keeps working for the grace period while you deploy the new one.',
    itemAdvice: 'Roll it, deploy the new key, let the old one end.',
  },
  unused_keys: {
    practice: 'revoke_unused',
    action: 'revoke',
    advice: 'Revoke the keys nothing uses: a key that no longer exists cannot leak. Check its Usage first.',
    itemAdvice: 'Revoke it if nothing needs it.',
  },
  unused_scopes: {
    practice: 'least_privilege',
    action: 'narrow_scopes',
    advice:
      'Narrow each key to the scopes it used: that rolls it into a key holding only those, and the old key keeps working for the grace period. A key that used none of its scopes is better revoked.',
    itemAdvice: 'Narrow it to what it used.',
  },
  admin_keys: {
    practice: 'least_privilege',
    action: 'revoke',
    advice:
      'Keep as few admin keys as you can, each with an expiration and used only to administer Cohera. Give scripts and services keys with only the scopes they need (Create new key on the API keys page), then revoke the admin key.',
    itemAdvice: 'Revoke it unless it administers Cohera.',
  },
  // A leaked key that still works: roll it (the new key replaces it) — Roll and revoke on the API keys page.
  leaked_keys: {
    practice: 'never_commit',
    action: 'roll',
    advice:
      'Whoever found a leaked key can use it: roll it now, deploy the new key, then remove the old one from where it leaked. On the API keys page you choose whether reported keys are revoked at once (the default) or only flagged.',
    itemAdvice: 'Roll it now.',
  },
  service_account_keys_older_than_policy: {
    practice: 'rotate',
    action: 'delete_service_account_key',
    advice:
      'Rotate each key: generate a new key for the account on the Service accounts page, move the service to it, then delete the old key here. Tokens the old key signed stop working at once.',
    itemAdvice: 'Generate a new key, move the service, then delete this one.',
  },
  service_account_keys_without_expiry: {
    practice: 'rotate',
    action: 'delete_service_account_key',
    advice:
      'Give every key an expiration. A service-account key cannot be rolled: generate a new key for the account on the Service accounts page (it proposes 90 days), move the service to it, then delete the old key here. Tokens the old key signed stop working at once.',
    itemAdvice: 'Generate a key that expires, move the service, then delete this one.',
  },
};

/** A check whose items are service-account keys (`ServiceAccountKeyItem`s). */
export type ServiceAccountCheck = Extract<SecurityCheck, { items: ServiceAccountKeyItem[] }>;

/**
 * Whether a check lists service-account keys: those are fixed by a new key, then deleting the old one (a
 * service-account key cannot be rolled), and shown by account rather than by API-key prefix.
 */
export function isServiceAccountCheck(check: SecurityCheck): check is ServiceAccountCheck {
  return checkInfo(check.id)?.action === 'delete_service_account_key';
}

/** The mapping of a check id as the server sent it; undefined for a check newer than this dashboard. */
export function checkInfo(id: string): CheckInfo | undefined {
  return Object.hasOwn(CHECKS, id) ? CHECKS[id as CheckId] : undefined;
}

/** The ids of the checks that measure a practice, in the order of `CHECKS` (the report's order). */
export function checksOf(practice: PracticeId): CheckId[] {
  return (Object.keys(CHECKS) as CheckId[]).filter((id) => CHECKS[id].practice === practice);
}

/** How many checks pass, warn and fail. */
export function summarize(checks: readonly { status: CheckStatus }[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0 };
  for (const check of checks) counts[check.status] += 1;
  return counts;
}

/** The recommended lifetime of a key (the reference's "90 days is a good default"). */
export const RECOMMENDED_LIFETIME_DAYS = 90;

/**
 * The roll preset of "Set an expiration": 90 days, or the organization's maximum key lifetime when that
 * is shorter (the server refuses a roll asking for more).
 */
export function expiryPreset(maxLifetimeDays: number | null): RollPreset {
  const days =
    maxLifetimeDays === null
      ? RECOMMENDED_LIFETIME_DAYS
      : Math.min(RECOMMENDED_LIFETIME_DAYS, maxLifetimeDays);
  return {
    expiresInDays: days,
    reason: `The new key expires in ${days} days; the old one ends after the grace period.`,
  };
}

/** What the roll dialog says of a narrowing roll (its default text says the scopes stay the same). */
function narrowReason(scopes: string): string {
  return `The new key holds only ${scopes}, with the same mode and lifetime; the old one ends after the grace period.`;
}

/** The button of one item: what it does, its words, and its accessible name (which names the key). */
export type ItemAction =
  | { kind: 'roll'; label: string; ariaLabel: string; preset?: RollPreset }
  | { kind: 'revoke'; label: string; ariaLabel: string }
  | { kind: 'delete_service_account_key'; label: string; ariaLabel: string };

/** The item's name as the page shows it: the key's name, or the service account's for its keys. */
export function itemName(item: { name: string } | ServiceAccountKeyItem): string {
  return 'service_account_name' in item ? item.service_account_name : item.name;
}

/**
 * The action for an item of a check, or null for a check this dashboard does not know. An `unused_scopes`
 * item that used none of its scopes (`suggested_scopes: []`) is revoked, as its own `action` says: a roll
 * cannot make a key with no scopes.
 */
export function itemAction(
  check: SecurityCheck,
  item: SecurityCheck['items'][number],
  maxLifetimeDays: number | null = null,
): ItemAction | null {
  const info = checkInfo(check.id);
  if (!info) return null;
  const name = itemName(item);
  switch (info.action) {
    case 'set_expiry':
      return {
        kind: 'roll',
        label: 'Set an expiration',
        ariaLabel: `Set an expiration for ${name}`,
        preset: expiryPreset(maxLifetimeDays),
      };
    case 'roll':
      return { kind: 'roll', label: 'Roll key', ariaLabel: `Roll ${name}` };
    case 'narrow_scopes': {
      const scopes = normalize((item as UnusedScopesItem).suggested_scopes ?? []);
      if (scopes.length === 0) return { kind: 'revoke', label: 'Revoke', ariaLabel: `Revoke ${name}` };
      const list = scopes.join(', ');
      return {
        kind: 'roll',
        label: `Narrow to ${list}`,
        ariaLabel: `Narrow ${name} to ${list}`,
        preset: { scopes, reason: narrowReason(list) },
      };
    }
    case 'revoke':
      return { kind: 'revoke', label: 'Revoke', ariaLabel: `Revoke ${name}` };
    case 'delete_service_account_key':
      return {
        kind: 'delete_service_account_key',
        label: 'Delete key',
        ariaLabel: `Delete key ${item.key_id} of ${name}`,
      };
  }
}

/** "1 day", "102 days". */
export function days(n: number): string {
  return `${n} day${n === 1 ? '' : 's'}`;
}

/** The in-page anchor of a check (the practices list links to it). */
export function checkAnchor(id: string): string {
  return `check-${id}`;
}
