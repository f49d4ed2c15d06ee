/**
 * `cohera scan` as its own entry point: bin/cohera.js comes here directly for `scan`, so the scanner
 * starts without loading the server (about 1–2 s of imports), which matters in a pre-commit hook that
 * runs on every commit.
 */
import { runScan, type ScanIO } from './command.ts';

export function processIO(): ScanIO {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Runs `cohera scan` with the process's arguments after `scan` and sets the exit status. */
export async function main(argv: string[]): Promise<void> {
  try {
    process.exitCode = await runScan(argv, processIO());
  } catch (error) {
    process.stderr.write(`cohera scan: ${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}
