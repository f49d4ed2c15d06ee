/**
 * `cohera scan` keeps its own argument parser (src/scan): its arguments pass through untouched. On the
 * usual path bin/cohera.js runs it before commander is even loaded (a pre-commit hook runs it on every
 * commit); this entry makes it reachable behind global options (`cohera --no-color scan`) and listed in
 * `cohera --help`.
 */
import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../context.ts';

export function register(program: Command, _ctx: CliContext): void {
  program
    .command('scan')
    .description('find Cohera API keys in files, in the git history or in staged changes (exit 1 if found)')
    .usage('[PATH…] [--git [--since REV]] [--staged] [--format text|json|sarif] [--revoke]')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]', 'see `cohera scan --help`')
    .addHelpText('after', '\nExample:\n  cohera scan --staged\n  cohera scan install-hook')
    .action(async () => {
      // The raw words after `scan`: commander may have taken global options out of its own view.
      const argv = process.argv.slice(2);
      const rest = argv.slice(argv.indexOf('scan') + 1);
      const [{ runScan }, { processIO }] = await Promise.all([
        import('../scan/command.ts'),
        import('../scan/main.ts'),
      ]);
      process.exitCode = await runScan(rest, processIO());
    });
}
