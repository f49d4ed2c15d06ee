/**
 * `keys_in_tracked_files` — the checklist's "API keys in environment variables": no Cohera key in a file
 * git tracks. A key in a tracked file reaches everyone with the repository (and its history); a key in an
 * untracked file that git does not ignore is one `git add -A` away from it. Env files that git does not
 * track are where keys belong, so they are left to `env_files_ignored`.
 */
import { type Finding, redact } from '../../scan/finding.ts';
import { type DoctorCheck, listSome, plural } from '../check.ts';
import type { KeyIndex } from '../keys.ts';
import { baseName, isEnvFileName } from './env-files.ts';
import type { ProjectData } from './gather.ts';

export const TITLE = 'API keys only in environment variables: none in tracked files';
const MOVE = 'move it into an environment variable (COHERA_API_KEY, or an ignored .env file)';

export function at(finding: Finding): string {
  return `${redact(finding.key)} (${finding.path}:${finding.line})`;
}

export function keysInTrackedFiles(data: ProjectData, keys: KeyIndex): DoctorCheck {
  const { project } = data;
  if (!project.git) {
    const found = data.files.filter((finding) => !isEnvFileName(baseName(finding.path)));
    return {
      id: 'keys_in_tracked_files',
      status: 'warn',
      title: TITLE,
      detail:
        'not a git repository' +
        (found.length > 0 ? `; ${plural(found.length, 'key')} in files: ${listSome(found.map(at))}` : ''),
      fix: found.length > 0 ? MOVE : null,
    };
  }
  const tracked = data.files.filter((finding) => project.tracked.has(finding.path));
  const live = tracked.filter((finding) => !keys.inactive(finding.key));
  const untracked = data.files.filter(
    (finding) => !project.tracked.has(finding.path) && !isEnvFileName(baseName(finding.path)),
  );
  if (live.length > 0) {
    return {
      id: 'keys_in_tracked_files',
      status: 'fail',
      title: TITLE,
      detail: `${plural(live.length, 'key')} in tracked files: ${listSome(live.map(at))}`,
      fix: `${MOVE}, then roll it: ${keys.rollCommand(live.map((finding) => finding.key))}`,
    };
  }
  if (untracked.length > 0 || tracked.length > 0) {
    const parts = [];
    if (tracked.length > 0) parts.push(`${plural(tracked.length, 'revoked key')} left in tracked files`);
    if (untracked.length > 0)
      parts.push(
        `${plural(untracked.length, 'key')} in files git does not ignore yet: ${listSome(untracked.map(at))}`,
      );
    return {
      id: 'keys_in_tracked_files',
      status: 'warn',
      title: TITLE,
      detail: parts.join('; '),
      fix: untracked.length > 0 ? `${MOVE} before it is committed` : 'delete the revoked keys from the files',
    };
  }
  return {
    id: 'keys_in_tracked_files',
    status: 'pass',
    title: TITLE,
    detail: 'no Cohera key in any tracked file',
    fix: null,
  };
}
