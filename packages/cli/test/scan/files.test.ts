/**
 * `cohera scan [PATH…]` and `cohera scan -` as a real process: keys in source, .env and minified JSON
 * files with their line:column, look-alikes never, .gitignore honoured inside and outside a git work
 * tree (and --no-ignore), binary files skipped and counted, symlinks out of the tree not followed, a
 * 64 MiB file with keys around a read boundary, stdin, the exit statuses, and reports that never hold a
 * whole key.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CHUNK_SIZE } from '../../src/scan/files.ts';
import { initRepo, key, lookAlikes, scan, scanJson, tempDir } from './support.ts';

const at = (f: { path: string; line: number; column: number }) => `${f.path}:${f.line}:${f.column}`;

describe('cohera scan PATH', () => {
  test('finds keys in source, .env and minified JSON, at the right line and column, and nothing else', async (t) => {
    const dir = tempDir(t);
    const [inSource, inEnv, inJson] = [key(), key('test'), key()];
    mkdirSync(join(dir, 'src'));
    writeFileSync(
      join(dir, 'src/client.ts'),
      `import x from 'y';\n\nconst client = new Cohera({ apiKey: '${inSource}' });\n`,
    );
    writeFileSync(
      join(dir, '.env'),
      `# local settings\nCOHERA_BASE_URL=http://localhost\nCOHERA_API_KEY=${inEnv}\n`,
    );
    const prefix = `{"a":[${'1,'.repeat(100_000)}1],"token":"`;
    writeFileSync(join(dir, 'bundle.min.json'), `${prefix}${inJson}"}`);
    writeFileSync(join(dir, 'alikes.txt'), lookAlikes().join('\n'));
    const report = await scanJson([], { cwd: dir });
    assert.equal(report.run.code, 1);
    assert.deepEqual(report.findings.map(at), [
      '.env:3:16',
      `bundle.min.json:1:${prefix.length + 1}`,
      'src/client.ts:3:38',
    ]);
    assert.deepEqual(
      report.findings.map((f) => [f.mode, f.key, f.prefix, f.last4, f.source, f.commit]),
      [inEnv, inJson, inSource].map((k) => [
        k.slice(3, 7),
        `${k.slice(0, 12)}…${k.slice(-4)}`,
        k.slice(0, 12),
        k.slice(-4),
        'file',
        null,
      ]),
    );
    assert.equal(report.summary.files_scanned, 4);
    assert.equal(report.summary.keys, 3);
    for (const k of [inSource, inEnv, inJson])
      assert.ok(!report.run.stdout.includes(k), 'never the whole key');
  });

  test('text output: one line per finding, redacted, a summary, no colour when not on a terminal', async (t) => {
    const dir = tempDir(t);
    const k = key();
    writeFileSync(join(dir, 'a.txt'), `\n\n   ${k}\n`);
    const run = await scan(['a.txt'], { cwd: dir });
    assert.equal(run.code, 1);
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `a.txt:3:4  ${k.slice(0, 12)}…${k.slice(-4)}`);
    assert.match(lines.at(-1) ?? '', /^1 finding of 1 distinct key in 1 file\.$/);
    assert.ok(!run.stdout.includes(k));
    assert.ok(!run.stdout.includes('\u001b['), 'no ANSI escape');
  });

  test('exit 0 and a clean summary when nothing is found; exactly one JSON document', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.txt'), lookAlikes().join(' '));
    const text = await scan([], { cwd: dir });
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, 'No Cohera API key found in 1 file.\n');
    const json = await scan(['--json'], { cwd: dir });
    assert.equal(json.code, 0);
    assert.equal(json.stdout.trimEnd().split('\n').length, 1);
    const parsed = JSON.parse(json.stdout) as { findings: unknown[]; revoke: unknown };
    assert.deepEqual(parsed.findings, []);
    assert.equal(parsed.revoke, null);
  });

  test('outside git: nested .gitignore files are honoured; --no-ignore scans everything', async (t) => {
    const dir = tempDir(t);
    const [visible, ignoredDir, ignoredNested, unignored] = [key(), key(), key(), key()];
    mkdirSync(join(dir, 'build'));
    mkdirSync(join(dir, 'pkg/cache'), { recursive: true });
    writeFileSync(join(dir, '.gitignore'), 'build/\n*.log\n!keep.log\n');
    writeFileSync(join(dir, 'pkg/.gitignore'), 'cache\n');
    writeFileSync(join(dir, 'visible.txt'), visible);
    writeFileSync(join(dir, 'build/out.js'), ignoredDir);
    writeFileSync(join(dir, 'pkg/cache/data'), ignoredNested);
    writeFileSync(join(dir, 'debug.log'), ignoredDir);
    writeFileSync(join(dir, 'keep.log'), unignored);
    const report = await scanJson([], { cwd: dir });
    assert.deepEqual(
      report.findings.map((f) => f.path),
      ['keep.log', 'visible.txt'],
    );
    const all = await scanJson(['--no-ignore'], { cwd: dir });
    assert.deepEqual(
      all.findings.map((f) => f.path),
      ['build/out.js', 'debug.log', 'keep.log', 'pkg/cache/data', 'visible.txt'],
    );
  });

  test('inside git: git’s own list (tracked and untracked, not ignored); --no-ignore scans ignored files', async (t) => {
    const dir = tempDir(t);
    initRepo(dir);
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, '.gitignore'), 'secrets/\n');
    writeFileSync(join(dir, 'secrets/prod.env'), `KEY=${key()}\n`);
    writeFileSync(join(dir, 'untracked.txt'), key());
    const report = await scanJson([], { cwd: dir });
    assert.deepEqual(
      report.findings.map((f) => f.path),
      ['untracked.txt'],
    );
    const all = await scanJson(['--no-ignore'], { cwd: dir });
    assert.deepEqual(
      all.findings.map((f) => f.path),
      ['secrets/prod.env', 'untracked.txt'],
    );
    // A sub-directory as PATH: paths stay relative to where the command runs.
    const sub = await scanJson(['secrets', '--no-ignore'], { cwd: dir });
    assert.deepEqual(
      sub.findings.map((f) => f.path),
      ['secrets/prod.env'],
    );
  });

  test('skips binary files and says how many; an explicitly named file is scanned', async (t) => {
    const dir = tempDir(t);
    writeFileSync(
      join(dir, 'image.png'),
      Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]), Buffer.from(key())]),
    );
    const run = await scan([], { cwd: dir });
    assert.equal(run.code, 0);
    assert.equal(run.stdout, 'No Cohera API key found in 1 file; 1 binary file skipped.\n');
    const report = await scanJson([], { cwd: dir });
    assert.equal(report.summary.binary_skipped, 1);
  });

  test('does not follow symlinks out of the tree (to a file or a directory)', async (t) => {
    const outside = tempDir(t);
    const dir = tempDir(t);
    writeFileSync(join(outside, 'secret.txt'), key());
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'link.txt'));
    symlinkSync(outside, join(dir, 'linked-dir'));
    writeFileSync(join(dir, 'plain.txt'), 'nothing here');
    const report = await scanJson([], { cwd: dir });
    assert.deepEqual(report.findings, []);
    assert.equal(report.summary.symlinks_skipped, 2);
    // The same inside a git work tree, where git lists an untracked symlink.
    initRepo(dir);
    const inGit = await scanJson([], { cwd: dir });
    assert.deepEqual(inGit.findings, []);
  });

  test('a 64 MiB file: keys across a read boundary and at the very end are found, with their lines', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'big.log');
    // 64-byte lines, so a 4 MiB read ends at a line's end and offsets map to lines by division.
    const block = Buffer.alloc(CHUNK_SIZE, `${'x'.repeat(63)}\n`);
    const [acrossBoundary, atEnd] = [key(), key()];
    const fd = openSync(path, 'w');
    for (let i = 0; i < 16; i++) writeSync(fd, block);
    // The first key straddles the end of the second read; the second ends the file.
    const start = 2 * CHUNK_SIZE - 20;
    writeSync(fd, Buffer.from(` ${acrossBoundary} `), 0, undefined, start - 1);
    const end = 16 * CHUNK_SIZE - atEnd.length;
    writeSync(fd, Buffer.from(` ${atEnd}`), 0, undefined, end - 1);
    closeSync(fd);
    const report = await scanJson([], { cwd: dir });
    const place = (offset: number, lost = 0) =>
      `big.log:${Math.floor(offset / 64) + 1 - lost}:${(offset % 64) + 1}`;
    // The first key overwrote the newline at the end of its line: one line fewer after it.
    assert.deepEqual(report.findings.map(at), [place(start), place(end, 1)]);
  });

  test('reads standard input with "-"', async (t) => {
    const dir = tempDir(t);
    const k = key('test');
    const report = await scanJson(['-'], { cwd: dir, input: `line one\nsecond ${k}\n` });
    assert.deepEqual(
      report.findings.map((f) => [f.path, f.line, f.column, f.source, f.mode]),
      [['-', 2, 8, 'stdin', 'test']],
    );
    const clean = await scan(['-'], { cwd: dir, input: lookAlikes().join('\n') });
    assert.equal(clean.code, 0);
  });

  test('usage errors exit 2 with a sentence', async (t) => {
    const dir = tempDir(t);
    for (const args of [
      ['--format', 'xml'],
      ['--since', 'HEAD'],
      ['--bogus'],
      ['no-such-path'],
      ['--yes'],
      ['--git'],
    ]) {
      const run = await scan(args, { cwd: dir });
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /^cohera scan: \S/);
      assert.equal(run.stdout, '');
    }
  });

  test('--help prints the usage and exits 0', async (t) => {
    const run = await scan(['--help'], { cwd: tempDir(t) });
    assert.equal(run.code, 0);
    assert.match(run.stdout, /cohera scan install-hook/);
  });
});
