/**
 * Helpers for the `cohera scan` tests: the real command as a child process, temporary directories and
 * git repositories (each with its own user.name/email; the user's global config is never touched), and
 * generated keys (never literal ones: scanners, ours included, would flag this repository).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiKeyChecksum, generateApiKey, type Mode } from '@cohera/shared';

export const BIN = fileURLToPath(new URL('../../bin/cohera.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without COHERA_* settings, colours or the test runner's markers. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('COHERA_') && !name.startsWith('NODE_TEST') && name !== 'NO_COLOR')
      env[name] = value;
  }
  // A repository of a test must not see the user's or the system's git configuration.
  return { ...env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', ...extra };
}

export function scan(
  args: string[],
  options: { cwd: string; input?: string | Buffer; env?: Record<string, string> },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'scan', ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export interface JsonFinding {
  source: string;
  path: string;
  line: number;
  column: number;
  commit: string | null;
  commit_short: string | null;
  mode: string;
  key: string;
  prefix: string;
  last4: string;
  key_sha256: string;
}

export interface JsonReport {
  findings: JsonFinding[];
  summary: Record<string, number | boolean | null>;
  revoke: { base_url: string; sent: number; received: number } | null;
}

/** Runs with --format json and checks it is exactly one JSON document. */
export async function scanJson(
  args: string[],
  options: Parameters<typeof scan>[1],
): Promise<JsonReport & { run: Run }> {
  const run = await scan([...args, '--format', 'json'], options);
  if (run.code !== 0 && run.code !== 1) throw new Error(`exit ${run.code}: ${run.stderr}`);
  return { ...(JSON.parse(run.stdout) as JsonReport), run };
}

export function tempDir(t: { after(fn: () => void): void }, prefix = 'cohera-scan-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: cleanEnv() });
}

/** A new repository with its own identity and a fixed default branch. */
export function initRepo(dir: string): void {
  git(dir, 'init', '-q', '-b', 'main', '.');
  git(dir, 'config', 'user.name', 'Scan Test');
  git(dir, 'config', 'user.email', 'scan-test@example.com');
  git(dir, 'config', 'commit.gpgsign', 'false');
}

export const key = (mode: Mode = 'live') => generateApiKey(mode);

/** Strings that look like keys but are not: every one must be ignored. */
export function lookAlikes(): string[] {
  const real = generateApiKey('live');
  const random = real.slice(8, 40);
  const checksum = real.slice(40);
  // A checksum off by one character (always a different character).
  const last = checksum.at(-1) === 'A' ? 'B' : 'A';
  return [
    `ck_live_${random}${checksum.slice(0, 5)}${last}`, // wrong checksum
    `ck_prod_${random}${checksum}`, // wrong prefix
    `CK_LIVE_${random}${checksum}`, // wrong case
    `ck_live_${random.slice(1)}${apiKeyChecksum(random.slice(1))}`, // 31 random characters
    `ck_live_${random}Z${apiKeyChecksum(`${random}Z`.slice(0, 32))}`, // 33 characters then a checksum
    `ck_live_${random}${checksum}0`, // one character too many
    `x${real}`, // inside a longer token
    `${real}_suffix`, // followed by a word character
    `_${real}`,
  ];
}
