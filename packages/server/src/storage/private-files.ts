/**
 * The files the server keeps in the data dir hold the installation's secrets: the SQLite database (key
 * hashes, sealed secrets, the audit chain), its `-wal` and `-shm` companions (recent pages of the same
 * data) and `master.key`. They are owner-only (0600) whatever the umask, and whoever made the directory:
 * an operator's `mkdir` leaves a 0755 directory, in which a file created under the usual umask 022 would
 * be readable by every local user (issue 14).
 *
 * A new file is created 0600 before anything writes to it (SQLite then creates `-wal` and `-shm` with its
 * database file's mode). A file found looser on start, made by an earlier version or by hand, is
 * tightened rather than refused: refusing would stop a server over something it can fix itself, and the
 * data is no safer for staying readable until an operator steps in. The caller logs the files it
 * tightened, since whoever could read them may already have done so.
 */
import { chmodSync, closeSync, constants, fchmodSync, openSync, statSync } from 'node:fs';

export const PRIVATE_FILE_MODE = 0o600;

/** A file whose mode was looser than 0600, and what it was (octal, for the log). */
export interface TightenedFile {
  file: string;
  mode: string;
}

/**
 * Creates `file` empty and owner-only unless it exists. `O_EXCL`, so a file another process made a moment
 * ago is left alone; `fchmod` after the create, because the umask can only remove bits from the mode
 * asked for (a umask of 0277 would leave a 0400 file the server cannot write).
 */
export function createPrivateFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

/** Sets every existing file of `files` that group or others may use to 0600; returns those it changed. */
export function tightenPrivateFiles(files: readonly string[]): TightenedFile[] {
  const tightened: TightenedFile[] = [];
  for (const file of files) {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if ((mode & 0o077) === 0) continue;
    chmodSync(file, PRIVATE_FILE_MODE);
    tightened.push({ file, mode: `0${mode.toString(8)}` });
  }
  return tightened;
}
