/**
 * `cohera server` as a real child process for system tests: a free port, a clean environment (nothing of
 * the test runner's COHERA_* variables), its JSON log lines, and a bounded wait for its exit. Optionally
 * under a lower limit on open files (`ulimit -n`), to play a node whose descriptors can run out.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../cli/bin/cohera.js', import.meta.url));
/** Generous: only a hung process waits this long, and then the test fails instead of hanging. */
export const WAIT_MS = 20_000;

export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('COHERA_') && !name.startsWith('NODE_TEST')) env[name] = value;
  }
  return { ...env, ...extra };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export type LogLine = Record<string, unknown>;

export interface ServerProcessOptions {
  /** Run under `ulimit -n` this many open files (soft and hard), through bash. */
  openFiles?: number;
}

export class ServerProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly lines: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly baseUrl: string;
  readonly port: number;

  constructor(env: Record<string, string>, port: number, options: ServerProcessOptions = {}) {
    this.port = port;
    this.baseUrl = `http://127.0.0.1:${port}`;
    const childEnv = cleanEnv({
      COHERA_LOG_LEVEL: 'info',
      COHERA_LOG_FORMAT: 'json',
      ...env,
      COHERA_PORT: String(port),
      COHERA_HOST: '127.0.0.1',
    });
    const [command, args] =
      options.openFiles === undefined
        ? [process.execPath, [BIN, 'server']]
        : // `exec` so the signal reaches the server itself, not a shell waiting for it.
          [
            'bash',
            ['-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, BIN, 'server'],
          ];
    this.child = spawn(command, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    createInterface({ input: this.child.stdout }).on('line', (text) => {
      this.stdout += `${text}\n`;
      try {
        const line: unknown = JSON.parse(text);
        if (line !== null && typeof line === 'object') this.lines.push(line as LogLine);
      } catch {
        // not a log line
      }
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  /** Resolves when the server is ready (its `cohera is ready` line), or rejects if it exits or hangs. */
  async ready(): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!this.lines.some((line) => line.msg === 'cohera is ready')) {
      if (this.child.exitCode !== null) {
        throw new Error(`server exited (${this.child.exitCode}):\n${this.stdout}\n${this.stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`server not ready:\n${this.stdout}\n${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
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

/** A finished child process: its exit code (null when a signal ended it) and everything it printed. */
export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` to its end with no stdin, collecting stdout and stderr (the one copy the tests share). */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string },
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `cohera ARGS` on the pinned Node, with `env` and none of the test runner's COHERA_* settings. */
export function runCli(args: string[], env: Record<string, string>): Promise<ProcessRun> {
  return runToEnd(process.execPath, [BIN, ...args], { env: cleanEnv(env) });
}
