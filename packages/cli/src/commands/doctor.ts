/**
 * `cohera doctor [DIR]` (DESIGN §9.1): the reference's security checklist, answered for a project
 * directory and for the org of the credential, one line per item (pass/warn/fail/skip) with its fix.
 * Exit 1 when an item fails (warnings do not), or when the server could not be asked; 2 on a usage error.
 * The org items need an `admin` credential; without one, or with `--offline`, they are skipped and the
 * project items still run. A key it finds is shown as prefix…last4 only.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { type CliContext, CliError, UsageError } from '../context.ts';
import { checkLine, summaryLine } from '../doctor/format.ts';
import { gatherOrg, NOT_SIGNED_IN, OFFLINE, type OrgData } from '../doctor/org/gather.ts';
import { runDoctor } from '../doctor/run.ts';

const HELP = `
Items (docs/cli.md, "cohera doctor"):
  project  keys_in_tracked_files, keys_in_git_history, env_files_ignored, keys_per_environment
  org      minimal_scopes, key_rotation, webhook_signatures, audit_log, leaked_keys (need an admin credential)

Examples:
  cohera doctor                  this directory and the org of COHERA_API_KEY or your login
  cohera doctor ./api --json     one JSON document: {checks: [{id, status, title, detail, fix}], summary}
  cohera doctor --offline        the project items only, without calling the server

Exit status: 0 nothing failed (warnings allowed), 1 an item failed or the server could not be asked,
2 usage error.`;

async function directory(given: string): Promise<string> {
  const dir = resolve(given);
  const info = await stat(dir).catch(() => null);
  if (!info) throw new UsageError(`no such directory: ${given}`);
  if (!info.isDirectory()) throw new UsageError(`not a directory: ${given}`);
  return dir;
}

/** The org's data, or why it is not there: no credential is a skip, not an error. */
async function orgData(ctx: CliContext, offline: boolean): Promise<OrgData> {
  if (offline) return OFFLINE;
  try {
    await ctx.credential();
  } catch (error) {
    if (error instanceof CliError && error.code === 'not_signed_in') return NOT_SIGNED_IN;
    throw error;
  }
  return gatherOrg(await ctx.client());
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description("Check a project and your org against the reference's security checklist")
    .argument('[dir]', 'the project directory', '.')
    .option('--offline', 'only the project items: do not call the server')
    .addHelpText('after', HELP)
    .action(async (given, options) => {
      const dir = await directory(given);
      const { output } = ctx;
      const { report, error } = await runDoctor(
        dir,
        () => orgData(ctx, options.offline === true),
        (text) => output.progress(text),
      );
      if (report.summary.fail > 0 || error !== null) process.exitCode = 1;
      if (error !== null) output.info(`cohera doctor: the org items were skipped: ${error} (${ctx.baseUrl})`);
      if (ctx.jsonMode) {
        output.json(report);
        return;
      }
      const color = output.color;
      if (output.isTTY) output.line(color.bold(`cohera doctor: ${dir}`));
      for (const check of report.checks) output.line(checkLine(check, color));
      output.line(summaryLine(report, color));
    });
}
