/**
 * The management commands on a terminal (a pseudo-terminal from `script`): revoke asks and does nothing
 * unless answered yes, a shown-once secret comes with its warning on stderr, and NO_COLOR keeps escape
 * codes out even there.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { PTY_ENV, scriptArgs } from '../pty.ts';
import { BIN, type Run, type Server, startServer } from './support.ts';

/** `cohera ARGS` with its stdin, stdout and stderr on one pseudo-terminal, fed `input`. */
function onTerminal(
  s: Server,
  args: string[],
  input: string,
  env: Record<string, string> = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', scriptArgs([process.execPath, BIN, ...args], { flush: true }), {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...PTY_ENV,
        COHERA_BASE_URL: s.baseUrl,
        COHERA_API_KEY: s.org.adminKey,
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      // Answer once the question is on the screen.
      if (input && /\[y\/N\]/.test(stdout)) {
        child.stdin.write(input);
        input = '';
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
  });
}

describe('cohera management commands on a terminal', () => {
  let s: Server;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
  });

  test('revoke asks: "n" keeps the key, "y" revokes it', async () => {
    const key = await s.sdk.apiKeys.create({ name: 'tty', scopes: ['read:products'] });
    const no = await onTerminal(s, ['keys', 'revoke', key.id], 'n\r');
    assert.match(no.stdout, /Revoke API key/);
    assert.equal(no.code, 1);
    assert.equal((await s.sdk.apiKeys.get(key.id)).status, 'active');
    const yes = await onTerminal(s, ['keys', 'revoke', key.id], 'y\r');
    assert.equal(yes.code, 0, yes.stdout);
    assert.match(yes.stdout, /Revoked/);
    assert.equal((await s.sdk.apiKeys.get(key.id)).status, 'revoked');
  });

  test('create shows the key with its warning; NO_COLOR means no escape codes', async () => {
    const run = await onTerminal(s, ['keys', 'create', '--name', 'tty2', '--scopes', 'read:products'], '', {
      NO_COLOR: '1',
    });
    assert.equal(run.code, 0, run.stdout);
    const keys = run.stdout.match(/ck_live_[0-9A-Za-z]{38}/g) ?? [];
    assert.equal(keys.length, 1);
    assert.match(run.stdout, /shown only once/);
    assert.equal(run.stdout.includes('\u001b['), false);
    const colored = await onTerminal(s, ['security', 'report'], '');
    assert.ok(colored.stdout.includes('\u001b['), 'colour on a terminal without NO_COLOR');
  });
});
