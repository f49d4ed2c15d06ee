/**
 * `cohera server` as a real child process (the pinned Node, bin/cohera.js), with its stdout in a pipe or on
 * a pseudo-terminal (util-linux `script`), in a clean environment with its own data dir and a free port.
 * The server is watched until a line of its output says it is ready (or it exits), then stopped the way a
 * person or a supervisor stops it: SIGTERM in a pipe, Ctrl+C on the terminal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { BIN, cleanEnv } from '../conventions/support.ts';
import { PTY_ENV, scriptArgs } from '../pty.ts';

export { tempDir } from '../conventions/support.ts';
export { hasScript } from '../pty.ts';

/** Colour and format settings of the parent must not leak into a test about colour and format. */
export function serverEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = cleanEnv();
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  return { ...env, ...extra };
}

/** A port nothing listens on right now (the OS picks it; it is free again once this resolves). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ServerRun {
  /** Exit code, or null when it was killed by a signal. */
  code: number | null;
  stdout: string;
  /** Empty on a terminal, where stderr arrives mixed into stdout. */
  stderr: string;
  /** Whether `ready` matched before the process ended. */
  wasReady: boolean;
}

export interface RunOptions {
  env: Record<string, string>;
  /** Output that means the server is up; it is then stopped. Omit for a run expected to end by itself. */
  ready?: RegExp;
  /** Run on a pseudo-terminal. */
  terminal?: boolean;
}

/** Longest a test server may live before it is killed (a stop that never reached it must not hang the suite). */
const LIFETIME_MS = 90_000;

/**
 * Runs `cohera server` until it prints `ready` (then stops it) or exits. On a terminal, Ctrl+C written to the
 * terminal reaches the server as SIGINT, as it does for a person; if `script` itself has to be killed, the
 * terminal hangs up and SIGHUP ends the server with it, so a failed test leaves no server behind.
 */
export function runServer(options: RunOptions): Promise<ServerRun> {
  const env = serverEnv(options.env);
  let child: ChildProcess;
  if (options.terminal) {
    child = spawn('script', scriptArgs([process.execPath, BIN, 'server'], { flush: true }), {
      env: { ...env, ...PTY_ENV },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } else {
    child = spawn(process.execPath, [BIN, 'server'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let wasReady = false;
    const killer = setTimeout(() => child.kill('SIGKILL'), LIFETIME_MS);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!wasReady && options.ready?.test(stdout)) {
        wasReady = true;
        if (options.terminal) child.stdin?.write('\u0003');
        else child.kill('SIGTERM');
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      // The terminal echoes the Ctrl+C the test typed as `^C`: that is not the server's output.
      const output = stdout.replaceAll('\r', '');
      resolve({ code, stdout: options.terminal ? output.replaceAll('^C', '') : output, stderr, wasReady });
    });
  });
}

/** Every line of `text` as JSON (throws, naming the line, when one is not). */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${JSON.stringify(line)}`);
      }
    });
}

/** A listener that holds `port`, as another server would. */
export async function occupy(port: number): Promise<{ close(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
