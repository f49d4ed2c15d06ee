/**
 * `cohera scan [PATH…]` over files: which files (git's own answer inside a work tree, the `ignore` package
 * with nested .gitignore files outside one, everything with --no-ignore), then reading them one at a time,
 * in chunks, so a file of any size is scanned in constant memory.
 *
 * Symlinks are never followed when they are found while listing a directory (a link may point anywhere,
 * outside the tree or into a loop; the file it points to is scanned under its own path if it is in the
 * tree). A path given on the command line is the user's explicit choice and is followed.
 */
import { type Dirent, existsSync } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Ignore } from 'ignore';
import type { Finding } from './finding.ts';
import { gitOutput } from './git.ts';
import { CHUNK_SIZE, type FileTarget, scanFile } from './read.ts';

export { CHUNK_SIZE, type FileTarget } from './read.ts';

export interface FileStats {
  files: number;
  binary: number;
  /** Symlinks met while listing (git lists tracked ones): not followed, so not scanned. */
  symlinks: number;
  unreadable: number;
}

function displayPath(cwd: string, absolute: string): string {
  const rel = relative(cwd, absolute);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : absolute;
}

async function insideWorkTree(dir: string): Promise<boolean> {
  // No `.git` in the directory or above it: not a work tree, and no git process to start (~20 ms).
  let probe = dir;
  while (!existsSync(join(probe, '.git'))) {
    const parent = dirname(probe);
    if (parent === probe) return process.env.GIT_DIR !== undefined;
    probe = parent;
  }
  const out = await gitOutput(['rev-parse', '--is-inside-work-tree'], dir).catch(() => null);
  return out?.trim() === 'true';
}

/** Git's own list: tracked files plus untracked ones that are not ignored, exactly what `git add -A` sees. */
async function gitListed(dir: string): Promise<string[]> {
  const out = await gitOutput(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], dir);
  // A file both tracked and modified is listed once per stage; a Set keeps one.
  return [...new Set(out.split('\0').filter((name) => name !== ''))];
}

interface IgnoreLevel {
  dir: string;
  rules: Ignore;
}

/** Walks a directory, honouring every .gitignore on the way down (unless `noIgnore`). Never enters `.git`. */
async function walk(root: string, noIgnore: boolean, out: string[]): Promise<void> {
  // Loaded at the first .gitignore met (inside a work tree git lists the files itself).
  let ignore: (() => Ignore) | null = null;
  const visit = async (dir: string, levels: IgnoreLevel[]): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // unreadable or vanished: nothing to scan there
    }
    let here = levels;
    if (!noIgnore && entries.some((entry) => entry.name === '.gitignore' && entry.isFile())) {
      ignore ??= (await import('ignore')).default;
      const text = await readFile(join(dir, '.gitignore'), 'utf8').catch(() => '');
      here = [...levels, { dir, rules: ignore().add(text) }];
    }
    const ignored = (path: string, isDir: boolean) =>
      here.some((level) => {
        const rel = relative(level.dir, path).split(sep).join('/');
        return level.rules.ignores(isDir ? `${rel}/` : rel);
      });
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === '.git' || ignored(path, true)) continue;
        await visit(path, here);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !ignored(path, false)) {
        // A symlink is listed only to be counted: opening it with O_NOFOLLOW refuses it.
        out.push(path);
      }
    }
  };
  await visit(root, []);
}

/** Every file under the given paths to scan, in a stable order. */
export async function listTargets(paths: string[], cwd: string, noIgnore: boolean): Promise<FileTarget[]> {
  const targets: FileTarget[] = [];
  for (const given of paths) {
    const absolute = resolve(cwd, given);
    const info = await stat(absolute); // throws ENOENT: the caller reports it as a usage error
    if (info.isFile()) {
      targets.push({ absolute, display: displayPath(cwd, absolute), explicit: true });
      continue;
    }
    const found: string[] = [];
    if (!noIgnore && (await insideWorkTree(absolute))) {
      for (const name of await gitListed(absolute)) found.push(join(absolute, name));
    } else {
      await walk(absolute, noIgnore, found);
    }
    found.sort();
    for (const path of found)
      targets.push({ absolute: path, display: displayPath(cwd, path), explicit: false });
  }
  return targets;
}

/**
 * Scans the targets on this thread, findings in the targets' order. (Worker threads taking files from a
 * shared counter, as ripgrep does, were measured slower on the bench's tree with other work on the machine
 * — 0.43–0.74 s against 0.32–0.58 s — and cost more CPU, so the scan stays on one thread.)
 */
export async function scanTargets(targets: FileTarget[]): Promise<{ findings: Finding[]; stats: FileStats }> {
  const findings: Finding[] = [];
  const stats: FileStats = { files: 0, binary: 0, symlinks: 0, unreadable: 0 };
  const buffer = Buffer.allocUnsafe(CHUNK_SIZE);
  for (const target of targets) {
    const outcome = scanFile(target, buffer);
    if (outcome === 'symlink') stats.symlinks++;
    if (outcome === 'unreadable') stats.unreadable++;
    if (typeof outcome === 'string') continue;
    stats.files++;
    if (outcome === null) {
      stats.binary++;
      continue;
    }
    for (const hit of outcome) findings.push({ ...hit, source: 'file', path: target.display, commit: null });
  }
  return { findings, stats };
}

/** Whether a path exists without following a final symlink (for usage errors on PATH arguments). */
export async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
