/**
 * The operator commands (DESIGN §9): `cohera server` and `cohera admin …`. They read the server's
 * configuration and open its database, so each action imports its module (and with it the server's code)
 * only when it runs: every other command starts without it.
 */
import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../../context.ts';

const CONFIG_NOTE =
  '\nConfiguration comes from the environment, as for the server (COHERA_DATA_DIR, COHERA_DATABASE_URL, …).';

const FRESH_NOTE =
  '\nWith no database there yet, it first asks whether a Cohera server already answers on COHERA_HOST:COHERA_PORT' +
  '\n(GET /health): if one does, it uses another database, and bootstrap stops (exit 2; on a terminal it asks).';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('server')
    .description('run the Cohera server (configured by COHERA_* environment variables)')
    .addHelpText('after', `\nExample:\n  COHERA_PORT=8080 cohera server${CONFIG_NOTE}`)
    .action(async () => {
      await (await import('./server.ts')).runServer();
    });

  const admin = program
    .command('admin')
    .description('operate a server directly on its database: bootstrap an org, set tiers, rotate keys')
    .addHelpText(
      'after',
      `\nExamples:\n  cohera admin bootstrap --org Acme --email owner@example.com\n  cohera admin set-tier --org org_… --tier pro${CONFIG_NOTE}`,
    );

  admin
    .command('bootstrap')
    .description('create an org, its owner and an admin API key, and print them once')
    .option('--org <name>', 'the organization name (required)')
    .option('--email <email>', "the owner's email (required)")
    .option('--tier <tier>', 'free, pro or enterprise', 'free')
    .option(
      '-y, --yes',
      'create a new database even though a Cohera server already answers on COHERA_PORT (it uses another one)',
    )
    .addHelpText(
      'after',
      `\nExample:\n  cohera admin bootstrap --org Acme --email owner@example.com --json${CONFIG_NOTE}${FRESH_NOTE}`,
    )
    .action(async (options) => {
      await (await import('./bootstrap.ts')).runBootstrap(options, ctx);
    });

  admin
    .command('set-tier')
    .description("set an org's tier, and custom rate limits for enterprise")
    .option('--org <id>', 'the organization id (required)')
    .option('--tier <tier>', 'free, pro or enterprise (required)')
    .option('--per-minute <n>', 'enterprise only: requests per minute')
    .option('--per-day <n>', 'enterprise only: requests per day')
    .addHelpText(
      'after',
      `\nExample:\n  cohera admin set-tier --org org_… --tier enterprise --per-minute 1000 --per-day 200000${CONFIG_NOTE}`,
    )
    .action(async (options) => {
      await (await import('./set-tier.ts')).runSetTier(options, ctx);
    });

  admin
    .command('rotate-signing-key')
    .description('create a new OAuth token-signing key (--revoke-old: withdraw every older key now)')
    .option('--revoke-old', 'emergency: every access token issued so far stops working on every node')
    .addHelpText('after', `\nExample:\n  cohera admin rotate-signing-key --json${CONFIG_NOTE}`)
    .action(async (options) => {
      await (await import('./rotate-signing-key.ts')).runRotateSigningKey(options, ctx);
    });

  admin
    .command('audit-reseal')
    .description("reseal the audit chains' head and purge marker (after a master-key change)")
    .option('--org <id>', 'one organization')
    .option('--all', 'every organization')
    .option('--drop-unverifiable', 'drop the oldest events that cannot be verified')
    .addHelpText('after', `\nExample:\n  cohera admin audit-reseal --all --json${CONFIG_NOTE}`)
    .action(async (options) => {
      await (await import('./audit-reseal.ts')).runAuditReseal(options, ctx);
    });
}
