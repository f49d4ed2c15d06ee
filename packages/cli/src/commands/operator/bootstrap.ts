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
}

export async function runBootstrap(options: BootstrapOptions, ctx: CliContext): Promise<void> {
  const orgName = required('--org', options.org);
  const email = required('--email', options.email);
  const tier = parseTier(options.tier, 'free');
  await withDatabase(async (settings, database) => {
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
    ctx.output.line(
      [
        `Created organization ${result.org_id} (${tier}) and its owner.`,
        `Database: ${describeDatabase(database)}`,
        '',
        `  email      ${result.email}`,
        `  password   ${bold(result.password)}`,
        `  api key    ${bold(result.api_key)}`,
        '',
        'The password and the API key are shown only now: store them in a secret manager.',
        `Sign in to the dashboard at ${settings.publicUrl}/dashboard/ with the email and password,`,
        'or call the API with: Authorization: Bearer <api key>',
      ].join('\n'),
    );
    if (ctx.output.isTTY) ctx.output.warn('the password and the API key above are not shown again');
  });
}
