/**
 * On a terminal (a pseudo-terminal from util-linux `script`; skipped where it is missing): the heading,
 * colour unless NO_COLOR, progress of a history scan on stderr, and --revoke's question, where only a yes
 * sends anything.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hasScript, PTY_ENV, scriptArgs } from '../pty.ts';
import { BIN, cleanEnv, git, initRepo, key, tempDir } from './support.ts';

/** Runs `cohera scan ARGS` on a pseudo-terminal; stdout and stderr arrive mixed, as on a screen. */
function onTerminal(
  args: string[],
  cwd: string,
  options: { input?: string; env?: Record<string, string> } = {},
) {
  const run = spawnSync('script', scriptArgs([process.execPath, BIN, 'scan', ...args]), {
    cwd,
    env: cleanEnv({ ...PTY_ENV, ...options.env }),
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: run.status, output: run.stdout.replaceAll('\r', '') };
}

describe('cohera scan on a terminal', {
  skip: hasScript ? false : 'util-linux script is not installed',
}, () => {
  test('a heading and colour; NO_COLOR turns the colour off', (t) => {
    const dir = tempDir(t);
    const k = key();
    writeFileSync(join(dir, 'a.txt'), k);
    const coloured = onTerminal(['a.txt'], dir);
    assert.equal(coloured.code, 1);
    assert.match(coloured.output, /Cohera API keys found:/);
    assert.ok(coloured.output.includes('\u001b[31mck_live_'), 'the key in red');
    assert.match(coloured.output, /Treat every key above as leaked/);
    const plain = onTerminal(['a.txt'], dir, { env: { NO_COLOR: '1' } });
    assert.ok(!plain.output.includes('\u001b['), 'no escape sequence with NO_COLOR');
    assert.match(plain.output, /a\.txt:1:1 {2}ck_live_/);
    for (const run of [coloured, plain]) assert.ok(!run.output.includes(k));
  });

  test('a history scan shows its progress on stderr', (t) => {
    const dir = tempDir(t);
    initRepo(dir);
    writeFileSync(join(dir, 'a.txt'), 'x');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'one');
    const run = onTerminal(['--git'], dir);
    assert.equal(run.code, 0);
    assert.match(run.output, /cohera scan: 1 commit read/);
  });

  test('--revoke asks first: "n" sends nothing, "y" sends the keys', async (t) => {
    const received: string[][] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        received.push((JSON.parse(body) as { credentials: string[] }).credentials);
        response.writeHead(202, { 'content-type': 'application/json' }).end('{"received":1}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = tempDir(t);
    const k = key();
    writeFileSync(join(dir, 'a.txt'), k);
    // Asynchronously: this test's own HTTP server must keep answering while the command runs.
    const ask = (answer: string) => onTerminalAnswering(['--revoke', '--base-url', url], dir, answer);
    const declined = await ask('n\n');
    assert.match(declined.output, /Revoke this key at http:\/\/127\.0\.0\.1:\d+\? \[y\/N\]/);
    assert.match(declined.output, /nothing revoked/);
    assert.equal(received.length, 0);
    const accepted = await ask('y\n');
    assert.equal(accepted.code, 1);
    assert.match(accepted.output, /Sent 1 key to/);
    assert.deepEqual(received, [[k]]);
  });
});

/** Runs `cohera scan ARGS` on a pseudo-terminal and types `answer` once the question is on the screen. */
function onTerminalAnswering(args: string[], cwd: string, answer: string) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('script', scriptArgs([process.execPath, BIN, 'scan', ...args]), {
      cwd,
      env: cleanEnv(PTY_ENV),
    });
    let output = '';
    let typed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (!typed && output.includes('[y/N]')) {
        typed = true;
        child.stdin.write(answer);
      }
    });
    child.on('close', (code) => resolve({ code, output: output.replaceAll('\r', '') }));
  });
}
