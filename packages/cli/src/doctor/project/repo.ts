/**
 * What the project checks need to know about the directory's git repository, asked of git itself once:
 * whether there is one, and which files it tracks (relative to the directory, as `git ls-files` prints
 * them from there).
 */
import { execFile } from 'node:child_process';
import { gitOutput } from '../../scan/git.ts';

export interface Project {
  /** The directory doctor was pointed at (absolute). */
  dir: string;
  /** Whether `dir` is inside a git work tree; the git items warn when it is not. */
  git: boolean;
  /** Tracked files (in the index), relative to `dir` with `/` separators. Empty outside git. */
  tracked: Set<string>;
}

export async function openProject(dir: string): Promise<Project> {
  const inside = await gitOutput(['rev-parse', '--is-inside-work-tree'], dir).catch(() => '');
  if (inside.trim() !== 'true') return { dir, git: false, tracked: new Set() };
  const listed = await gitOutput(['ls-files', '-z', '--cached'], dir);
  return { dir, git: true, tracked: new Set(listed.split('\0').filter((name) => name !== '')) };
}

/**
 * Which of `paths` (relative to `dir`; they need not exist) git ignores, by the repository's ignore rules
 * (.gitignore files, .git/info/exclude, core.excludesFile). `--no-index` asks about the rules only, so a
 * tracked file is answered too (git ignores no tracked file, whatever the rules say).
 */
export function ignoredPaths(dir: string, paths: string[]): Promise<Set<string>> {
  if (paths.length === 0) return Promise.resolve(new Set());
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      ['-c', 'core.quotePath=false', 'check-ignore', '--no-index', '-z', '--stdin'],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (error, stdout, stderr) => {
        // Exit 1: none of them is ignored; anything else non-zero is git failing.
        if (error && error.code !== 1) {
          reject(new Error(stderr.trim().split('\n')[0] || error.message));
          return;
        }
        resolve(new Set(stdout.split('\0').filter((name) => name !== '')));
      },
    );
    child.stdin?.end(`${paths.join('\0')}\0`);
  });
}
