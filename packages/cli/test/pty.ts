/**
 * A pseudo-terminal for the CLI's TTY tests: util-linux `script` runs a command with stdin, stdout and
 * stderr on one terminal, as a person's screen has them.
 *
 * `script` starts its command through `$SHELL -c`. bash replaces itself with a lone command, but dash
 * (Debian's /bin/sh, and `script`'s choice when SHELL is unset) stays as its parent: a Ctrl+C typed on the
 * terminal then reaches the shell too, the shell dies of it and `script -e` reports 130 although the
 * command itself exited 0. That passed on a machine whose SHELL was bash and failed on one whose was not.
 * So the command is `exec`'d (whatever the shell, it is the terminal's only process) and SHELL is pinned
 * to /bin/sh, so every machine runs the same thing.
 */
import { execFileSync } from 'node:child_process';

export const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** The arguments for `script` that run `argv` on a fresh pseudo-terminal and return its exit code. */
export function scriptArgs(argv: readonly string[], options: { flush?: boolean } = {}): string[] {
  const command = `exec ${argv.map(quote).join(' ')}`;
  return [options.flush ? '-qfec' : '-qec', command, '/dev/null'];
}

/** Environment entries every `script` run gets (see the module comment). */
export const PTY_ENV = { SHELL: '/bin/sh', TERM: 'xterm-256color' } as const;
