/**
 * `keys_per_environment` — the checklist's "different keys for dev/staging/prod": a development env file
 * (`.env`, `.env.local`, `.env.development`, `.env.test`) holds no live key (development runs with test
 * keys, which never touch live data: a leak from a laptop then costs nothing), and no key is shared by two
 * env files (one environment's leak must not open another; each can be rolled on its own).
 */
import { type Finding, redact } from '../../scan/finding.ts';
import { type DoctorCheck, listSome, plural } from '../check.ts';
import type { ProjectData } from './gather.ts';

export const TITLE = 'Different keys for dev/staging/prod';

export function keysPerEnvironment(data: ProjectData): DoctorCheck {
  const failures: string[] = [];
  const warnings: string[] = [];
  const fixes: string[] = [];
  const kindOf = new Map(data.envFiles.map((file) => [file.path, file.kind]));
  const filesOfKey = new Map<string, string[]>();
  for (const [path, found] of data.envKeys) {
    const kind = kindOf.get(path);
    if (kind === 'template') continue;
    for (const key of new Set(found.map((finding: Finding) => finding.key))) {
      filesOfKey.set(key, [...(filesOfKey.get(key) ?? []), path]);
    }
    const live = found.filter((finding) => finding.mode === 'live');
    if (kind === 'development' && live.length > 0) {
      failures.push(
        `live key ${listSome(live.map((finding) => redact(finding.key)))} in ${path}, a development file`,
      );
    }
    const test = found.filter((finding) => finding.mode === 'test');
    if (kind === 'production' && test.length > 0) {
      warnings.push(
        `test key ${listSome(test.map((finding) => redact(finding.key)))} in ${path}, a production file`,
      );
    }
  }
  if (failures.length > 0) {
    fixes.push(
      'use a test key in development: `cohera keys create --name development --scopes SCOPES --mode test`, ' +
        "and keep live keys in production's environment only",
    );
  }
  const shared = [...filesOfKey].filter(([, paths]) => paths.length > 1);
  for (const [key, paths] of shared) warnings.push(`${redact(key)} is in ${paths.join(' and ')}`);
  if (shared.length > 0) {
    fixes.push('give each environment its own key: `cohera keys create --name ENVIRONMENT --scopes SCOPES`');
  }
  if (warnings.some((warning) => warning.startsWith('test key'))) {
    fixes.push('production runs with a live key: `cohera keys create --name production --scopes SCOPES`');
  }
  if (failures.length > 0 || warnings.length > 0) {
    return {
      id: 'keys_per_environment',
      status: failures.length > 0 ? 'fail' : 'warn',
      title: TITLE,
      detail: [...failures, ...warnings].join('; '),
      fix: fixes.join('; '),
    };
  }
  const withKeys = [...data.envKeys.keys()].filter((path) => kindOf.get(path) !== 'template').length;
  return {
    id: 'keys_per_environment',
    status: 'pass',
    title: TITLE,
    detail:
      withKeys === 0
        ? 'no Cohera key in any env file'
        : `${plural(withKeys, 'env file')} with keys, none shared and no live key in development`,
    fix: null,
  };
}
