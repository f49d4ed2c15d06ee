/**
 * `cohera security report`: the reference's security checklist as the server answers it from audit and
 * usage data (DESIGN §5.4). Exit 1 when any check fails ("findings", DESIGN §9.1); a warning alone exits 0,
 * so the command can gate CI on what must be fixed without failing on advice.
 */
import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../context.ts';
import type { SecurityCheck } from '../sdk.ts';

function itemLabel(item: SecurityCheck['items'][number]): string {
  if ('service_account_name' in item) return `${item.key_id} (${item.service_account_name}): ${item.action}`;
  return `${item.key_id} ${item.name} (${item.prefix}…${item.last4}): ${item.action}`;
}

export function register(program: Command, ctx: CliContext): void {
  const security = program
    .command('security')
    .description("The organization's security checklist")
    .addHelpText('after', '\nExample:\n  cohera security report');

  security
    .command('report')
    .description('Each check with its status and findings; exit 1 when a check fails')
    .option('--details', 'list every finding under its check')
    .addHelpText('after', '\nExample:\n  cohera security report --details')
    .action(async (options) => {
      const report = await (await ctx.client()).security.report();
      if (report.checks.some((check) => check.status === 'fail')) process.exitCode = 1;
      if (ctx.jsonMode) return ctx.output.json(report);
      const { color } = ctx.output;
      const paint = { pass: color.green, warn: color.yellow, fail: color.red };
      ctx.output.table(
        ['check', 'status', 'count', 'what to do'],
        report.checks.map((check) => [
          check.id,
          paint[check.status](check.status),
          String(check.items.length),
          check.status === 'pass' ? '—' : check.suggested_action.trim(),
        ]),
      );
      if (options.details) {
        for (const check of report.checks) {
          if (check.items.length === 0) continue;
          ctx.output.line(`\n${check.title}:`);
          for (const item of check.items) ctx.output.line(`  ${itemLabel(item)}`);
        }
      }
    });
}
