/**
 * The project's env files (`.env`, `.env.production`, `api/.env.local`, …): where keys belong (the
 * checklist's "API keys in environment variables"), and what must stay out of git. Found by walking the
 * directory, ignored files included (they are the point), without entering `.git` or `node_modules`.
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** How deep below the directory env files are looked for (a monorepo's `packages/api/.env` is 2). */
const MAX_DEPTH = 4;
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

/**
 * Committed on purpose: templates that list the variables with placeholder values. They are not
 * environments; a real key in one is still found by the tracked-files check.
 */
const TEMPLATES = new Set(['example', 'sample', 'template', 'dist', 'defaults']);
const DEVELOPMENT = new Set(['development', 'dev', 'local', 'test']);
const PRODUCTION = new Set(['production', 'prod']);
const STAGING = new Set(['staging', 'stage']);

export type EnvKind = 'development' | 'staging' | 'production' | 'template' | 'other';

export interface EnvFile {
  /** Relative to the directory, `/` separators. */
  path: string;
  absolute: string;
  kind: EnvKind;
}

/**
 * What an env file is for, from its name's parts: `.env` alone is development (what a local run reads),
 * as are `.env.local`, `.env.development`, `.env.test` and their `.local` variants; `.env.production` and
 * `.env.production.local` are production (production wins over `local`).
 */
export function envKind(name: string): EnvKind {
  const parts = name
    .split('.')
    .slice(2)
    .map((part) => part.toLowerCase());
  if (parts.length === 0) return 'development';
  if (parts.some((part) => TEMPLATES.has(part))) return 'template';
  if (parts.some((part) => PRODUCTION.has(part))) return 'production';
  if (parts.some((part) => STAGING.has(part))) return 'staging';
  if (parts.some((part) => DEVELOPMENT.has(part))) return 'development';
  return 'other';
}

/** The last part of a `/`-separated path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function isEnvFileName(name: string): boolean {
  return name === '.env' || (name.startsWith('.env.') && name.length > 5);
}

/** Every env file under `dir` (regular files only: a symlink is not followed), in a stable order. */
export async function findEnvFiles(dir: string): Promise<EnvFile[]> {
  const found: EnvFile[] = [];
  const visit = async (at: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        if (depth < MAX_DEPTH && !SKIPPED_DIRS.has(entry.name)) await visit(path, depth + 1);
      } else if (entry.isFile() && isEnvFileName(entry.name)) {
        found.push({
          path: relative(dir, path).split(sep).join('/'),
          absolute: path,
          kind: envKind(entry.name),
        });
      }
    }
  };
  await visit(dir, 0);
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
