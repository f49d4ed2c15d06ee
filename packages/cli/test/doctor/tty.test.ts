/**
 * `cohera doctor` on a terminal (a pseudo-terminal from util-linux `script`; skipped where it is missing):
 * the header naming the directory, coloured statuses, progress on stderr; NO_COLOR turns the colour off.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { hasScript, PTY_ENV, scriptArgs } from '../pty.ts';
import { BIN, cleanEnv } from '../scan/support.ts';
import { cleanRepo, ESC, generated, tempDir } from './support.ts';

/** stdout and stderr arrive mixed, as on a screen. */
function onTerminal(args: string[], cwd: string, env: Record<string, string> = {}) {
  const run = spawnSync('script', scriptArgs([process.execPath, BIN, 'doctor', ...args]), {
    cwd,
    env: cleanEnv({ XDG_CONFIG_HOME: `${cwd}/.no-config`, ...PTY_ENV, ...env }),
    input: '',
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: run.status, output: run.stdout.replaceAll('\r', '') };
}

describe('cohera doctor on a terminal', {
  skip: hasScript ? false : 'util-linux script is not installed',
}, () => {
  test('a header, colour and progress; NO_COLOR turns the colour off', (t) => {
    const dir = tempDir(t, 'cohera-doctor-');
    cleanRepo(dir);
    const coloured = onTerminal(['--offline'], dir);
    assert.equal(coloured.code, 0, coloured.output);
    assert.ok(coloured.output.includes(`cohera doctor: ${dir}`), coloured.output);
    assert.ok(coloured.output.includes(`${ESC}[32mPASS${ESC}[39m`), 'PASS in green');
    assert.match(coloured.output, /doctor: scanning git history/);
    const plain = onTerminal(['--offline'], dir, { NO_COLOR: '1' });
    assert.equal(plain.code, 0);
    assert.ok(!plain.output.includes(ESC), 'no escape sequence with NO_COLOR');
    assert.match(plain.output, /^PASS {2}\.env files in \.gitignore \[env_files_ignored\]/m);
    for (const run of [coloured, plain]) for (const key of generated) assert.ok(!run.output.includes(key));
  });
});
