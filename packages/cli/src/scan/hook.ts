/**
 * `cohera scan install-hook [--force]`: a pre-commit hook that runs `cohera scan --staged`, so a commit
 * that would add a key is refused before it exists (and before it is pushed anywhere).
 *
 * The hook runs this very installation (the absolute paths of the Node and the `cohera` script that
 * installed it), since a repository's own `node_modules/.bin` is usually not on PATH inside git hooks;
 * when those paths are gone (Node upgraded, checkout moved) it falls back to `cohera` on PATH, and if
 * there is none it refuses the commit and says how to reinstall: a check that silently stops running is
 * worse than one that asks to be fixed.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitOutput } from './git.ts';
import { repositoryRoot } from './history.ts';

/** Marks a hook as ours, so that installing again updates it instead of refusing. */
export const HOOK_MARK = '# Installed by `cohera scan install-hook`.';
const BIN = fileURLToPath(new URL('../../bin/cohera.js', import.meta.url));

export class HookExists extends Error {}

/** A POSIX shell single-quoted string. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export function hookScript(node: string, bin: string): string {
  return `#!/bin/sh
${HOOK_MARK}
# Refuses a commit whose staged changes add a Cohera API key (cohera scan --staged).
# After checking a finding is not a real key, commit anyway with: git commit --no-verify
NODE=${shellQuote(node)}
COHERA_BIN=${shellQuote(bin)}
if [ -x "$NODE" ] && [ -f "$COHERA_BIN" ]; then
  exec "$NODE" "$COHERA_BIN" scan --staged
fi
if command -v cohera >/dev/null 2>&1; then
  exec cohera scan --staged
fi
echo "cohera pre-commit hook: cannot find cohera (it was at $COHERA_BIN)." >&2
echo "Reinstall the hook with: cohera scan install-hook --force, or commit with --no-verify." >&2
exit 1
`;
}

/** Where git looks for hooks in the repository of `cwd`: core.hooksPath when set, else .git/hooks. */
export async function hooksDirectory(cwd: string): Promise<string> {
  const root = await repositoryRoot(cwd);
  const configured = (await gitOutput(['config', '--get', 'core.hooksPath'], root).catch(() => '')).trim();
  // A relative core.hooksPath is relative to where hooks run: the top of the work tree.
  if (configured !== '') return isAbsolute(configured) ? configured : resolve(root, configured);
  return resolve(root, (await gitOutput(['rev-parse', '--git-path', 'hooks'], root)).trim());
}

export async function installHook(cwd: string, force: boolean): Promise<string> {
  const dir = await hooksDirectory(cwd);
  const path = join(dir, 'pre-commit');
  const existing = await readFile(path, 'utf8').catch(() => null);
  if (existing !== null && !existing.includes(HOOK_MARK) && !force) {
    throw new HookExists(
      `${path} already exists and was not installed by cohera; add --force to replace it, or call ` +
        '`cohera scan --staged` from it yourself',
    );
  }
  await mkdir(dir, { recursive: true });
  await writeFile(path, hookScript(process.execPath, BIN));
  await chmod(path, 0o755); // a replaced file keeps its old mode otherwise
  return path;
}
