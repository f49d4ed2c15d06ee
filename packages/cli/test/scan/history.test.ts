/**
 * `cohera scan --git`, `--staged` and `install-hook` in temporary repositories: keys in files deleted by
 * later commits and on other branches, each reported once in the commit that added it, `--since`, the
 * staged changes with the line in the staged file, and a pre-commit hook that refuses a commit adding a
 * key (and is not installed over someone else's hook without --force; core.hooksPath is honoured).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cleanEnv, git, initRepo, key, lookAlikes, scan, scanJson, tempDir } from './support.ts';

function commit(dir: string, message: string): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--no-verify', '-m', message);
  return git(dir, 'rev-parse', 'HEAD').trim();
}

describe('cohera scan --git', () => {
  test('finds keys in every commit of every ref, including files deleted later, once each', async (t) => {
    const dir = tempDir(t);
    initRepo(dir);
    const [deleted, onBranch, kept, later] = [key(), key('test'), key(), key()];
    writeFileSync(join(dir, 'README.md'), '# project\n');
    const first = commit(dir, 'start');
    writeFileSync(join(dir, 'config.json'), `{\n  "name": "x",\n  "key": "${deleted}"\n}\n`);
    writeFileSync(join(dir, 'alikes.txt'), `${lookAlikes().join('\n')}\n`);
    const added = commit(dir, 'add config');
    git(dir, 'rm', '-q', 'config.json');
    commit(dir, 'remove config');
    git(dir, 'checkout', '-q', '-b', 'feature');
    writeFileSync(join(dir, 'feature.env'), `A=1\nKEY=${onBranch}\n`);
    const branchCommit = commit(dir, 'feature');
    git(dir, 'checkout', '-q', 'main');
    writeFileSync(join(dir, 'README.md'), `# project\n\nkey: ${kept}\n`);
    const keptCommit = commit(dir, 'readme');
    // A line inserted above the key: git shows only the new lines, so the key is not reported again.
    writeFileSync(join(dir, 'README.md'), `# project\n\nmore\nkey: ${kept}\n${later}\n`);
    const laterCommit = commit(dir, 'more');

    const report = await scanJson(['--git'], { cwd: dir });
    assert.equal(report.run.code, 1);
    const rows = report.findings.map((f) => [f.path, f.line, f.column, f.commit, f.commit_short, f.source]);
    assert.deepEqual(
      rows.sort(),
      [
        ['README.md', 3, 6, keptCommit, keptCommit.slice(0, 7), 'git'],
        ['README.md', 5, 1, laterCommit, laterCommit.slice(0, 7), 'git'],
        ['config.json', 3, 11, added, added.slice(0, 7), 'git'],
        ['feature.env', 2, 5, branchCommit, branchCommit.slice(0, 7), 'git'],
      ].sort(),
    );
    assert.equal(report.summary.commits_scanned, 6);
    for (const k of [deleted, onBranch, kept, later]) assert.ok(!report.run.stdout.includes(k));

    const text = await scan(['--git'], { cwd: dir });
    assert.ok(
      text.stdout.includes(
        `config.json:3:11  ${deleted.slice(0, 12)}…${deleted.slice(-4)}  (commit ${added.slice(0, 7)})`,
      ),
    );
    assert.equal(text.stderr, '', 'no progress when stderr is not a terminal');

    // --since: only the commits after it (on every ref).
    const since = await scanJson(['--git', '--since', branchCommit], { cwd: dir });
    assert.deepEqual(since.findings.map((f) => f.commit).sort(), [keptCommit, laterCommit].sort());
    const sinceFirst = await scanJson(['--git', '--since', first], { cwd: dir });
    assert.equal(sinceFirst.findings.length, 4);
  });

  test('exit 0 on a clean history; 2 outside a repository or with an unknown --since', async (t) => {
    const dir = tempDir(t);
    initRepo(dir);
    writeFileSync(join(dir, 'a.txt'), lookAlikes().join('\n'));
    commit(dir, 'clean');
    const clean = await scan(['--git'], { cwd: dir });
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(clean.stdout, 'No Cohera API key found in 1 commit.\n');
    const unknown = await scan(['--git', '--since', 'no-such-rev'], { cwd: dir });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no such commit/);
    const option = await scan(['--git', '--since', '--all'], { cwd: dir });
    assert.equal(option.code, 2);
    const outside = await scan(['--git'], { cwd: tempDir(t) });
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /not inside a git work tree/);
  });
});

describe('cohera scan --staged', () => {
  test('reports keys the staged changes add, at their line in the staged file; not unstaged ones', async (t) => {
    const dir = tempDir(t);
    initRepo(dir);
    const [old, staged, unstaged] = [key(), key(), key()];
    writeFileSync(join(dir, 'app.env'), `A=1\nOLD=${old}\n`);
    commit(dir, 'old key');
    writeFileSync(join(dir, 'app.env'), `A=1\nB=2\nC=3\nOLD=${old}\nNEW=${staged}\n`);
    git(dir, 'add', 'app.env');
    writeFileSync(join(dir, 'notes.txt'), unstaged);
    const report = await scanJson(['--staged'], { cwd: dir });
    assert.equal(report.run.code, 1);
    assert.deepEqual(
      report.findings.map((f) => [f.path, f.line, f.column, f.source, f.commit]),
      [['app.env', 5, 5, 'staged', null]],
    );
    // From a sub-directory too: the repository is the one the directory is in.
    mkdirSync(join(dir, 'sub'));
    const fromSub = await scanJson(['--staged'], { cwd: join(dir, 'sub') });
    assert.equal(fromSub.findings.length, 1);
    git(dir, 'reset', '-q');
    const none = await scan(['--staged'], { cwd: dir });
    assert.equal(none.code, 0);
  });
});

describe('cohera scan install-hook', () => {
  const tryCommit = (dir: string) =>
    spawnSync('git', ['commit', '-q', '-m', 'try'], { cwd: dir, env: cleanEnv(), encoding: 'utf8' });

  test('installs a pre-commit hook that refuses a commit adding a key and lets a clean one through', async (t) => {
    const dir = tempDir(t);
    initRepo(dir);
    const run = await scan(['install-hook'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    const hook = join(dir, '.git/hooks/pre-commit');
    assert.ok(statSync(hook).mode & 0o100, 'executable');
    const k = key();
    writeFileSync(join(dir, 'settings.py'), `API_KEY = "${k}"\n`);
    git(dir, 'add', 'settings.py');
    const refused = tryCommit(dir);
    assert.notEqual(refused.status, 0, 'the commit is refused');
    assert.match(refused.stdout + refused.stderr, /settings\.py:1:12/);
    assert.ok(!(refused.stdout + refused.stderr).includes(k));
    assert.throws(() => git(dir, 'rev-parse', '--verify', '-q', 'HEAD'), 'no commit was made');
    writeFileSync(join(dir, 'settings.py'), 'API_KEY = os.environ["COHERA_API_KEY"]\n');
    git(dir, 'add', 'settings.py');
    const accepted = tryCommit(dir);
    assert.equal(accepted.status, 0, accepted.stderr);
    // Installing again replaces our own hook without --force.
    assert.equal((await scan(['install-hook'], { cwd: dir })).code, 0);
  });

  test('refuses to replace a hook it did not install, unless --force', async (t) => {
    const dir = tempDir(t);
    initRepo(dir);
    const hook = join(dir, '.git/hooks/pre-commit');
    mkdirSync(join(dir, '.git/hooks'), { recursive: true });
    writeFileSync(hook, '#!/bin/sh\necho mine\n', { mode: 0o755 });
    const refused = await scan(['install-hook'], { cwd: dir });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already exists .* --force/);
    assert.equal(readFileSync(hook, 'utf8'), '#!/bin/sh\necho mine\n');
    const forced = await scan(['install-hook', '--force'], { cwd: dir });
    assert.equal(forced.code, 0);
    assert.match(readFileSync(hook, 'utf8'), /scan --staged/);
  });

  test('honours core.hooksPath', async (t) => {
    const dir = tempDir(t);
    initRepo(dir);
    git(dir, 'config', 'core.hooksPath', 'tools/hooks');
    const run = await scan(['install-hook'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(existsSync(join(dir, 'tools/hooks/pre-commit')));
    assert.ok(!existsSync(join(dir, '.git/hooks/pre-commit')));
    writeFileSync(join(dir, 'x.txt'), key('test'));
    git(dir, 'add', 'x.txt');
    assert.notEqual(tryCommit(dir).status, 0);
  });
});
