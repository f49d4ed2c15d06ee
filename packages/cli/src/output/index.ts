/**
 * What a command prints, by the conventions of DESIGN §9.1: data on stdout (exactly one JSON document with
 * `--json`, tables and lines for people otherwise), progress and warnings on stderr, colour only when stdout
 * is a terminal and `NO_COLOR` is unset (https://no-color.org) and `--no-color` was not given.
 */
import Table from 'cli-table3';
import pc from 'picocolors';

export { CliError, UsageError } from './error.ts';
export { renderError } from './render-error.ts';

type Colors = ReturnType<typeof pc.createColors>;

/** The streams a command writes to; tests and the process hand in their own. */
export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface OutputOptions {
  jsonMode: boolean;
  /** `false` with `--no-color`. */
  color?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Colour is for people at a terminal: never in a pipe or file, never with `NO_COLOR` (any non-empty value). */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag = true): boolean {
  return flag && stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

export class Output {
  readonly jsonMode: boolean;
  /** picocolors, disabled unless colour is on (see `colorEnabled`): `ctx.output.color.bold(…)` is safe anywhere. */
  readonly color: Colors;
  readonly isTTY: boolean;
  readonly #streams: OutputStreams;
  readonly #stderrColor: Colors;

  constructor(streams: OutputStreams, options: OutputOptions) {
    this.#streams = streams;
    this.#stderrColor = pc.createColors(
      colorEnabled(streams.stderr, options.env ?? process.env, options.color),
    );
    this.jsonMode = options.jsonMode;
    this.isTTY = streams.stdout.isTTY === true;
    this.color = pc.createColors(colorEnabled(streams.stdout, options.env ?? process.env, options.color));
  }

  /** Exactly one JSON document on stdout (call it once per command). */
  json(value: unknown): void {
    this.#streams.stdout.write(`${JSON.stringify(value, null, this.isTTY ? 2 : undefined)}\n`);
  }

  /** One line of text on stdout. */
  line(text = ''): void {
    this.#streams.stdout.write(`${text}\n`);
  }

  /**
   * Columns for people. No borders: on a terminal the header is bold; in a pipe the columns are plain
   * text separated by spaces, so `grep`/`awk` work on them. Cells are rendered as given (null → "—").
   */
  table(headers: readonly string[], rows: readonly (readonly unknown[])[]): void {
    if (rows.length === 0) {
      this.line(this.color.dim('(none)'));
      return;
    }
    const table = new Table({
      head: headers.map((h) => this.color.bold(h)),
      chars: {
        top: '',
        'top-mid': '',
        'top-left': '',
        'top-right': '',
        bottom: '',
        'bottom-mid': '',
        'bottom-left': '',
        'bottom-right': '',
        left: '',
        'left-mid': '',
        mid: '',
        'mid-mid': '',
        right: '',
        'right-mid': '',
        middle: '  ',
      },
      style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    });
    for (const row of rows) table.push(row.map(cell));
    this.line(
      table
        .toString()
        .split('\n')
        .map((l) => l.trimEnd())
        .join('\n'),
    );
  }

  /**
   * A secret shown once (an API key, a client or webhook secret): the value alone on stdout, so that
   * `cohera keys create … > key.txt` captures just it; on a terminal with its label, and a warning on
   * stderr that it will not be shown again. In `--json` mode nothing goes to stdout here: the command puts
   * the value in its one JSON document.
   */
  secret(label: string, value: string, warning: string): void {
    if (!this.jsonMode) {
      this.#streams.stdout.write(this.isTTY ? `${this.color.bold(label)}: ${value}\n` : `${value}\n`);
    }
    if (this.isTTY) this.warn(warning);
  }

  /** Progress for long work: stderr, and only on a terminal (a script sees the result, not the chatter). */
  progress(text: string): void {
    if (this.#streams.stderr.isTTY) this.#streams.stderr.write(`${this.#stderrColor.dim(text)}\n`);
  }

  /** A warning on stderr, always (it may change what the reader does). */
  warn(text: string): void {
    this.#streams.stderr.write(`cohera: ${this.#stderrColor.yellow(text)}\n`);
  }

  /** A line on stderr for the person at the terminal (instructions, not data). */
  info(text: string): void {
    this.#streams.stderr.write(`${text}\n`);
  }
}

function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}
