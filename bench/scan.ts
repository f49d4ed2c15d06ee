/**
 * `cohera scan` rows of `npm run bench` (DESIGN §7: files within 2× of ripgrep with the same pattern on the
 * same tree; history within 2× of `git log -p --all | rg`). Also runs alone: `node bench/scan.ts`.
 *
 * - files: a generated tree of ≥ 200 MB of text (BENCH_SCAN_MB), in 2,000 files over 40 directories, with
 *   a few real keys and a look-alike (right shape, wrong checksum) every ~20 KB, so both tools have
 *   candidates to check. Each tool runs once to warm the page cache, then BENCH_RUNS times, interleaved;
 *   the medians are compared. rg runs with its defaults (all cores); `cohera scan` is one Node process.
 * - history: a generated repository of ≥ 5,000 commits (BENCH_SCAN_COMMITS), written with `git
 *   fast-import` in a second, each commit changing three files, keys added and later deleted.
 * - this repository's own history, when the bench runs from a git checkout.
 *
 * Both sides are whole commands, process start included, and both write their matches to a pipe that is
 * read and dropped. A row is skipped, with the reason, when rg is not installed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiKeyChecksum, generateApiKey, randomBase62 } from '@cohera/shared';
import { makeTempDir, median, onPath, removeTempDir } from './support.ts';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'packages/cli/bin/cohera.js');
/** The same pattern for rg as `cohera scan` uses before its checksum (API_KEY_PATTERN). */
const PATTERN = '\\bck_(live|test)_[0-9A-Za-z]{38}\\b';

export interface ScanRowReport {
  id: string;
  name: string;
  seconds: number | null;
  baselineName: string;
  baselineSeconds: number | null;
  ratio: number | null;
  budget: { maxRatio: number };
  budgetMet: boolean | null;
  findings: number | null;
  skipped?: string;
}

const envInt = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};

/** Runs a command, drains its stdout, returns the wall-clock seconds and what it printed (up to 1 MiB). */
function timed(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ seconds: number; stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < 1 << 20) stdout += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, stdout, code }),
    );
  });
}

/** A look-alike: the right shape with a checksum that is always wrong. */
function lookAlike(): string {
  const random = randomBase62(32);
  const checksum = apiKeyChecksum(random);
  return `ck_live_${random}${checksum.slice(0, 5)}${checksum.endsWith('0') ? '1' : '0'}`;
}

/** Text of about `bytes` bytes: source-like lines, a look-alike every ~20 KB. */
function textBlock(bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  let i = 0;
  while (size < bytes) {
    const line =
      i % 250 === 0
        ? `  const fixture${i} = '${lookAlike()}'; // not a key: wrong checksum`
        : `  const value${i} = compute(${i}, "${randomBase62(24)}") + offset; // line ${i} of the generated file`;
    lines.push(line);
    size += line.length + 1;
    i++;
  }
  return `${lines.join('\n')}\n`;
}

export function generateTree(dir: string, megabytes: number): number {
  const files = 2000;
  const perFile = Math.ceil((megabytes * 1024 * 1024) / files);
  // A handful of distinct blocks, reused: generating 200 MB of fresh random text would dominate the set-up.
  const blocks = Array.from({ length: 8 }, () => textBlock(perFile));
  let keys = 0;
  for (let f = 0; f < files; f++) {
    const sub = join(dir, `dir${f % 40}`);
    if (f < 40) mkdirSync(sub, { recursive: true });
    let text = blocks[f % blocks.length] as string;
    if (f % 100 === 7) {
      text = `${text}export const LEAKED = '${generateApiKey(f % 200 === 7 ? 'live' : 'test')}';\n`;
      keys++;
    }
    writeFileSync(join(sub, `file${f}.ts`), text);
  }
  return keys;
}

/** A repository of `commits` commits, built with git fast-import: three files changed per commit. */
function generateRepository(dir: string, commits: number): number {
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const parts: Buffer[] = [];
  const data = (text: string) => {
    const bytes = Buffer.from(text);
    parts.push(Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from('\n'));
  };
  const files = Array.from({ length: 60 }, () =>
    Array.from({ length: 80 }, () => `line ${randomBase62(40)}`),
  );
  let keys = 0;
  for (let c = 1; c <= commits; c++) {
    parts.push(
      Buffer.from(
        `commit refs/heads/main\nmark :${c}\ncommitter Bench <bench@example.com> ${1_700_000_000 + c * 60} +0000\n`,
      ),
    );
    data(`change ${c}`);
    if (c > 1) parts.push(Buffer.from(`from :${c - 1}\n`));
    for (let k = 0; k < 3; k++) {
      const index = (c * 3 + k) % files.length;
      const lines = files[index] as string[];
      // Replace a window of 10 lines: 10 removed, 10 added in the diff.
      const start = (c * 7 + k * 13) % (lines.length - 10);
      for (let l = start; l < start + 10; l++) {
        lines[l] =
          l === start && c % 5 === 0 ? `const fixture = '${lookAlike()}';` : `line ${randomBase62(40)} ${c}`;
      }
      if (k === 0 && c % 250 === 0) {
        lines[start] = `API_KEY=${generateApiKey('live')}`; // replaced again by a later commit: in history only
        keys++;
      }
      parts.push(Buffer.from(`M 100644 inline src/file${index}.txt\n`));
      data(`${lines.join('\n')}\n`);
    }
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: Buffer.concat(parts) });
  return keys;
}

async function compare(
  id: string,
  name: string,
  ours: () => Promise<{ seconds: number; stdout: string }>,
  baselineName: string,
  theirs: () => Promise<{ seconds: number }>,
  runs: number,
): Promise<ScanRowReport> {
  await ours();
  await theirs();
  const mine: number[] = [];
  const base: number[] = [];
  let findings: number | null = null;
  for (let r = 0; r < runs; r++) {
    const run = await ours();
    mine.push(run.seconds);
    findings = (JSON.parse(run.stdout) as { summary: { findings: number } }).summary.findings;
    base.push((await theirs()).seconds);
  }
  const seconds = median(mine);
  const baselineSeconds = median(base);
  const ratio = seconds / baselineSeconds;
  return {
    id,
    name,
    seconds,
    baselineName,
    baselineSeconds,
    ratio,
    budget: { maxRatio: 2 },
    budgetMet: ratio <= 2,
    findings,
  };
}

const skipped = (id: string, name: string, baselineName: string, reason: string): ScanRowReport => ({
  id,
  name,
  seconds: null,
  baselineName,
  baselineSeconds: null,
  ratio: null,
  budget: { maxRatio: 2 },
  budgetMet: null,
  findings: null,
  skipped: reason,
});

export async function measureScan(log: (line: string) => void): Promise<ScanRowReport[]> {
  const runs = envInt('BENCH_RUNS', 3);
  const megabytes = envInt('BENCH_SCAN_MB', 200);
  const commits = envInt('BENCH_SCAN_COMMITS', 5000);
  const rg = onPath('rg') ? 'rg' : null;
  const rows: ScanRowReport[] = [];
  const node = process.execPath;
  const temp = makeTempDir('cohera-bench-scan-');
  try {
    const filesName = `cohera scan: ${megabytes} MB of text in 2,000 files`;
    const filesBaseline = `rg '${PATTERN}' (ripgrep, same tree)`;
    const historyName = `cohera scan --git: ${commits.toLocaleString('en-US')} generated commits`;
    const historyBaseline = 'git log -p --all | rg (same pattern)';
    if (!rg) {
      const reason = 'rg (ripgrep) is not installed: apt-get install ripgrep';
      rows.push(skipped('scan-files', filesName, filesBaseline, reason));
      rows.push(skipped('scan-history', historyName, historyBaseline, reason));
      return rows;
    }
    const tree = join(temp, 'tree');
    log(`scan     generating ${megabytes} MB of text`);
    const keys = generateTree(tree, megabytes);
    log(`scan     files: cohera scan against rg (${keys} keys planted)`);
    rows.push(
      await compare(
        'scan-files',
        filesName,
        () => timed(node, [CLI, 'scan', '--json', tree], temp),
        filesBaseline,
        () => timed(rg, ['--no-messages', '-n', '--column', '-o', '-e', PATTERN, tree], temp),
        runs,
      ),
    );
    removeTempDir(temp); // 200 MB less before the history row
    mkdirSync(temp, { recursive: true });

    const repo = join(temp, 'repo');
    log(`scan     generating a repository of ${commits} commits (git fast-import)`);
    generateRepository(repo, commits);
    const pipeline = `git log -p --all --no-color | rg --no-messages -e '${PATTERN}'`;
    log('scan     history: cohera scan --git against git log -p | rg');
    rows.push(
      await compare(
        'scan-history',
        historyName,
        () => timed(node, [CLI, 'scan', '--git', '--json'], repo),
        historyBaseline,
        () => timed('sh', ['-c', pipeline], repo),
        runs,
      ),
    );
    let ownHistory = false;
    try {
      ownHistory =
        execFileSync('git', ['rev-parse', '--is-inside-work-tree'], {
          cwd: ROOT,
          encoding: 'utf8',
        }).trim() === 'true';
    } catch {}
    if (ownHistory) {
      log('scan     this repository’s history');
      rows.push(
        await compare(
          'scan-history-self',
          'cohera scan --git: this repository',
          () => timed(node, [CLI, 'scan', '--git', '--json'], ROOT),
          historyBaseline,
          () => timed('sh', ['-c', pipeline], ROOT),
          runs,
        ),
      );
    }
  } finally {
    removeTempDir(temp);
  }
  return rows;
}

export function scanTable(rows: ScanRowReport[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const lines = ['| cohera scan | s | baseline | baseline s | ratio | budget |', '|---|--:|---|--:|--:|---|'];
  for (const row of rows) {
    if (row.skipped) {
      lines.push(`| ${row.name} | skipped | ${cell(row.baselineName)} | | | ${row.skipped} |`);
      continue;
    }
    const mark = row.budgetMet ? '✓' : '✗';
    lines.push(
      `| ${row.name} (${row.findings} found) | ${row.seconds?.toFixed(2)} | ${cell(row.baselineName)} | ${row.baselineSeconds?.toFixed(2)} | ${row.ratio?.toFixed(2)}× | ≤ ${row.budget.maxRatio}× ${mark} |`,
    );
  }
  return lines.join('\n');
}

if (import.meta.main) {
  const rows = await measureScan((line) => process.stderr.write(`bench: ${line}\n`));
  process.stdout.write(`\n${scanTable(rows)}\n\n`);
}
