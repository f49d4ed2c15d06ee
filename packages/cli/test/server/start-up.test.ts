/**
 * What `cohera server` (`npm start`) prints (issue 21): JSON lines for a log collector, a banner with the
 * URLs, the data dir and the next command for a person at a terminal, and one line naming COHERA_PORT when
 * the port is taken. Real processes on loopback; the terminal is util-linux `script` (skipped without it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, hasScript, jsonLines, occupy, runServer, tempDir } from './support.ts';

const READY_JSON = /"msg":"cohera is ready"/;
const READY_BANNER = /Stop with Ctrl\+C/;
const ESCAPE = '\u001b[';

describe('cohera server, stdout in a pipe', () => {
  const data = tempDir('cohera-server-');
  after(() => data.remove());

  test('prints JSON lines only; the ready line says where the API, dashboard and data are', async () => {
    const port = await freePort();
    const run = await runServer({
      env: { COHERA_DATA_DIR: data.path, COHERA_PORT: String(port) },
      ready: READY_JSON,
    });
    assert.equal(run.wasReady, true, run.stdout + run.stderr);
    assert.equal(run.code, 0, run.stderr);
    const lines = jsonLines(run.stdout);
    const ready = lines.find((line) => line.msg === 'cohera is ready');
    assert.ok(ready);
    assert.equal(ready.url, `http://127.0.0.1:${port}`);
    assert.equal(ready.dashboard, `http://127.0.0.1:${port}/dashboard/`);
    assert.equal(ready.data_dir, data.path);
    assert.equal(ready.storage, 'sqlite');
    assert.match(
      String(ready.next_step),
      /npx cohera admin bootstrap --org "Acme" --email you@example\.com$/,
    );
    // The generated master key is still announced, with its file, in the same format.
    const warning = lines.find((line) => line.level === 40 && /master key/.test(String(line.msg)));
    assert.equal(warning?.file, `${data.path}/master.key`);
    assert.ok(!run.stdout.includes(ESCAPE), 'no escape code in a pipe');
    assert.ok(lines.some((line) => line.msg === 'shutting down'));
  });
});

describe('cohera server on a terminal', {
  skip: hasScript ? false : 'util-linux script is not installed',
}, () => {
  const data = tempDir('cohera-server-tty-');
  after(() => data.remove());

  test('a banner: URL, dashboard, data dir, master key and the bootstrap command; no JSON', async () => {
    const port = await freePort();
    const run = await runServer({
      env: { COHERA_DATA_DIR: data.path, COHERA_PORT: String(port), NO_COLOR: '1' },
      ready: READY_BANNER,
      terminal: true,
    });
    assert.equal(run.wasReady, true, run.stdout);
    // Ctrl+C stops it gracefully.
    assert.equal(run.code, 0, run.stdout);
    const out = run.stdout;
    assert.match(out, /Cohera \d+\.\d+\.\d+ is ready/);
    assert.match(out, new RegExp(`API +http://127\\.0\\.0\\.1:${port}\\n`));
    assert.match(out, new RegExp(`Dashboard +http://127\\.0\\.0\\.1:${port}/dashboard/\\n`));
    assert.match(out, new RegExp(`Data dir +${data.path}\\n`));
    assert.match(out, new RegExp(`Storage +SQLite, ${data.path}/cohera\\.sqlite`));
    assert.match(out, /generated just now: back it up, or set COHERA_MASTER_KEY/);
    assert.match(
      out,
      new RegExp(
        `COHERA_DATA_DIR=${data.path} npx cohera admin bootstrap --org "Acme" --email you@example\\.com`,
      ),
    );
    assert.doesNotMatch(out, /\{"level"/, 'no JSON line on a terminal');
    assert.match(out, /WARN: generated a new master key/, 'the warning is a readable line');
    // NO_COLOR: not one escape code, in the banner or in the log lines.
    assert.ok(!out.includes(ESCAPE), `no escape code with NO_COLOR: ${JSON.stringify(out)}`);
  });

  test('in colour without NO_COLOR (so the NO_COLOR case above means something)', async () => {
    const port = await freePort();
    const run = await runServer({
      env: { COHERA_DATA_DIR: data.path, COHERA_PORT: String(port) },
      ready: READY_BANNER,
      terminal: true,
    });
    assert.equal(run.code, 0, run.stdout);
    assert.ok(run.stdout.includes(ESCAPE), run.stdout);
  });

  test('COHERA_LOG_FORMAT=json on a terminal: JSON lines, no banner', async () => {
    const port = await freePort();
    const run = await runServer({
      env: { COHERA_DATA_DIR: data.path, COHERA_PORT: String(port), COHERA_LOG_FORMAT: 'json' },
      ready: READY_JSON,
      terminal: true,
    });
    assert.equal(run.code, 0, run.stdout);
    const lines = jsonLines(run.stdout);
    assert.ok(lines.some((line) => line.msg === 'cohera is ready'));
    assert.doesNotMatch(run.stdout, /Stop with Ctrl\+C/);
  });
});

describe('cohera server when its port is taken', () => {
  const data = tempDir('cohera-server-port-');
  let port = 0;
  let holder: { close(): Promise<void> };
  before(async () => {
    port = await freePort();
    holder = await occupy(port);
  });
  after(async () => {
    await holder.close();
    data.remove();
  });

  test('JSON: exit 1 and one error line with a stable code that names COHERA_PORT; no stack', async () => {
    const run = await runServer({ env: { COHERA_DATA_DIR: data.path, COHERA_PORT: String(port) } });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const errors = jsonLines(run.stdout).filter((line) => line.level === 50);
    assert.equal(errors.length, 1, run.stdout);
    const [error] = errors;
    assert.equal(error?.code, 'port_in_use');
    assert.equal(error?.setting, 'COHERA_PORT');
    assert.equal(error?.port, port);
    assert.equal(
      error?.msg,
      `Port ${port} on 127.0.0.1 is already in use. Stop the other server, or choose another port with COHERA_PORT=${port + 1}.`,
    );
    assert.equal(run.stderr, '', 'nothing else, and no stack trace');
    assert.doesNotMatch(run.stdout, /\n\s+at /);
  });

  test('on a terminal: one plain line naming the port and COHERA_PORT; no stack, no JSON', {
    skip: hasScript ? false : 'util-linux script is not installed',
  }, async () => {
    const run = await runServer({
      env: { COHERA_DATA_DIR: data.path, COHERA_PORT: String(port), NO_COLOR: '1' },
      terminal: true,
    });
    assert.equal(run.code, 1, run.stdout);
    assert.match(
      run.stdout,
      new RegExp(
        `^cohera: Port ${port} on 127\\.0\\.0\\.1 is already in use\\. Stop the other server, or choose another port with COHERA_PORT=${port + 1}\\.$`,
        'm',
      ),
    );
    assert.doesNotMatch(run.stdout, /\n\s+at |EADDRINUSE|\{"level"/);
  });

  test('the metrics port taken: exit 1, the line names COHERA_METRICS_PORT', async () => {
    const apiPort = await freePort();
    const run = await runServer({
      env: {
        COHERA_DATA_DIR: data.path,
        COHERA_PORT: String(apiPort),
        COHERA_METRICS_PORT: String(port),
      },
    });
    // It ended by itself (no `ready` to wait for): the API listener it had already opened was closed with
    // the app, not left serving with no metrics.
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /cohera is ready/);
    const error = jsonLines(run.stdout).find((line) => line.level === 50);
    assert.equal(error?.code, 'port_in_use');
    assert.equal(error?.setting, 'COHERA_METRICS_PORT');
    assert.match(
      String(error?.msg),
      new RegExp(`^Metrics port ${port} .* COHERA_METRICS_PORT=${port + 1}\\.$`),
    );
  });
});

test('a bad COHERA_LOG_FORMAT stops start-up with a message naming the variable and the allowed values', async () => {
  const data = tempDir('cohera-server-config-');
  try {
    const run = await runServer({
      env: { COHERA_DATA_DIR: data.path, COHERA_PORT: String(await freePort()), COHERA_LOG_FORMAT: 'text' },
    });
    assert.equal(run.code, 78, run.stderr);
    assert.match(run.stderr, /COHERA_LOG_FORMAT must be pretty or json, got "text"/);
  } finally {
    data.remove();
  }
});
