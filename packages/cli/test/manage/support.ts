/**
 * A real server on 127.0.0.1 (in this process, SQLite, webhooks to loopback allowed) and the `cohera`
 * command run against it as a child process with its real stdout, stderr and exit code. The SDK client
 * for the same org is the reference the CLI's `--json` output is compared with.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  createKey,
  createOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from '../../../server/test/support/app.ts';
import { tempDir } from '../../../server/test/support/config.ts';
import { type EngineHandle, prepareEngine } from '../../../server/test/support/engines.ts';
import { Cohera } from '../../src/sdk.ts';

export const BIN = fileURLToPath(new URL('../../bin/cohera.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Server {
  t: TestApp;
  baseUrl: string;
  org: TestOrg;
  /** The SDK client of the org's admin key. */
  sdk: Cohera;
  /** Runs `cohera ARGS` with the org's admin key (or `env` overrides) against the server. */
  cohera(args: string[], env?: Record<string, string>): Promise<Run>;
  /** Starts `cohera ARGS` and hands back the child (for `audit tail`). */
  spawnCohera(args: string[], env?: Record<string, string>): ReturnType<typeof spawn>;
  newOrg(): Promise<{ org: TestOrg; sdk: Cohera }>;
  keyWith(scopes: Parameters<typeof createKey>[2]): Promise<string>;
  close(): Promise<void>;
}

/** The parent's environment without any COHERA_* setting (nor the test runner's markers). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('COHERA_') && !name.startsWith('NODE_TEST') && name !== 'NO_COLOR')
      env[name] = value;
  }
  return { ...env, ...extra };
}

export async function startServer(): Promise<Server> {
  const handle: EngineHandle = await prepareEngine('sqlite');
  const t = await startTestApp(handle, { env: { COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true' } });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const org = await createOrg(t.app);
  const config = tempDir('cohera-cli-config-');
  const baseEnv = (): Record<string, string> => ({
    COHERA_BASE_URL: baseUrl,
    COHERA_API_KEY: org.adminKey,
    XDG_CONFIG_HOME: config.path,
  });
  const spawnCohera = (args: string[], env: Record<string, string> = {}) =>
    spawn(process.execPath, [BIN, ...args], {
      env: cleanEnv({ ...baseEnv(), ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  return {
    t,
    baseUrl,
    org,
    sdk: new Cohera({ apiKey: org.adminKey, baseUrl }),
    spawnCohera,
    cohera: (args, env) =>
      new Promise((resolve, reject) => {
        const child = spawnCohera(args, env);
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
      }),
    async newOrg() {
      const other = await createOrg(t.app);
      return { org: other, sdk: new Cohera({ apiKey: other.adminKey, baseUrl }) };
    },
    keyWith: (scopes) => createKey(t.app, org, scopes),
    async close() {
      await t.close();
      await handle.cleanup();
      config.remove();
    },
  };
}

/** Exit 0 and exactly one JSON document on stdout (and nothing else there). */
export function json<T = unknown>(run: Run): T {
  assert.equal(run.code, 0, `exit 0 expected, got ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Exit 0 and its stdout. */
export function ok(run: Run): string {
  assert.equal(run.code, 0, `exit 0 expected, got ${run.code}: ${run.stderr}`);
  return run.stdout;
}

/** How often `needle` occurs in `haystack`. */
export function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** A JSON round trip: what the SDK object looks like once printed and parsed. */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** No ANSI escape code: output that is not a terminal carries none. */
export function assertNoEscapes(run: Run): void {
  assert.equal((run.stdout + run.stderr).includes('\u001b['), false, 'no escape codes');
}

/**
 * For comparing the CLI's output with the SDK's answer a moment later: a JSON round trip without the fields
 * that change by being used (`last_used_at`: the admin key is used by every call of the test itself).
 */
export function comparable<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (name, field) => (name === 'last_used_at' ? undefined : field)),
  ) as T;
}
