/**
 * `cohera apps …`: the organization's OAuth apps (DESIGN §4, §5.3). A confidential app's client secret is
 * shown once, by `create` and `rotate-secret`.
 */
import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../context.ts';
import { UsageError } from '../output/index.ts';
import type { OAuthClient, OAuthClientUpdateParams, OAuthClientWithSecret, Scope } from '../sdk.ts';
import { confirm } from './manage/confirm.ts';
import { date, list, text } from './manage/format.ts';
import { fetchList, pageOptions, pageParams } from './manage/list.ts';
import { collect, commaList, duration, oneOf } from './manage/parse.ts';
import { showOnce } from './manage/shown-once.ts';

const SHOWN_ONCE = "This client secret is shown only once: store it in your app's secret configuration now.";
const HEADERS = ['id', 'client id', 'name', 'type', 'mode', 'scopes', 'redirect URIs', 'created'];

function row(app: OAuthClient): string[] {
  return [
    app.id,
    app.client_id,
    app.name,
    app.client_type,
    app.mode,
    list(app.scopes),
    list(app.redirect_uris),
    date(app.created_at),
  ];
}

function describe(ctx: CliContext, app: OAuthClient): void {
  ctx.output.table(HEADERS, [row(app)]);
  for (const problem of app.redirect_uri_problems)
    ctx.output.progress(`redirect URI ${problem.redirect_uri} is refused: ${problem.problem}`);
}

function showSecret(ctx: CliContext, app: OAuthClientWithSecret, extra = ''): void {
  if (ctx.jsonMode) {
    ctx.output.json(app);
    return;
  }
  const { client_secret, ...shown } = app;
  if (!client_secret) {
    describe(ctx, shown);
    ctx.output.info(`${app.client_id} is a public app: it has no secret (it uses PKCE).`);
    return;
  }
  showOnce(
    ctx,
    { describe: () => describe(ctx, shown), summary: `${app.id} (${app.name}): client_id ${app.client_id}` },
    { label: 'client secret', value: client_secret, warning: `${SHOWN_ONCE}${extra}` },
  );
}

export function register(program: Command, ctx: CliContext): void {
  const apps = program
    .command('apps')
    .description('Manage OAuth apps: redirect URIs, scopes and client secrets')
    .addHelpText(
      'after',
      '\nExample:\n  cohera apps create --name Portal --redirect-uri https://portal.example.com/callback --scopes read:certificates',
    );

  pageOptions(apps.command('list').description("List the organization's OAuth apps"))
    .addHelpText('after', '\nExample:\n  cohera apps list --json')
    .action(async (options) => {
      const result = await fetchList((await ctx.client()).oauthClients.list(pageParams(options)), options);
      if (ctx.jsonMode) return ctx.output.json(result);
      ctx.output.table(HEADERS, result.data.map(row));
      if (result.next_cursor) ctx.output.progress(`more apps: --all, or --cursor ${result.next_cursor}`);
    });

  apps
    .command('create')
    .description('Register an OAuth app; prints its client secret once')
    .requiredOption('--name <name>', 'shown to people on the consent page')
    .requiredOption('--redirect-uri <uri>', 'an exact redirect URI (repeat for several)', collect)
    .requiredOption('--scopes <scopes>', 'the most the app may ask for, comma-separated', commaList)
    .option(
      '--type <type>',
      'confidential (default: has a secret) or public (PKCE only)',
      oneOf('confidential', 'public'),
    )
    .option('--mode <mode>', 'live (default) or test', oneOf('live', 'test'))
    .addHelpText(
      'after',
      '\nExample:\n  cohera apps create --name Portal --redirect-uri https://portal.example.com/callback --scopes read:certificates',
    )
    .action(async (options) => {
      const app = await (await ctx.client()).oauthClients.create({
        name: options.name,
        redirect_uris: options.redirectUri,
        client_type: options.type ?? 'confidential',
        scopes: options.scopes as Scope[],
        ...(options.mode ? { mode: options.mode } : {}),
      });
      showSecret(ctx, app);
    });

  apps
    .command('update')
    .description("Change an app's name, redirect URIs or scopes (lists are replaced)")
    .argument('<id>', 'the app id (cli_…)')
    .option('--name <name>', 'the new name')
    .option('--redirect-uri <uri>', 'the new redirect URIs (repeat for several)', collect)
    .option(
      '--scopes <scopes>',
      'the new scopes, comma-separated (narrowing ends wider authorizations)',
      commaList,
    )
    .addHelpText(
      'after',
      '\nExample:\n  cohera apps update cli_123 --redirect-uri https://portal.example.com/cb',
    )
    .action(async (id, options) => {
      const params: OAuthClientUpdateParams = {};
      if (options.name !== undefined) params.name = options.name;
      if (options.redirectUri !== undefined) params.redirect_uris = options.redirectUri;
      if (options.scopes !== undefined) params.scopes = options.scopes as Scope[];
      if (Object.keys(params).length === 0)
        throw new UsageError('nothing to change: give --name, --redirect-uri or --scopes');
      const app = await (await ctx.client()).oauthClients.update(id, params);
      if (ctx.jsonMode) return ctx.output.json(app);
      describe(ctx, app);
    });

  apps
    .command('rotate-secret')
    .description("Replace a confidential app's client secret; prints the new one once")
    .argument('<id>', 'the app id (cli_…)')
    .option(
      '--grace-period <duration>',
      'how long the old secret keeps working: 24h, 30m, 0, or seconds',
      duration,
    )
    .addHelpText('after', '\nExample:\n  cohera apps rotate-secret cli_123 --grace-period 1h')
    .action(async (id, options) => {
      const params = options.gracePeriod === undefined ? {} : { grace_period_seconds: options.gracePeriod };
      const app = await (await ctx.client()).oauthClients.rotateSecret(id, params);
      showSecret(
        ctx,
        app,
        app.previous_secret_expires_at
          ? ` The old secret works until ${text(date(app.previous_secret_expires_at))}.`
          : '',
      );
    });

  apps
    .command('delete')
    .description('Delete an app and revoke every token issued to it (asks first on a terminal)')
    .argument('<id>', 'the app id (cli_…)')
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .addHelpText('after', '\nExample:\n  cohera apps delete cli_123 --yes')
    .action(async (id, options) => {
      await confirm(`Delete app ${id}? Every token issued to it stops working.`, options);
      await (await ctx.client()).oauthClients.delete(id);
      if (ctx.jsonMode) return ctx.output.json({ id, deleted: true });
      ctx.output.line(`Deleted ${id}.`);
    });
}
