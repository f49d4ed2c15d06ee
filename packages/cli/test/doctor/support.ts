/**
 * Helpers for the `cohera doctor` tests: the real command as a child process, and fixture repositories
 * built at test time (each with its own git identity; the user's git config is never read) holding
 * generated keys, never literal ones.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateApiKey, type Mode } from '@cohera/shared';
import { runToEnd } from '../../../server/test/support/server-process.ts';
import { BIN, cleanEnv, git, initRepo, type Run } from '../scan/support.ts';

export { git, initRepo, type Run, tempDir } from '../scan/support.ts';

export interface DoctorCheck {
  id: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  title: string;
  detail: string;
  fix: string | null;
}

export interface DoctorJson {
  checks: DoctorCheck[];
  summary: { pass: number; warn: number; fail: number; skip: number; result: string };
}

export const PROJECT_IDS = [
  'keys_in_tracked_files',
  'keys_in_git_history',
  'env_files_ignored',
  'keys_per_environment',
];
export const ORG_IDS = ['minimal_scopes', 'key_rotation', 'webhook_signatures', 'audit_log', 'leaked_keys'];

/** Every key a test generated: none may ever appear whole in any output. */
export const generated: string[] = [];

export function remember(key: string): string {
  generated.push(key);
  return key;
}

/** Runs `cohera doctor …` with no saved login (a fresh XDG_CONFIG_HOME) and no COHERA_* from the parent. */
export async function doctor(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<Run> {
  const run = await runToEnd(process.execPath, [BIN, 'doctor', ...args], {
    cwd: options.cwd,
    env: cleanEnv({ XDG_CONFIG_HOME: join(options.cwd, '.no-config'), ...options.env }),
  });
  for (const secret of generated) {
    if (run.stdout.includes(secret) || run.stderr.includes(secret)) {
      throw new Error(`a whole key appears in the output of cohera doctor ${args.join(' ')}`);
    }
  }
  return run;
}

/** `--json`: exactly one document on stdout, the exit status checked against its summary. */
export async function doctorJson(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<DoctorJson & { run: Run }> {
  const run = await doctor([...args, '--json'], options);
  if (run.code !== 0 && run.code !== 1) throw new Error(`exit ${run.code}: ${run.stderr}`);
  return { ...(JSON.parse(run.stdout) as DoctorJson), run };
}

export function byId(report: DoctorJson): Record<string, DoctorCheck> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check]));
}

export function statuses(report: DoctorJson, ids = PROJECT_IDS): Record<string, string> {
  const checks = byId(report);
  return Object.fromEntries(ids.map((id) => [id, checks[id]?.status ?? 'missing']));
}

export function write(dir: string, path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

/**
 * A project that passes every project item: .env* ignored (the template excepted), a test key in .env, a
 * different live key in .env.production, code that reads the key from the environment, one commit.
 */
export function cleanRepo(dir: string): { test: string; live: string } {
  initRepo(dir);
  const test = generateKey('test');
  const live = generateKey('live');
  write(dir, '.gitignore', '.env*\n!.env.example\n');
  write(dir, '.env.example', 'COHERA_API_KEY=\n');
  write(dir, '.env', `COHERA_API_KEY=${test}\n`);
  write(dir, '.env.production', `COHERA_API_KEY=${live}\n`);
  write(dir, 'src/client.js', 'export const apiKey = process.env.COHERA_API_KEY;\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'clean project');
  return { test, live };
}

/** A generated key (remembered: the output checks look for it). */
export function generateKey(mode: Mode): string {
  return remember(generateApiKey(mode));
}

/** The escape character that starts every colour code. */
export const ESC = '\u001b';
