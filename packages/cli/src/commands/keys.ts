/**
 * `cohera keys …`: the organization's API keys (DESIGN §4, §5.1). A key's secret is shown once, by
 * `create` and `roll`; every other command shows its prefix and last four characters only.
 */
import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../context.ts';
import type { ApiKey, ApiKeyCreateParams, Scope } from '../sdk.ts';
import { confirm } from './manage/confirm.ts';
import { date, list, redacted, text } from './manage/format.ts';
import { fetchList, pageOptions, pageParams } from './manage/list.ts';
import { commaList, duration, integer, oneOf } from './manage/parse.ts';
import { showOnce } from './manage/shown-once.ts';

const SHOWN_ONCE =
  'This key is shown only once: store it in a secret manager or an environment variable now.';

const HEADERS = ['id', 'name', 'key', 'mode', 'scopes', 'status', 'expires', 'last used'];

function row(key: ApiKey): string[] {
  const status = key.leaked_at && key.status === 'active' ? 'active (leaked!)' : key.status;
  return [
    key.id,
    key.name,
    redacted(key.prefix, key.last4),
    key.mode,
    list(key.scopes),
    status,
    date(key.expires_at),
    date(key.last_used_at),
  ];
}

/** One key, field by field: what `get` shows and what `create`/`roll` show beside the secret. */
export function describeKey(ctx: CliContext, key: ApiKey): void {
  const fields: [string, string][] = [
    ['id', key.id],
    ['name', key.name],
    ['key', redacted(key.prefix, key.last4)],
    ['mode', key.mode],
    ['scopes', list(key.scopes)],
    ['status', key.status],
    ['created', date(key.created_at)],
    ['expires', date(key.expires_at)],
    ['last used', date(key.last_used_at)],
    ['rate limit', key.rate_limit_per_minute === null ? '—' : `${key.rate_limit_per_minute}/min`],
  ];
  if (key.revoked_at) fields.push(['revoked', `${date(key.revoked_at)} (${text(key.revoked_reason)})`]);
  if (key.leaked_at) fields.push(['leaked', date(key.leaked_at)]);
  if (key.rolled_from) fields.push(['rolled from', key.rolled_from]);
  if (key.replaced_by) fields.push(['replaced by', key.replaced_by]);
  ctx.output.table(
    ['field', 'value'],
    fields.map(([name, value]) => [name, value]),
  );
}

export function register(program: Command, ctx: CliContext): void {
  const keys = program
    .command('keys')
    .description('Create, list, roll and revoke API keys')
    .addHelpText(
      'after',
      '\nExample:\n  cohera keys create --name ci --scopes read:certificates --expires-in-days 90',
    );

  pageOptions(
    keys
      .command('list')
      .description("List the organization's API keys (never their secrets)")
      .option('--mode <mode>', 'only live or only test keys', oneOf('live', 'test')),
  )
    .addHelpText('after', '\nExample:\n  cohera keys list --all --json')
    .action(async (options) => {
      const client = await ctx.client();
      const params = { ...pageParams(options), ...(options.mode ? { mode: options.mode } : {}) };
      const result = await fetchList(client.apiKeys.list(params), options);
      if (ctx.jsonMode) return ctx.output.json(result);
      ctx.output.table(HEADERS, result.data.map(row));
      if (result.next_cursor) ctx.output.progress(`more keys: --all, or --cursor ${result.next_cursor}`);
    });

  keys
    .command('get')
    .description('Show one API key')
    .argument('<id>', 'the key id (key_…)')
    .addHelpText('after', '\nExample:\n  cohera keys get key_123')
    .action(async (id) => {
      const key = await (await ctx.client()).apiKeys.get(id);
      if (ctx.jsonMode) return ctx.output.json(key);
      describeKey(ctx, key);
    });

  keys
    .command('create')
    .description('Create an API key and print it once')
    .requiredOption('--name <name>', 'what the key is for')
    .requiredOption('--scopes <scopes>', 'comma-separated, e.g. read:certificates,read:suppliers', commaList)
    .option('--mode <mode>', 'live (default) or test', oneOf('live', 'test'))
    .option('--expires-in-days <days>', 'the key stops working after this many days', integer(1))
    .option('--rate-limit-per-minute <n>', "a limit below the organization's", integer(1))
    .addHelpText(
      'after',
      '\nExample:\n  cohera keys create --name ci --scopes read:certificates --mode test --expires-in-days 90',
    )
    .action(async (options) => {
      const params: ApiKeyCreateParams = { name: options.name, scopes: options.scopes as Scope[] };
      if (options.mode) params.mode = options.mode;
      if (options.expiresInDays !== undefined) params.expires_in_days = options.expiresInDays;
      if (options.rateLimitPerMinute !== undefined) params.rate_limit_per_minute = options.rateLimitPerMinute;
      const created = await (await ctx.client()).apiKeys.create(params);
      if (ctx.jsonMode) return ctx.output.json(created);
      const { key, ...shown } = created;
      showOnce(
        ctx,
        { describe: () => describeKey(ctx, shown), summary: `Created ${shown.id} (${shown.name}).` },
        { label: 'API key', value: key, warning: SHOWN_ONCE },
      );
    });

  keys
    .command('roll')
    .description('Replace a key by a new one with the same scopes; the old one works for a grace period')
    .argument('<id>', 'the key id (key_…)')
    .option(
      '--grace-period <duration>',
      'how long the old key keeps working: 24h (default), 30m, 0, or seconds',
      duration,
    )
    .addHelpText('after', '\nExample:\n  cohera keys roll key_123 --grace-period 1h')
    .action(async (id, options) => {
      const params = options.gracePeriod === undefined ? {} : { grace_period_seconds: options.gracePeriod };
      const rolled = await (await ctx.client()).apiKeys.roll(id, params);
      if (ctx.jsonMode) return ctx.output.json(rolled);
      const { key, ...shown } = rolled;
      showOnce(
        ctx,
        { describe: () => describeKey(ctx, shown), summary: `Rolled ${id}: the new key is ${shown.id}.` },
        {
          label: 'new API key',
          value: key,
          warning: `${SHOWN_ONCE} The old key ${id} keeps working for the grace period.`,
        },
      );
    });

  keys
    .command('revoke')
    .description('Revoke a key at once (asks first on a terminal)')
    .argument('<id>', 'the key id (key_…)')
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .addHelpText('after', '\nExample:\n  cohera keys revoke key_123 --yes')
    .action(async (id, options) => {
      await confirm(`Revoke API key ${id}? Every request with it fails from now on.`, options);
      const key = await (await ctx.client()).apiKeys.revoke(id);
      if (ctx.jsonMode) return ctx.output.json(key);
      ctx.output.line(`Revoked ${key.id} (${key.name}, ${redacted(key.prefix, key.last4)}).`);
    });

  keys
    .command('usage')
    .description("A key's requests, errors and rate-limited requests per day")
    .argument('<id>', 'the key id (key_…)')
    .option('--days <days>', 'how many days back (default 30)', integer(1))
    .addHelpText('after', '\nExample:\n  cohera keys usage key_123 --days 7')
    .action(async (id, options) => {
      const usage = await (await ctx.client()).apiKeys.usage(id, options.days ? { days: options.days } : {});
      if (ctx.jsonMode) return ctx.output.json(usage);
      ctx.output.table(
        ['date', 'requests', 'errors', 'rate limited'],
        usage.data.map((day) => [
          day.date,
          String(day.requests),
          String(day.errors),
          String(day.rate_limited),
        ]),
      );
    });
}
