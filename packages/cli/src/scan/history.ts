/**
 * `--git` (every commit of every ref, or those after `--since REV`) and `--staged` (what the next commit
 * would add): git prints the diffs, streamed, and DiffScanner reads the added lines. `git log -p` is the
 * fast path: git computes the diffs in C, and each added line is read once, in the commit that added it.
 */
import { DiffScanner } from './diff.ts';
import type { Finding } from './finding.ts';
import { GitError, gitOutput, gitStream } from './git.ts';

/** Diff options both modes share: no context, raw bytes (no external driver, no textconv), fixed prefixes. */
const DIFF_OPTIONS = [
  '-U0',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  // Paths from the repository root, whatever diff.relative says and wherever in the tree we run.
  '--no-relative',
  '--src-prefix=a/',
  '--dst-prefix=b/',
];

export class UsageProblem extends Error {}

/** The top of the work tree `cwd` is in; a UsageProblem outside one. */
export async function repositoryRoot(cwd: string): Promise<string> {
  try {
    return (await gitOutput(['rev-parse', '--show-toplevel'], cwd)).trim();
  } catch {
    throw new UsageProblem(`${cwd} is not inside a git work tree (--git and --staged scan a repository)`);
  }
}

/** The full sha of `rev` as a commit, or a UsageProblem naming it. */
async function resolveCommit(rev: string, cwd: string): Promise<string> {
  // A revision that starts with "-" would be read as an option.
  if (rev.startsWith('-')) throw new UsageProblem(`--since needs a revision, not ${JSON.stringify(rev)}`);
  try {
    return (await gitOutput(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], cwd)).trim();
  } catch {
    throw new UsageProblem(`--since ${rev}: no such commit in this repository`);
  }
}

/** Called with the number of commits read so far, a few times a second. */
export type Progress = (commits: number) => void;

async function runDiff(
  args: string[],
  cwd: string,
  progress: Progress | null,
): Promise<{ scanner: DiffScanner }> {
  const child = gitStream(args, cwd);
  const scanner = new DiffScanner();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  let shown = 0;
  const timer = progress ? setInterval(() => progress(scanner.commits), 250) : null;
  try {
    for await (const chunk of child.stdout) scanner.push(chunk as Buffer);
    scanner.end();
    const code = await new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.once('close', resolve);
    });
    if (code !== 0 && /not a git repository/i.test(stderr)) {
      throw new UsageProblem(`${cwd} is not inside a git work tree (--git and --staged scan a repository)`);
    }
    if (code !== 0) throw new GitError(stderr.trim().split('\n')[0] || `git exited with ${code}`);
  } finally {
    if (timer) clearInterval(timer);
  }
  if (progress && scanner.commits !== shown) {
    shown = scanner.commits;
    progress(shown);
  }
  return { scanner };
}

/** Keys added by any commit of any ref (`git log --all`), or only by commits not reachable from `since`. */
export async function scanHistory(
  cwd: string,
  since: string | undefined,
  progress: Progress | null,
): Promise<{ findings: Finding[]; commits: number }> {
  const exclude = since === undefined ? [] : [`^${await resolveCommit(since, cwd)}`];
  const args = ['log', '-p', '--all', ...exclude, '--format=%x01%H', ...DIFF_OPTIONS, '--'];
  const { scanner } = await runDiff(args, cwd, progress);
  const findings = scanner.hits.map((hit): Finding => ({ ...hit, source: 'git', commit: hit.commit }));
  return { findings, commits: scanner.commits };
}

/** Keys the staged changes add (`git diff --cached`), at their line in the staged file. */
export async function scanStaged(cwd: string): Promise<Finding[]> {
  const { scanner } = await runDiff(['diff', '--cached', ...DIFF_OPTIONS, '--'], cwd, null);
  return scanner.hits.map((hit): Finding => ({ ...hit, source: 'staged', commit: null }));
}
