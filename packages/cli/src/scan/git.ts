/** Running git: its output as a string, or as a stream of bytes for `git log -p` of any size. */
import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/**
 * Settings for every git we run, whatever the user's config says: paths unquoted (UTF-8 as it is), no
 * pager, no colour (callers add --no-ext-diff --no-textconv: the raw added bytes are what we search).
 */
const GIT_CONFIG = ['-c', 'core.quotePath=false', '-c', 'color.ui=never'];

export class GitError extends Error {}

/** Runs git in `cwd` and returns its stdout; throws a GitError with git's own message when it fails. */
export function gitOutput(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...GIT_CONFIG, ...args],
      { cwd, maxBuffer: 1024 * 1024 * 1024, encoding: 'utf8', env: gitEnv() },
      (error, stdout, stderr) => {
        if (error) {
          const detail = stderr.trim().split('\n')[0] || error.message;
          reject(new GitError(detail));
          return;
        }
        resolve(stdout);
      },
    );
  });
}

/** Starts git with its stdout as a byte stream (stderr is collected for the error message). */
export function gitStream(args: string[], cwd: string): ChildProcessByStdio<null, Readable, Readable> {
  return spawn('git', [...GIT_CONFIG, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: gitEnv() });
}

/** The environment without anything that would make git page or prompt. */
function gitEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GIT_PAGER: 'cat', PAGER: 'cat', GIT_TERMINAL_PROMPT: '0' };
}
