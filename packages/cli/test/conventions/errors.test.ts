/**
 * Exit codes and error output (DESIGN §9.1): usage errors exit 2 with the message, a "did you mean" and
 * the command's help on stderr; a failed call exits 1 with one line on stderr; with `--json` the error is
 * also the one JSON document on stdout. Nothing here needs a server.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { key } from '../scan/support.ts';
import { cohera, tempDir } from './support.ts';

describe('usage errors exit 2, failures exit 1', () => {
  const config = tempDir();
  const env = { XDG_CONFIG_HOME: config.path, COHERA_BASE_URL: 'http://127.0.0.1:9' };
  after(() => config.remove());

  test('a typo in a command: exit 2 and a suggestion', async () => {
    const [top, sub] = await Promise.all([cohera(['kyes'], env), cohera(['admin', 'bootstap'], env)]);
    assert.equal(top.code, 2);
    assert.equal(top.stdout, '');
    assert.match(top.stderr, /^cohera: unknown command 'kyes'/);
    assert.match(top.stderr, /Did you mean keys\?/);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /Did you mean bootstrap\?/);
    assert.match(sub.stderr, /Usage: cohera admin/);
  });

  test('a typo in an option: exit 2 and a suggestion', async () => {
    const run = await cohera(['whoami', '--jsn'], env);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown option '--jsn'/);
    assert.match(run.stderr, /Did you mean --json\?/);
  });

  test('a bare group or no command at all: exit 2 with the help on stderr', async () => {
    const [bare, none] = await Promise.all([cohera(['admin'], env), cohera([], env)]);
    for (const run of [bare, none]) {
      assert.equal(run.code, 2);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /Usage: cohera/);
    }
  });

  test('with --json a usage error is also a JSON document on stdout', async () => {
    const run = await cohera(['kyes', '--json'], env);
    assert.equal(run.code, 2);
    const parsed = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    assert.equal(parsed.error.code, 'usage_error');
    assert.match(parsed.error.message, /unknown command/);
  });

  test('not signed in: exit 1, one line, and a JSON error with --json', async () => {
    const [plain, json] = await Promise.all([cohera(['whoami'], env), cohera(['whoami', '--json'], env)]);
    assert.equal(plain.code, 1);
    assert.equal(plain.stdout, '');
    assert.equal(plain.stderr, 'cohera: not signed in: run `cohera login` or set COHERA_API_KEY\n');
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout), {
      error: {
        code: 'not_signed_in',
        message: 'not signed in: run `cohera login` or set COHERA_API_KEY',
        request_id: null,
      },
    });
  });

  test('an unreachable server: exit 1 with one line naming it, no stack trace', async () => {
    const apiKey = key('test');
    const run = await cohera(['whoami'], { ...env, COHERA_API_KEY: apiKey });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /^cohera: .*127\.0\.0\.1:9/);
    assert.ok(!run.stderr.includes(apiKey), 'the credential is never printed');
  });

  test('a --base-url that is not a URL is a usage error', async () => {
    const run = await cohera(['whoami', '--base-url', 'not a url'], env);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /not a URL: not a url/);
  });
});
