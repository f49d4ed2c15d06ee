/**
 * `--help` on every command and subcommand of the tree (walked from the program itself, so a command added
 * later is covered without touching this file): exit 0, the usage line, a one-line description, an
 * example, the global options; no escape code in a pipe. Plus `--version` and `cohera help CMD`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { buildProgram } from '../../src/program.ts';
import { cohera, commandPaths, pool, type Run } from './support.ts';

const sink = { write: () => true } as unknown as NodeJS.WritableStream;
const { program } = buildProgram({ stdout: sink, stderr: sink }, {});
const paths = commandPaths(program);
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe('--help everywhere', () => {
  test('the tree has the commands of DESIGN §9 and §9.1', () => {
    const names = paths.map((path) => path.join(' '));
    for (const expected of [
      'login',
      'logout',
      'whoami',
      'server',
      'scan',
      'admin',
      'admin bootstrap',
      'admin set-tier',
      'admin rotate-signing-key',
      'admin audit-reseal',
    ]) {
      assert.ok(names.includes(expected), `${expected} is missing from ${names.join(', ')}`);
    }
  });

  test('every command has a one-line description', () => {
    const walk = (path: string[]) => {
      let command = program;
      for (const name of path) command = command.commands.find((c) => c.name() === name) as typeof program;
      return command;
    };
    for (const path of paths) {
      const description = walk(path).description();
      assert.ok(description.length > 0, `cohera ${path.join(' ')} has no description`);
      assert.ok(!description.includes('\n'), `cohera ${path.join(' ')}: one line`);
    }
  });

  test('`cohera CMD --help` for every command: exit 0, usage, description, example, global options', async () => {
    const runs: [string[], Run][] = await pool([[], ...paths], 6, async (path) => [
      path,
      await cohera([...path, '--help']),
    ]);
    for (const [path, run] of runs) {
      const name = ['cohera', ...path].join(' ');
      assert.equal(run.code, 0, `${name} --help: ${run.stderr}`);
      assert.equal(run.stderr, '', `${name} --help writes nothing on stderr`);
      assert.ok(!run.stdout.includes('\u001b['), `${name} --help: no escape codes in a pipe`);
      if (path[0] === 'scan') {
        // scan's own help (its own parser, on the fast path): its usage lines, then examples.
        assert.match(run.stdout, /Usage:\n {2}cohera scan/);
        if (path.length === 1) assert.match(run.stdout, /Examples:/, `${name} --help shows examples`);
        continue;
      }
      assert.match(run.stdout, /Example/i, `${name} --help shows an example`);
      assert.ok(run.stdout.includes(`Usage: ${name}`), `${name} --help: ${run.stdout}`);
      assert.match(run.stdout, /--json/, `${name} --help lists the global options`);
    }
  });

  test('`cohera help admin` and `cohera admin --help` both work', async () => {
    const [viaHelp, viaFlag] = await Promise.all([cohera(['help', 'admin']), cohera(['admin', '--help'])]);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
    assert.match(viaFlag.stdout, /bootstrap/);
  });

  test('--version prints the version, alone and after a command', async () => {
    const [alone, short, later] = await Promise.all([
      cohera(['--version']),
      cohera(['-V']),
      cohera(['keys', '--version']),
    ]);
    for (const run of [alone, short, later]) {
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `${VERSION}\n`);
    }
  });
});
