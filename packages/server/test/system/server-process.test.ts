/**
 * `cohera server` as a real process (src/main.ts, DESIGN §9): it serves on its port, the operator CLI can
 * bootstrap while it runs (SQLite WAL), and SIGTERM/SIGINT shut it down gracefully: a request already in
 * flight is answered, the process exits 0, and what was written is there on the next start. Its logs are
 * JSON lines on stdout that never contain a credential.
 */
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../support/config.ts';
import { BIN, cleanEnv, freePort, type LogLine, runCli, WAIT_MS } from '../support/server-process.ts';

/** A `cohera server` child: its parsed stdout log lines, raw output, and its exit. */
class ServerProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly lines: LogLine[] = [];
  readonly unparsed: string[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly baseUrl: string;
  #waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];

  constructor(env: Record<string, string>, port: number) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.child = spawn(process.execPath, [BIN, 'server'], {
      env: cleanEnv({
        ...env,
        COHERA_PORT: String(port),
        COHERA_HOST: '127.0.0.1',
        COHERA_LOG_LEVEL: 'info',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    createInterface({ input: this.child.stdout }).on('line', (text) => this.#onLine(text));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  #onLine(text: string): void {
    this.stdout += `${text}\n`;
    let line: unknown;
    try {
      line = JSON.parse(text);
    } catch {
      this.unparsed.push(text);
      return;
    }
    if (line === null || typeof line !== 'object') {
      this.unparsed.push(text);
      return;
    }
    const entry = line as LogLine;
    this.lines.push(entry);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.match(entry)) return true;
      waiter.resolve(entry);
      return false;
    });
  }

  /** The first log line from index `from` on (already written or still to come) that matches. */
  waitForLog(match: (line: LogLine) => boolean, what: string, from = 0): Promise<LogLine> {
    const seen = this.lines.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`no log line "${what}" within ${WAIT_MS} ms:\n${this.stdout}\n${this.stderr}`)),
        WAIT_MS,
      );
      // Rejecting after a resolve is a no-op, so this only fires for a process that died first.
      void this.exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}) before "${what}":\n${this.stdout}\n${this.stderr}`));
      });
      this.#waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  async ready(): Promise<LogLine> {
    return this.waitForLog((line) => line.msg === 'cohera is ready', 'cohera is ready');
  }

  async exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`server did not exit within ${WAIT_MS} ms`)), WAIT_MS);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process if a test left it running. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/**
 * Starts a POST whose body is only half sent, so the request is in flight on the server; `finish()`
 * sends the rest and resolves with the response.
 */
function slowPost(
  baseUrl: string,
  path: string,
  key: string,
  body: unknown,
  requestId: string,
): { finish(): Promise<{ status: number; body: string }> } {
  const payload = Buffer.from(JSON.stringify(body));
  const half = Math.floor(payload.length / 2);
  let settle: (value: { status: number; body: string }) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const req = request(`${baseUrl}${path}`, {
    method: 'POST',
    agent: false,
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'content-length': String(payload.length),
      // Lets the test wait for the log line of THIS request, not an earlier one still in the pipe.
      'x-request-id': requestId,
      connection: 'close',
    },
  });
  req.on('response', (res) => {
    let text = '';
    res.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    res.on('end', () => settle({ status: res.statusCode ?? 0, body: text }));
    res.on('error', fail);
  });
  req.on('error', fail);
  req.write(payload.subarray(0, half));
  return {
    finish() {
      req.end(payload.subarray(half));
      return response;
    },
  };
}

describe('cohera server process', () => {
  const dir = tempDir();
  const env = { COHERA_DATA_DIR: dir.path };
  const servers: ServerProcess[] = [];
  let secrets: string[] = [];
  let key = '';
  let port = 0;

  function start(): ServerProcess {
    const server = new ServerProcess(env, port);
    servers.push(server);
    return server;
  }

  before(async () => {
    port = await freePort();
  });
  after(() => {
    for (const server of servers) server.kill();
    dir.remove();
  });

  test('serves, bootstraps while running, and finishes in-flight work on SIGTERM', async () => {
    const server = start();
    const ready = await server.ready();
    assert.equal(ready.url, server.baseUrl);
    assert.equal(ready.storage, 'sqlite');

    const health = await fetch(`${server.baseUrl}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });

    // The operator CLI writes to the same SQLite file while the server holds it open.
    const cli = await runCli(
      ['admin', 'bootstrap', '--org', 'Running', '--email', 'ops@example.com', '--json'],
      env,
    );
    assert.equal(cli.code, 0, cli.stderr);
    const result = JSON.parse(cli.stdout) as { org_id: string; api_key: string; password: string };
    key = result.api_key;
    secrets = [result.api_key, result.password];

    const who = await fetch(`${server.baseUrl}/health`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(who.status, 200);
    const auth = ((await who.json()) as { auth?: { kind: string; org_id: string } }).auth;
    assert.equal(auth?.kind, 'api_key');
    assert.equal(auth?.org_id, result.org_id);

    const created = await fetch(`${server.baseUrl}/v1/suppliers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Before Shutdown', country: 'NL' }),
    });
    assert.equal(created.status, 201, await created.clone().text());

    // A request whose headers have arrived but whose body has not: in flight when the signal comes.
    const from = server.lines.length;
    const requestId = `in-flight-${process.pid}`;
    const inFlight = slowPost(
      server.baseUrl,
      '/v1/suppliers',
      key,
      { name: 'In Flight', country: 'BE' },
      requestId,
    );
    await server.waitForLog(
      (line) => line.msg === 'incoming request' && line.request_id === requestId,
      'the in-flight request arriving',
      from,
    );
    server.child.kill('SIGTERM');
    const shutdown = await server.waitForLog((line) => line.msg === 'shutting down', 'shutting down');
    assert.equal(shutdown.signal, 'SIGTERM');

    const answer = await inFlight.finish();
    assert.equal(answer.status, 201, answer.body);
    assert.equal((JSON.parse(answer.body) as { name: string }).name, 'In Flight');

    const exit = await server.exit();
    assert.deepEqual(exit, { code: 0, signal: null }, server.stderr);
  });

  test('what was written before SIGTERM is there on the next start; SIGINT also exits 0', async (t) => {
    if (!key) return t.skip('needs the first test');
    port = await freePort();
    const server = start();
    await server.ready();
    const list = await fetch(`${server.baseUrl}/v1/suppliers?limit=100`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(list.status, 200);
    const names = ((await list.json()) as { data: { name: string }[] }).data.map((s) => s.name).sort();
    assert.deepEqual(names, ['Before Shutdown', 'In Flight']);

    server.child.kill('SIGINT');
    const shutdown = await server.waitForLog((line) => line.msg === 'shutting down', 'shutting down');
    assert.equal(shutdown.signal, 'SIGINT');
    assert.deepEqual(await server.exit(), { code: 0, signal: null }, server.stderr);
    // The listener is gone with the process.
    await assert.rejects(fetch(`${server.baseUrl}/health`));
  });

  test('logs are JSON lines on stdout without any credential', (t) => {
    if (secrets.length === 0) return t.skip('needs the first test');
    assert.ok(servers.length >= 2);
    for (const server of servers) {
      assert.deepEqual(server.unparsed, [], 'every stdout line is JSON');
      assert.ok(server.lines.length > 0);
      for (const line of server.lines) {
        assert.equal(typeof line.level, 'number');
        assert.equal(typeof line.msg, 'string');
      }
      // Requests were logged (so the scan below looked at lines that saw the credentials)…
      assert.ok(server.lines.some((line) => line.msg === 'incoming request'));
      for (const secret of secrets) {
        assert.ok(!server.stdout.includes(secret), 'no credential in the logs');
        assert.ok(!server.stderr.includes(secret), 'no credential on stderr');
      }
    }
  });
});
