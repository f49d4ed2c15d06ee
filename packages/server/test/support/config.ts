/** A valid configuration for tests: its own temporary data dir and master key, nothing from the env. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../src/config.ts';

export function tempDir(prefix = 'cohera-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function testConfig(env: Record<string, string> = {}, dataDir?: string): Readonly<Config> {
  return loadConfig(
    {
      COHERA_DATA_DIR: dataDir ?? tempDir().path,
      COHERA_MASTER_KEY: randomBytes(32).toString('base64'),
      COHERA_LOG_LEVEL: 'info',
      ...env,
    },
    process.cwd(),
  );
}
