/** `cohera login`, `logout`, `whoami` (DESIGN §9.1). */
import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../../context.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('sign in with your browser (device flow) and save the login for this server')
    .option('--scopes <scopes>', 'ask for fewer scopes, comma-separated (default: all your role holds)')
    .addHelpText(
      'after',
      '\nExamples:\n  cohera login\n  cohera login --base-url https://cohera.example.com --scopes read:*,admin',
    )
    .action(async (options) => {
      await (await import('./login.ts')).runLogin(options, ctx);
    });
  program
    .command('logout')
    .description('revoke and delete the saved login for this server')
    .addHelpText('after', '\nExample:\n  cohera logout')
    .action(async () => {
      await (await import('./logout.ts')).runLogout(ctx);
    });
  program
    .command('whoami')
    .description('show who the credential is and where it comes from (COHERA_API_KEY or the saved login)')
    .addHelpText('after', '\nExample:\n  cohera whoami --json')
    .action(async () => {
      await (await import('./whoami.ts')).runWhoami(ctx);
    });
}
