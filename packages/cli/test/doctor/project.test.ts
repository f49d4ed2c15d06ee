/**
 * `cohera doctor DIR` on fixture repositories (issue 19 item 4): a clean project passes every project item;
 * one fixture fails each item; `--json` is one document; exit 1 on a fail only; no whole key in any output.
 * These run without a server (`--offline`, or no credential): the org items are skipped, the project ones
 * still answered.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  byId,
  cleanRepo,
  doctor,
  doctorJson,
  ESC,
  generateKey,
  git,
  initRepo,
  ORG_IDS,
  PROJECT_IDS,
  statuses,
  tempDir,
  write,
} from './support.ts';

const ALL_PASS = Object.fromEntries(PROJECT_IDS.map((id) => [id, 'pass']));

describe('cohera doctor: project items', () => {
  test('a clean project passes every project item; --json is one document; exit 0', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    const report = await doctorJson([dir, '--offline'], { cwd: dir });
    assert.equal(report.run.code, 0, report.run.stderr);
    assert.deepEqual(statuses(report), ALL_PASS);
    assert.deepEqual(
      report.checks.map((check) => check.id),
      [...PROJECT_IDS, ...ORG_IDS],
    );
    for (const check of report.checks) {
      assert.deepEqual(Object.keys(check).sort(), ['detail', 'fix', 'id', 'status', 'title']);
    }
    assert.deepEqual(report.summary, { pass: 4, warn: 0, fail: 0, skip: 5, result: 'pass' });
    for (const id of ORG_IDS) assert.equal(byId(report)[id]?.status, 'skip');
  });

  test('people get one line per item, no banner and no colour off a terminal', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    const run = await doctor(['--offline'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes(ESC), 'no escape codes');
    const lines = run.stdout.trimEnd().split('\n');
    // 9 items and the summary.
    assert.equal(lines.length, 10, run.stdout);
    for (const id of [...PROJECT_IDS, ...ORG_IDS]) {
      assert.equal(lines.filter((line) => line.includes(`[${id}]`)).length, 1, id);
    }
    assert.match(lines[0] ?? '', /^PASS /);
    assert.match(lines.at(-1) ?? '', /4 passed, 0 warned, 0 failed, 5 skipped/);
  });

  test('a tracked .env fails env_files_ignored with `git rm --cached`', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    write(dir, 'config/.env', 'DEBUG=1\n');
    git(dir, 'add', '-f', 'config/.env');
    git(dir, 'commit', '-q', '-m', 'oops');
    const report = await doctorJson([dir, '--offline'], { cwd: dir });
    assert.equal(report.run.code, 1);
    assert.deepEqual(statuses(report), { ...ALL_PASS, env_files_ignored: 'fail' });
    const check = byId(report).env_files_ignored;
    assert.match(check?.detail ?? '', /tracked by git: config\/\.env/);
    // Already matched by .gitignore's `.env*`: only untracking is needed.
    assert.equal(check?.fix, '`git rm --cached config/.env`');

    // Deleted from the work tree but still tracked: still in every clone.
    rmSync(join(dir, 'config/.env'));
    const deleted = await doctorJson([dir, '--offline'], { cwd: dir });
    assert.equal(deleted.run.code, 1);
    assert.match(byId(deleted).env_files_ignored?.detail ?? '', /tracked by git: config\/\.env/);
  });

  test('a .env that git does not ignore fails with `echo .env >> .gitignore`', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    initRepo(dir);
    write(dir, '.env', `COHERA_API_KEY=${generateKey('test')}\n`);
    write(dir, 'README.md', 'hello\n');
    git(dir, 'add', 'README.md');
    git(dir, 'commit', '-q', '-m', 'start');
    const report = await doctorJson([dir, '--offline'], { cwd: dir });
    assert.equal(report.run.code, 1);
    assert.deepEqual(statuses(report), { ...ALL_PASS, env_files_ignored: 'fail' });
    assert.equal(byId(report).env_files_ignored?.fix, '`echo .env >> .gitignore`');
  });

  test('no env file and no .gitignore: env_files_ignored warns (exit 0)', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    initRepo(dir);
    const report = await doctorJson([dir, '--offline'], { cwd: dir });
    assert.equal(report.run.code, 0);
    assert.deepEqual(statuses(report), { ...ALL_PASS, env_files_ignored: 'warn' });
    assert.equal(report.summary.result, 'warn');
  });

  test('a key in a tracked file fails keys_in_tracked_files, redacted, with the roll command', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    const leaked = generateKey('live');
    write(dir, 'src/config.js', `export const key = '${leaked}';\n`);
    git(dir, 'add', 'src/config.js'); // staged, not committed: the history is still clean
    const report = await doctorJson([dir, '--offline'], { cwd: dir });
    assert.equal(report.run.code, 1);
    assert.deepEqual(statuses(report), { ...ALL_PASS, keys_in_tracked_files: 'fail' });
    const check = byId(report).keys_in_tracked_files;
    assert.ok(
      check?.detail.includes(`${leaked.slice(0, 12)}…${leaked.slice(-4)} (src/config.js:1)`),
      check?.detail,
    );
    assert.match(check?.fix ?? '', /cohera keys roll KEY_ID --grace-period 0/);
  });

  test('a key only in a deleted file of history fails keys_in_git_history with `cohera scan --git --revoke`', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    write(dir, 'old/settings.py', `API_KEY = "${generateKey('live')}"\n`);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'settings');
    git(dir, 'rm', '-q', 'old/settings.py');
    git(dir, 'commit', '-q', '-m', 'remove settings');
    const report = await doctorJson([dir, '--offline'], { cwd: dir });
    assert.equal(report.run.code, 1);
    assert.deepEqual(statuses(report), { ...ALL_PASS, keys_in_git_history: 'fail' });
    const check = byId(report).keys_in_git_history;
    assert.match(
      check?.detail ?? '',
      /1 key in git history: ck_live_\w{4}…\w{4} \(old\/settings\.py in commit [0-9a-f]{7}\)/,
    );
    assert.match(check?.fix ?? '', /^roll it: .*then `cohera scan --git --revoke`$/);
  });

  test('a live key in .env.development fails keys_per_environment', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    write(dir, '.env.development', `COHERA_API_KEY=${generateKey('live')}\n`);
    const report = await doctorJson([dir, '--offline'], { cwd: dir });
    assert.equal(report.run.code, 1);
    assert.deepEqual(statuses(report), { ...ALL_PASS, keys_per_environment: 'fail' });
    const check = byId(report).keys_per_environment;
    assert.match(
      check?.detail ?? '',
      /live key ck_live_\w{4}…\w{4} in \.env\.development, a development file/,
    );
    assert.match(check?.fix ?? '', /--mode test/);
  });

  test('the same key in two env files warns keys_per_environment (exit 0)', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    const { test: shared } = cleanRepo(dir);
    write(dir, 'api/.env.staging', `COHERA_API_KEY=${shared}\n`);
    const report = await doctorJson([dir, '--offline'], { cwd: dir });
    assert.equal(report.run.code, 0);
    assert.deepEqual(statuses(report), { ...ALL_PASS, keys_per_environment: 'warn' });
    assert.match(byId(report).keys_per_environment?.detail ?? '', /is in \.env and api\/\.env\.staging/);
  });

  test('a directory that is not a git repository: the git items warn, the env items still run', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    write(dir, '.env', `COHERA_API_KEY=${generateKey('live')}\n`);
    const report = await doctorJson([dir, '--offline'], { cwd: dir });
    assert.equal(report.run.code, 1);
    assert.deepEqual(statuses(report), {
      keys_in_tracked_files: 'warn',
      keys_in_git_history: 'warn',
      env_files_ignored: 'warn',
      keys_per_environment: 'fail',
    });
    assert.match(byId(report).keys_in_git_history?.detail ?? '', /not a git repository/);
  });

  test('without a credential the org items are skipped with `cohera login`; the project items still run', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    const report = await doctorJson([], { cwd: dir });
    assert.equal(report.run.code, 0, report.run.stderr);
    assert.deepEqual(statuses(report), ALL_PASS);
    for (const id of ORG_IDS) {
      const check = byId(report)[id];
      assert.equal(check?.status, 'skip');
      assert.equal(check?.detail, 'skipped: no credential');
      assert.match(check?.fix ?? '', /cohera login.*COHERA_API_KEY/);
    }
  });

  test('DIR defaults to the working directory, and a missing DIR is a usage error (exit 2)', async (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    mkdirSync(join(dir, 'sub'));
    const inSub = await doctorJson(['--offline'], { cwd: join(dir, 'sub') });
    assert.equal(inSub.run.code, 0, inSub.run.stderr);
    const missing = await doctor([join(dir, 'nope'), '--offline'], { cwd: dir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope/);
  });
});
