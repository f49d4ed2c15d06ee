/**
 * Runs `cohera` as a child process with its real stdout, stderr and exit code, in a clean environment
 * (no COHERA_* or NO_COLOR from the parent, a private XDG_CONFIG_HOME unless given), and on a
 * pseudo-terminal through util-linux `script` for the TTY cases.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '@commander-js/extra-typings';
import { runToEnd } from '../../../server/test/support/server-process.ts';
import { PTY_ENV, scriptArgs } from '../pty.ts';

export const BIN = fileURLToPath(new URL('../../bin/cohera.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('COHERA_') && !name.startsWith('NODE_TEST') && name !== 'NO_COLOR')
      env[name] = value;
  }
  return { ...env, ...extra };
}

/** A temporary directory, removed by `remove()`. */
export function tempDir(prefix = 'cohera-cli-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function cohera(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runToEnd(process.execPath, [BIN, ...args], { env: cleanEnv(env) });
}

export { hasScript } from '../pty.ts';

/**
 * `cohera ARGS` on a pseudo-terminal: stdout and stderr arrive mixed, as on a screen. Asynchronous, so
 * that a server running in the test's own process keeps answering.
 */
export function onTerminal(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', scriptArgs([process.execPath, BIN, ...args]), {
      env: cleanEnv({ ...PTY_ENV, ...env }),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    child.stdin.end();
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: output.replaceAll('\r', '') }));
  });
}

/** Every command path of the tree (`['keys', 'list']`, …), help commands left out. */
export function commandPaths(root: Command): string[][] {
  const paths: string[][] = [];
  const walk = (command: Command, prefix: string[]) => {
    for (const sub of command.commands as unknown as Command[]) {
      if (sub.name() === 'help') continue;
      const path = [...prefix, sub.name()];
      paths.push(path);
      walk(sub, path);
    }
  };
  walk(root, []);
  return paths;
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}
