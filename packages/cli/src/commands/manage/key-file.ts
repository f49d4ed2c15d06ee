/**
 * Writing a `service-account.json`: the private key exists nowhere else, so the file is created mode 0600
 * and an existing file is never replaced without `--force`. The file is opened before the key is asked
 * for, so a key is never generated that could not be saved; with `--force` the new content goes to a
 * private temporary file renamed over the old one, so no reader ever sees a half-written or world-readable
 * key.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CliError } from '../../output/index.ts';

export interface KeyFile {
  write(content: string): Promise<void>;
  /** Removes what was prepared (the key could not be created). */
  abandon(): Promise<void>;
}

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

export async function prepareKeyFile(path: string, force: boolean): Promise<KeyFile> {
  const target = force ? join(dirname(path), `.${basename(path)}.${process.pid}.tmp`) : path;
  let handle: FileHandle;
  try {
    handle = await open(target, CREATE_NEW, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new CliError(`${path} exists: refusing to overwrite it (pass --force to replace it)`, 1);
    throw new CliError(`cannot write ${path}: ${(error as Error).message}`, 1);
  }
  return {
    async write(content) {
      try {
        await handle.writeFile(content, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (force) await rename(target, path);
    },
    async abandon() {
      await handle.close().catch(() => {});
      await unlink(target).catch(() => {});
    },
  };
}
