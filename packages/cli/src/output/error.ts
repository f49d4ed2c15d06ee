/** Errors the CLI reports itself: one stderr line, and the exit code (1 = a failed call, 2 = usage). */
export class CliError extends Error {
  readonly exitCode: number;
  /** Stable, machine-readable, for `--json` output: `{error: {code, message}}`. */
  readonly code: string;

  constructor(message: string, exitCode = 1, code = exitCode === 2 ? 'usage_error' : 'cli_error') {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** A usage error: exit 2, like commander's own. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2, 'usage_error');
    this.name = 'UsageError';
  }
}
