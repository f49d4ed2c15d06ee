/**
 * Every management command and subcommand answers `--help` with a one-line description and an example,
 * and without colour when stdout is not a terminal. Run in-process through the program's own `run` (the
 * same code path as the binary), since 35 process starts would cost half a minute.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { run } from '../../src/program.ts';

const COMMANDS = [
  ['keys'],
  ['keys', 'list'],
  ['keys', 'get'],
  ['keys', 'create'],
  ['keys', 'roll'],
  ['keys', 'revoke'],
  ['keys', 'usage'],
  ['service-accounts'],
  ['service-accounts', 'list'],
  ['service-accounts', 'create'],
  ['service-accounts', 'delete'],
  ['service-accounts', 'keys'],
  ['service-accounts', 'keys', 'list'],
  ['service-accounts', 'keys', 'create'],
  ['service-accounts', 'keys', 'delete'],
  ['apps'],
  ['apps', 'list'],
  ['apps', 'create'],
  ['apps', 'update'],
  ['apps', 'rotate-secret'],
  ['apps', 'delete'],
  ['webhooks'],
  ['webhooks', 'list'],
  ['webhooks', 'create'],
  ['webhooks', 'update'],
  ['webhooks', 'delete'],
  ['webhooks', 'rotate-secret'],
  ['webhooks', 'test'],
  ['webhooks', 'deliveries'],
  ['audit'],
  ['audit', 'list'],
  ['audit', 'tail'],
  ['audit', 'verify'],
  ['audit', 'export'],
  ['security'],
  ['security', 'report'],
];

function capture(): Writable & { text: string } {
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      stream.text += String(chunk);
      callback();
    },
  }) as Writable & { text: string };
  stream.text = '';
  return stream;
}

for (const command of COMMANDS) {
  const name = `cohera ${command.join(' ')}`;
  test(`${name} --help`, async () => {
    const stdout = capture();
    const stderr = capture();
    const code = await run([...command, '--help'], { stdout, stderr }, { PATH: process.env.PATH });
    assert.equal(code, 0, stderr.text);
    assert.ok(stdout.text.startsWith(`Usage: ${name} `), stdout.text);
    const description = stdout.text.split('\n')[2] ?? '';
    assert.ok(description.length > 10, `a one-line description: ${stdout.text}`);
    assert.match(stdout.text, /Examples?:\n {2}cohera /);
    assert.equal(stdout.text.includes('\u001b['), false);
  });
}
