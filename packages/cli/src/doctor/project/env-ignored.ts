/**
 * `env_files_ignored` — the checklist's ".env files in .gitignore": every env file (templates such as
 * `.env.example` aside: they are meant to be committed) is ignored by git and not tracked. A tracked one
 * stays tracked whatever .gitignore says, so its fix is `git rm --cached` first. With no env file yet, the
 * question is whether git would ignore a `.env` created here.
 */
import { type DoctorCheck, listSome, plural, shellQuote } from '../check.ts';
import { baseName } from './env-files.ts';
import type { ProjectData } from './gather.ts';

export const TITLE = '.env files in .gitignore';

export function envFilesIgnored(data: ProjectData): DoctorCheck {
  if (!data.project.git) {
    return {
      id: 'env_files_ignored',
      status: 'warn',
      title: TITLE,
      detail: 'not a git repository: nothing keeps env files out of one made here',
      fix: '`git init && echo .env >> .gitignore`',
    };
  }
  const envFiles = data.envFiles.filter((file) => file.kind !== 'template');
  const tracked = envFiles.filter((file) => data.project.tracked.has(file.path));
  const exposed = envFiles.filter(
    (file) => !data.project.tracked.has(file.path) && !data.ignored.has(file.path),
  );
  const fixes: string[] = [];
  for (const file of tracked) {
    const ignore = data.ignored.has(file.path)
      ? ''
      : ` && echo ${shellQuote(baseName(file.path))} >> .gitignore`;
    fixes.push(`\`git rm --cached ${shellQuote(file.path)}${ignore}\``);
  }
  const patterns = [...new Set(exposed.map((file) => baseName(file.path)))];
  for (const pattern of patterns) fixes.push(`\`echo ${shellQuote(pattern)} >> .gitignore\``);
  if (tracked.length > 0 || exposed.length > 0) {
    const parts = [];
    if (tracked.length > 0) parts.push(`tracked by git: ${listSome(tracked.map((file) => file.path))}`);
    if (exposed.length > 0) parts.push(`not ignored: ${listSome(exposed.map((file) => file.path))}`);
    return {
      id: 'env_files_ignored',
      status: 'fail',
      title: TITLE,
      detail: parts.join('; '),
      fix: fixes.join(', '),
    };
  }
  if (envFiles.length > 0) {
    return {
      id: 'env_files_ignored',
      status: 'pass',
      title: TITLE,
      detail: `${plural(envFiles.length, 'env file')}, all ignored by git`,
      fix: null,
    };
  }
  return data.ignored.has('.env')
    ? {
        id: 'env_files_ignored',
        status: 'pass',
        title: TITLE,
        detail: 'no env file; git ignores .env',
        fix: null,
      }
    : {
        id: 'env_files_ignored',
        status: 'warn',
        title: TITLE,
        detail: 'no env file yet, and git would not ignore a .env created here',
        fix: '`echo .env >> .gitignore`',
      };
}
