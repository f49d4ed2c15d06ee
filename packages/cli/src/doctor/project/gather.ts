/**
 * Everything the project checks look at, read once: the repository, the keys in its files (what
 * `cohera scan` finds), the keys its history added (`cohera scan --git`), and its env files with their
 * keys and whether git ignores them.
 */
import { join } from 'node:path';
import { listTargets, scanTargets } from '../../scan/files.ts';
import type { Finding } from '../../scan/finding.ts';
import { scanHistory } from '../../scan/history.ts';
import { baseName, type EnvFile, envKind, findEnvFiles, isEnvFileName } from './env-files.ts';
import { ignoredPaths, openProject, type Project } from './repo.ts';

export interface ProjectData {
  project: Project;
  /** Keys in the files git lists (tracked, and untracked but not ignored); outside git, every file not ignored. */
  files: Finding[];
  /** Keys added by any commit of any ref; null outside git. */
  history: Finding[] | null;
  envFiles: EnvFile[];
  /** Keys in each env file, by its path. */
  envKeys: Map<string, Finding[]>;
  /** The env files git ignores, and `.env` when git would ignore one there. */
  ignored: Set<string>;
}

export async function gatherProject(dir: string, progress: (text: string) => void): Promise<ProjectData> {
  const project = await openProject(dir);
  progress('doctor: scanning files');
  const { findings: files } = await scanTargets(await listTargets(['.'], dir, false));
  let history: Finding[] | null = null;
  if (project.git) {
    progress('doctor: scanning git history');
    history = (await scanHistory(dir, undefined, null)).findings;
  }
  const envFiles = await findEnvFiles(dir);
  // A tracked env file deleted from the work tree is still in every clone.
  const onDisk = new Set(envFiles.map((file) => file.path));
  for (const path of project.tracked) {
    const name = baseName(path);
    if (isEnvFileName(name) && !onDisk.has(path)) {
      envFiles.push({ path, absolute: join(dir, path), kind: envKind(name) });
    }
  }
  const { findings: inEnv } = await scanTargets(
    envFiles.map((file) => ({ absolute: file.absolute, display: file.path, explicit: false })),
  );
  const envKeys = new Map<string, Finding[]>();
  for (const finding of inEnv) envKeys.set(finding.path, [...(envKeys.get(finding.path) ?? []), finding]);
  const ignored = project.git
    ? await ignoredPaths(dir, ['.env', ...envFiles.map((file) => file.path)])
    : new Set<string>();
  return { project, files, history, envFiles, envKeys, ignored };
}
