/** `cohera admin bootstrap`: an org, its owner (generated password) and an `admin` API key, shown once. */
import { BootstrapError, bootstrap, operatorAuditLog, systemClock } from '@cohera/server';
import type { CliContext } from '../../context.ts';
import { CliError } from '../../output/error.ts';
import { describeDatabase, withDatabase } from './config.ts';
import { parseTier, required } from './parse.ts';

export interface BootstrapOptions {
  org?: string;
  email?: string;
  tier?: string;
  /** Create a new database even though a Cohera server already answers on the port (fresh-database.ts). */
  yes?: boolean;
}

export async function runBootstrap(options: BootstrapOptions, ctx: CliContext): Promise<void> {
  const orgName = required('--org', options.org);
  const email = required('--email', options.email);
  const tier = parseTier(options.tier, 'free');
  const policy = { create: 'unless-served', yes: options.yes === true } as const;
  await withDatabase(policy, ctx, async (settings, database) => {
    const result = await bootstrap(
      database.db,
      { orgName, email, tier },
      Date.now(),
      operatorAuditLog(database.db, settings.masterKey, systemClock),
    ).catch((error: unknown) => {
      throw error instanceof BootstrapError ? new CliError(error.message, 1, error.code) : error;
    });
    if (ctx.jsonMode) {
      // The contract (DESIGN §9): exactly {org_id, user_id, email, password, api_key} on stdout.
      ctx.output.progress(`Database: ${describeDatabase(database)}`);
      ctx.output.json(result);
      return;
    }
    const { bold } = ctx.output.color;
    // The key is printed once, as the value of its export line: the line a person pastes into the shell
    // that calls the API (README's tour), so there is no second copy of it to scroll past or screenshot,
    // and no placeholder line that pastes as a broken command.
    ctx.output.line(
      [
        `Created organization ${result.org_id} (${tier}) and its owner.`,
        `Database: ${describeDatabase(database)}`,
        '',
        `  email      ${result.email}`,
        `  password   ${bold(result.password)}`,
        '',
        `  export COHERA_BASE_URL=${settings.publicUrl}`,
        `  export COHERA_API_KEY=${bold(result.api_key)}`,
        '',
        'The password and the API key are shown only now: store them in a secret manager.',
        `Sign in to the dashboard at ${settings.publicUrl}/dashboard/ with the email and password.`,
        'Paste the two export lines into the shell you call the API from (the tour in README.md does);',
        'every request carries the key as: Authorization: Bearer $COHERA_API_KEY',
      ].join('\n'),
    );
    if (ctx.output.isTTY) ctx.output.warn('the password and the API key above are not shown again');
  });
}
