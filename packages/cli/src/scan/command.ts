/**
 * `cohera scan` (DESIGN §9.1): finds Cohera API keys by pattern and checksum in files, git history, the
 * staged changes or stdin, reports them redacted, and can hand them to the revoke endpoint. Its arguments
 * are parsed here, so the command works the same whatever parses the rest of the `cohera` command line.
 *
 * Exit status: 0 nothing found, 1 keys found (or --revoke's call failed), 2 usage error or a scan that
 * could not run (not a repository, a path that does not exist).
 */
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { exists, type FileStats, listTargets, scanTargets } from './files.ts';
import { type Finding, redact, sortFindings } from './finding.ts';
import { GitError } from './git.ts';
import { repositoryRoot, scanHistory, scanStaged, UsageProblem } from './history.ts';
import { HookExists, installHook } from './hook.ts';
import { grouped, jsonReport, type RevokeOutcome, type ScanSummary, textReport } from './output.ts';
import { confirm, DEFAULT_BASE_URL, revokeKeys } from './revoke.ts';
import { sarifReport } from './sarif.ts';
import { scanReadable } from './stdin.ts';

export const SCAN_USAGE = `Usage:
  cohera scan [PATH…] [--no-ignore] [--format text|json|sarif] [--revoke [--yes] [--base-url URL]]
  cohera scan -                         scan standard input
  cohera scan --git [--since REV] [REPO]   every commit of every ref (after REV with --since)
  cohera scan --staged [REPO]           the staged changes (what a pre-commit hook checks)
  cohera scan install-hook [--force]    install a pre-commit hook that runs cohera scan --staged

Finds Cohera API keys (ck_live_…, ck_test_…) by their pattern and checksum, so look-alikes are never
reported. Files: PATH defaults to "."; .gitignore is honoured unless --no-ignore; binary files are
skipped; symlinks found inside a directory are not followed.

Options:
  --format FORMAT   text (default), json (one document) or sarif (SARIF 2.1.0, for GitHub code scanning)
  --json            the same as --format json
  --git             scan the history instead of the files; --since REV limits it to commits after REV
  --staged          scan the staged changes instead of the files
  --no-ignore       scan ignored files too
  --revoke          send the keys found to POST /v1/credentials/revoke, after confirmation
  --yes             revoke without asking (needed when not on a terminal)
  --base-url URL    the server for --revoke (default: COHERA_BASE_URL, else ${DEFAULT_BASE_URL})
  -h, --help        this help

Exit status: 0 nothing found, 1 keys found, 2 usage error or the scan could not run.
Keys are shown redacted (prefix…last4); JSON and SARIF never contain a whole key.

Examples:
  cohera scan                                  the files of this directory
  cohera scan --git --format sarif > keys.sarif   the whole history, for GitHub code scanning
  cohera scan --git --revoke --yes             find every key ever committed, and revoke them`;

const HOOK_USAGE = `Usage: cohera scan install-hook [--force]

Installs a pre-commit hook in the repository of the current directory (core.hooksPath is honoured) that
runs \`cohera scan --staged\` and refuses a commit that adds a Cohera API key. An existing hook that
cohera did not install is kept unless --force.`;

export interface ScanIO {
  stdin: Readable & { isTTY?: boolean };
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

class Usage extends Error {}

type Format = 'text' | 'json' | 'sarif';

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      git: { type: 'boolean', default: false },
      since: { type: 'string' },
      staged: { type: 'boolean', default: false },
      format: { type: 'string' },
      json: { type: 'boolean', default: false },
      'no-ignore': { type: 'boolean', default: false },
      revoke: { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      'base-url': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const format = (values.format ?? (values.json ? 'json' : 'text')) as Format;
  if (!['text', 'json', 'sarif'].includes(format)) throw new Usage('--format must be text, json or sarif');
  if (values.json && format !== 'json')
    throw new Usage('--json and --format sarif/text contradict each other');
  if (values.since !== undefined && !values.git) throw new Usage('--since goes with --git');
  if ((values.yes || values['base-url'] !== undefined) && !values.revoke) {
    throw new Usage(`${values.yes ? '--yes' : '--base-url'} goes with --revoke`);
  }
  const history = values.git || values.staged;
  if (history && (positionals.length > 1 || positionals.includes('-'))) {
    throw new Usage('--git and --staged take at most one PATH: the repository (default ".")');
  }
  if (history && values['no-ignore']) throw new Usage('--no-ignore is for files, not --git or --staged');
  if (positionals.filter((p) => p === '-').length > 1)
    throw new Usage('"-" (standard input) can be given once');
  return { values, positionals, format };
}

/** `cohera scan install-hook [--force]`. */
async function runInstallHook(argv: string[], io: ScanIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${HOOK_USAGE}\n`);
    return 0;
  }
  try {
    const path = await installHook(io.cwd, values.force);
    io.stdout.write(`Installed ${path}: every commit now runs cohera scan --staged first.\n`);
    return 0;
  } catch (error) {
    if (error instanceof HookExists) {
      io.stderr.write(`cohera scan install-hook: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

interface Scanned {
  findings: Finding[];
  stats: FileStats;
  commits: number | null;
}

async function scan(options: ReturnType<typeof parse>, io: ScanIO): Promise<Scanned> {
  const { values, positionals } = options;
  const stats: FileStats = { files: 0, binary: 0, symlinks: 0, unreadable: 0 };
  const findings: Finding[] = [];
  let commits: number | null = null;
  if (values.git || values.staged) {
    const dir = positionals[0] ?? '.';
    if (!(await exists(resolve(io.cwd, dir)))) throw new UsageProblem(`${dir}: no such directory`);
    // git finds the repository from any directory in it (and says when there is none): no rev-parse first.
    const root = resolve(io.cwd, dir);
    if (values.git) {
      const progress =
        io.stderr.isTTY === true
          ? (n: number) => io.stderr.write(`\rcohera scan: ${grouped(n)} commit${n === 1 ? '' : 's'} read…`)
          : null;
      const history = await scanHistory(root, values.since, progress);
      if (progress) io.stderr.write('\r\u001b[K');
      // A loop, not push(...): a history can hold more findings than a call takes arguments.
      for (const finding of history.findings) findings.push(finding);
      commits = history.commits;
    }
    if (values.staged) for (const finding of await scanStaged(root)) findings.push(finding);
    return { findings, stats, commits };
  }
  const paths = positionals.length === 0 ? ['.'] : positionals;
  for (const path of paths) {
    if (path !== '-' && !(await exists(resolve(io.cwd, path)))) {
      throw new UsageProblem(`${path}: no such file or directory`);
    }
  }
  const files = paths.filter((path) => path !== '-');
  if (files.length > 0) {
    const result = await scanTargets(await listTargets(files, io.cwd, values['no-ignore']));
    for (const finding of result.findings) findings.push(finding);
    Object.assign(stats, result.stats);
  }
  if (paths.includes('-')) for (const finding of await scanReadable(io.stdin)) findings.push(finding);
  return { findings, stats, commits };
}

async function maybeRevoke(
  findings: Finding[],
  options: ReturnType<typeof parse>,
  io: ScanIO,
): Promise<{ outcome: RevokeOutcome | null; failed: boolean }> {
  const keys = [...new Set(findings.map((finding) => finding.key))];
  if (!options.values.revoke || keys.length === 0) return { outcome: null, failed: false };
  const baseUrl = options.values['base-url'] ?? io.env.COHERA_BASE_URL ?? DEFAULT_BASE_URL;
  if (!options.values.yes) {
    const list = keys.map((key) => `  ${redact(key)}`).join('\n');
    const yes = await confirm(
      `${list}\nRevoke ${keys.length === 1 ? 'this key' : `these ${keys.length} keys`} at ${baseUrl}? [y/N] `,
      io.stdin,
      io.stderr,
    );
    if (!yes) {
      io.stderr.write('cohera scan: nothing revoked.\n');
      return { outcome: null, failed: false };
    }
  }
  try {
    const { base_url, received } = await revokeKeys(keys, baseUrl);
    return { outcome: { base_url, sent: keys.length, received }, failed: false };
  } catch (error) {
    io.stderr.write(`cohera scan: revoking failed: ${(error as Error).message}\n`);
    return { outcome: null, failed: true };
  }
}

/** Runs `cohera scan …` with `argv` after `scan`; returns the exit status. */
export async function runScan(argv: string[], io: ScanIO): Promise<number> {
  try {
    if (argv[0] === 'install-hook') return await runInstallHook(argv.slice(1), io);
    const options = parse(argv);
    if (options.values.help) {
      io.stdout.write(`${SCAN_USAGE}\n`);
      return 0;
    }
    // Refused before scanning: without a terminal nobody can answer the question.
    if (
      options.values.revoke &&
      !options.values.yes &&
      (io.stdin.isTTY !== true || options.positionals.includes('-'))
    ) {
      throw new Usage(
        '--revoke asks for confirmation on a terminal; there is none here, so add --yes to revoke without asking',
      );
    }
    const { findings, stats, commits } = await scan(options, io);
    sortFindings(findings);
    const { outcome, failed } = await maybeRevoke(findings, options, io);
    const summary: ScanSummary = {
      findings: findings.length,
      keys: new Set(findings.map((finding) => finding.key)).size,
      files_scanned: stats.files,
      binary_skipped: stats.binary,
      symlinks_skipped: stats.symlinks,
      unreadable: stats.unreadable,
      commits_scanned: commits,
      staged: options.values.staged,
      stdin: options.positionals.includes('-'),
    };
    if (options.format === 'json') io.stdout.write(jsonReport(findings, summary, outcome));
    else if (options.format === 'sarif') {
      const root = await repositoryRoot(io.cwd).catch(() => io.cwd);
      io.stdout.write(sarifReport(findings, io.cwd, root));
    } else {
      const tty = io.stdout.isTTY === true;
      const color = tty && !io.env.NO_COLOR;
      io.stdout.write(textReport(findings, summary, outcome, { tty, color }));
    }
    return findings.length > 0 || failed ? 1 : 0;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (error instanceof Usage || code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`cohera scan: ${(error as Error).message}\n\n${SCAN_USAGE}\n`);
      return 2;
    }
    if (error instanceof UsageProblem || error instanceof GitError) {
      io.stderr.write(`cohera scan: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}
