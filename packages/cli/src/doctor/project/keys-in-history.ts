/**
 * `keys_in_git_history` — a key that was ever committed stays readable in the history after the file is
 * changed or deleted, so it counts as exposed (the reference: "Exposed API key — detection: git
 * scanning — mitigation: rotate immediately"). Keys the org has already revoked are harmless there.
 */
import { type Finding, redact } from '../../scan/finding.ts';
import { type DoctorCheck, listSome, plural } from '../check.ts';
import type { KeyIndex } from '../keys.ts';
import type { ProjectData } from './gather.ts';

export const TITLE = 'API keys only in environment variables: none in git history';

function at(finding: Finding): string {
  return `${redact(finding.key)} (${finding.path} in commit ${(finding.commit ?? '').slice(0, 7)})`;
}

export function keysInGitHistory(data: ProjectData, keys: KeyIndex): DoctorCheck {
  if (data.history === null) {
    return {
      id: 'keys_in_git_history',
      status: 'warn',
      title: TITLE,
      detail: 'not a git repository',
      fix: 'git init',
    };
  }
  // One entry per key: the first commit that added it (scan's order is stable).
  const byKey = new Map<string, Finding>();
  for (const finding of data.history) if (!byKey.has(finding.key)) byKey.set(finding.key, finding);
  const live = [...byKey.values()].filter((finding) => !keys.inactive(finding.key));
  const revoked = byKey.size - live.length;
  if (live.length > 0) {
    return {
      id: 'keys_in_git_history',
      status: 'fail',
      title: TITLE,
      detail: `${plural(live.length, 'key')} in git history: ${listSome(live.map(at))}`,
      fix: `roll it: ${keys.rollCommand(live.map((finding) => finding.key))}, then \`cohera scan --git --revoke\``,
    };
  }
  return {
    id: 'keys_in_git_history',
    status: 'pass',
    title: TITLE,
    detail:
      revoked > 0
        ? `only revoked keys in git history (${plural(revoked, 'key')})`
        : 'no Cohera key in any commit',
    fix: null,
  };
}
