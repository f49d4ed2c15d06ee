/**
 * The `cohera` command tree (commander; DESIGN §9 and §9.1).
 *
 * Adding a command (the contract for every command module):
 *   1. In `commands/<name>.ts` export `register(program: Command, ctx: CliContext): void` that adds the
 *      command with `program.command('name').description('one line').addHelpText('after',
 *      '\nExample:\n  cohera name …')` and its subcommands, each with a description and an example.
 *   2. Import it below and add it to `COMMANDS` (one line each; order = order in `cohera --help`).
 *   3. In an action: `await ctx.client()` for the SDK client (target and credential resolved, login
 *      refreshed); print with `ctx.output` (`json` once with `ctx.jsonMode`, else `table`/`line`;
 *      `secret` for a shown-once value; `progress` for long work). Throw `CliError(message, exitCode)`
 *      (or `UsageError` for exit 2), or let an SDK error through: `run` turns it into one stderr line
 *      (and `{error: {...}}` on stdout with `--json`). Do not declare `--json`, `--base-url` or
 *      `--no-color`: they are global, accepted anywhere on the line.
 * A command that needs the server's code (the operator commands) imports it inside its action, so that
 * every other command starts without loading it.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from '@commander-js/extra-typings';
import { register as registerApps } from './commands/apps.ts';
import { register as registerAudit } from './commands/audit.ts';
import { register as registerAuth } from './commands/auth/index.ts';
import { register as registerDoctor } from './commands/doctor.ts';
import { register as registerKeys } from './commands/keys.ts';
import { register as registerOperator } from './commands/operator/index.ts';
import { register as registerScan } from './commands/scan.ts';
import { register as registerSecurity } from './commands/security.ts';
import { register as registerServiceAccounts } from './commands/service-accounts.ts';
import { register as registerWebhooks } from './commands/webhooks.ts';
import { type CliContext, ProgramContext } from './context.ts';
import { CliError, type OutputStreams, renderError } from './output/index.ts';

type Register = (program: Command, ctx: CliContext) => void;

/** Every command module, in the order `cohera --help` lists them. */
const COMMANDS: Register[] = [
  registerAuth,
  registerKeys,
  registerServiceAccounts,
  registerApps,
  registerWebhooks,
  registerAudit,
  registerSecurity,
  registerDoctor,
  registerScan,
  registerOperator,
];

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface Program {
  program: Command;
  ctx: ProgramContext;
}

/** The whole tree, with nothing run: `run` parses and dispatches; tests walk it for `--help` coverage. */
export function buildProgram(streams: OutputStreams, env: NodeJS.ProcessEnv = process.env): Program {
  const program = new Command('cohera')
    .description(
      'Cohera from the command line: sign in, manage credentials, check a project, run the server.',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .option('--base-url <url>', 'the Cohera server (default: COHERA_BASE_URL or http://127.0.0.1:8080)')
    .option('--json', 'print exactly one JSON document on stdout')
    .option('--no-color', 'no colour even on a terminal (NO_COLOR=1 does the same)')
    .helpOption('-h, --help', 'show help for the command')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      '\nExamples:\n  cohera login\n  cohera keys list --json\n  cohera doctor .\n\nDocs: docs/cli.md',
    );
  const ctx = new ProgramContext(() => program.opts(), streams, env);
  program.configureOutput({
    writeOut: (text) => streams.stdout.write(text),
    writeErr: (text) => streams.stderr.write(text),
    outputError: (text, write) => write(`cohera: ${text.replace(/^error: /, '')}`),
  });
  for (const register of COMMANDS) register(program as unknown as Command, ctx);
  // Every command in the tree shares the same error handling and help output.
  const configure = (command: Command): void => {
    command.exitOverride();
    command.showSuggestionAfterError(true);
    command.showHelpAfterError(true);
    command.configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
      outputError: (text, write) => write(`cohera: ${text.replace(/^error: /, '')}`),
    });
    command.configureHelp({ showGlobalOptions: true });
    for (const sub of command.commands) configure(sub as unknown as Command);
  };
  configure(program as unknown as Command);
  return { program: program as unknown as Command, ctx };
}

/** Commander's own outcomes that are not errors. */
const SUCCESS_CODES = new Set([
  'commander.helpDisplayed',
  'commander.version',
  'commander.executeSubCommandAsync',
]);

/** Parses `argv` (without node and the script), runs the command, and returns the exit code. */
export async function run(
  argv: string[],
  streams: OutputStreams,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const { program, ctx } = buildProgram(streams, env);
  let active: Command = program;
  program.hook('preAction', (_this, actionCommand) => {
    active = actionCommand as unknown as Command;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (SUCCESS_CODES.has(error.code) || error.exitCode === 0) return 0;
      // Usage errors (unknown command or option, missing argument, a bare group such as `cohera admin`):
      // commander has printed the message, the suggestion and the help on stderr.
      if (argv.includes('--json'))
        streams.stdout.write(
          `${JSON.stringify({ error: { code: 'usage_error', message: error.message.replace(/^error: /, ''), request_id: null } })}\n`,
        );
      return 2;
    }
    const jsonMode = safeJsonMode(ctx);
    const code = renderError(error, streams, jsonMode);
    if (error instanceof CliError && error.exitCode === 2 && !jsonMode) {
      streams.stderr.write('\n');
      active.outputHelp({ error: true });
    }
    return code;
  }
}

function safeJsonMode(ctx: ProgramContext): boolean {
  try {
    return ctx.jsonMode;
  } catch {
    return false;
  }
}
