/**
 * `cohera webhooks …`: the endpoints Cohera signs and sends events to (DESIGN §5.5). The `whsec_` signing
 * secret is shown once, by `create` and `rotate-secret`.
 */
import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../context.ts';
import { UsageError } from '../output/index.ts';
import type {
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointUpdateParams,
  WebhookEventFilter,
} from '../sdk.ts';
import { confirm } from './manage/confirm.ts';
import { date, list, text } from './manage/format.ts';
import { fetchList, pageOptions, pageParams } from './manage/list.ts';
import { commaList, duration, oneOf } from './manage/parse.ts';
import { showOnce } from './manage/shown-once.ts';

const SHOWN_ONCE =
  'This signing secret is shown only once: give it to your receiver (new Webhooks(secret)) now.';
const HEADERS = ['id', 'url', 'events', 'mode', 'status', 'description', 'created'];

function row(endpoint: WebhookEndpoint): string[] {
  const status = endpoint.disabled_reason
    ? `${endpoint.status} (${endpoint.disabled_reason})`
    : endpoint.status;
  return [
    endpoint.id,
    endpoint.url,
    list(endpoint.events),
    endpoint.mode,
    status,
    text(endpoint.description),
    date(endpoint.created_at),
  ];
}

function deliveryRow(delivery: WebhookDelivery): string[] {
  return [
    delivery.id,
    delivery.event_type,
    delivery.status,
    String(delivery.attempts),
    date(delivery.last_attempt_at),
    text(delivery.last_response_status),
    text(delivery.last_error),
    date(delivery.next_attempt_at),
  ];
}

export function register(program: Command, ctx: CliContext): void {
  const webhooks = program
    .command('webhooks')
    .description('Manage webhook endpoints, their signing secrets and deliveries')
    .addHelpText(
      'after',
      '\nExample:\n  cohera webhooks create --url https://example.com/hooks --events certificate.expiring,api_key.leaked',
    );

  pageOptions(webhooks.command('list').description("List the organization's webhook endpoints"))
    .addHelpText('after', '\nExample:\n  cohera webhooks list --json')
    .action(async (options) => {
      const result = await fetchList(
        (await ctx.client()).webhookEndpoints.list(pageParams(options)),
        options,
      );
      if (ctx.jsonMode) return ctx.output.json(result);
      ctx.output.table(HEADERS, result.data.map(row));
      if (result.next_cursor) ctx.output.progress(`more endpoints: --all, or --cursor ${result.next_cursor}`);
    });

  webhooks
    .command('create')
    .description('Add an endpoint; prints its whsec_ signing secret once')
    .requiredOption('--url <url>', 'where to POST events (https://)')
    .option('--events <types>', 'comma-separated event types, or * for all (default *)', commaList)
    .option('--description <text>', 'what the endpoint is for')
    .addHelpText(
      'after',
      '\nExample:\n  cohera webhooks create --url https://example.com/hooks --events certificate.expiring,api_key.leaked',
    )
    .action(async (options) => {
      const created = await (await ctx.client()).webhookEndpoints.create({
        url: options.url,
        events: (options.events ?? ['*']) as WebhookEventFilter[],
        ...(options.description !== undefined ? { description: options.description } : {}),
      });
      if (ctx.jsonMode) return ctx.output.json(created);
      const { secret, ...shown } = created;
      showOnce(
        ctx,
        {
          describe: () => ctx.output.table(HEADERS, [row(shown)]),
          summary: `Created ${shown.id} (${shown.url}).`,
        },
        { label: 'signing secret', value: secret, warning: SHOWN_ONCE },
      );
    });

  webhooks
    .command('update')
    .description("Change an endpoint's URL, events or description, or disable or re-enable it")
    .argument('<id>', 'the endpoint id (whe_…)')
    .option('--url <url>', 'the new URL')
    .option('--events <types>', 'the new comma-separated event types (replaces the list)', commaList)
    .option('--description <text>', 'the new description')
    .option(
      '--status <status>',
      'disabled, or enabled (also replays failed deliveries)',
      oneOf('enabled', 'disabled'),
    )
    .addHelpText('after', '\nExample:\n  cohera webhooks update whe_123 --status enabled')
    .action(async (id, options) => {
      const params: WebhookEndpointUpdateParams = {};
      if (options.url !== undefined) params.url = options.url;
      if (options.events !== undefined) params.events = options.events as WebhookEventFilter[];
      if (options.description !== undefined) params.description = options.description;
      if (options.status !== undefined) params.status = options.status;
      if (Object.keys(params).length === 0)
        throw new UsageError('nothing to change: give --url, --events, --description or --status');
      const endpoint = await (await ctx.client()).webhookEndpoints.update(id, params);
      if (ctx.jsonMode) return ctx.output.json(endpoint);
      ctx.output.table(HEADERS, [row(endpoint)]);
    });

  webhooks
    .command('delete')
    .description('Delete an endpoint: deliveries to it stop (asks first on a terminal)')
    .argument('<id>', 'the endpoint id (whe_…)')
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .addHelpText('after', '\nExample:\n  cohera webhooks delete whe_123 --yes')
    .action(async (id, options) => {
      await confirm(`Delete webhook endpoint ${id}? Its pending deliveries are dropped.`, options);
      await (await ctx.client()).webhookEndpoints.delete(id);
      if (ctx.jsonMode) return ctx.output.json({ id, deleted: true });
      ctx.output.line(`Deleted ${id}.`);
    });

  webhooks
    .command('rotate-secret')
    .description('A new signing secret, printed once; the old one also signs during the grace period')
    .argument('<id>', 'the endpoint id (whe_…)')
    .option(
      '--grace-period <duration>',
      'how long the old secret also signs: 24h (default), 0, up to 7d',
      duration,
    )
    .addHelpText('after', '\nExample:\n  cohera webhooks rotate-secret whe_123 --grace-period 1h')
    .action(async (id, options) => {
      const params = options.gracePeriod === undefined ? {} : { grace_period_seconds: options.gracePeriod };
      const rotated = await (await ctx.client()).webhookEndpoints.rotateSecret(id, params);
      if (ctx.jsonMode) return ctx.output.json(rotated);
      ctx.output.secret('signing secret', rotated.secret, SHOWN_ONCE);
    });

  webhooks
    .command('test')
    .description('Send a webhook.test event to the endpoint')
    .argument('<id>', 'the endpoint id (whe_…)')
    .addHelpText('after', '\nExample:\n  cohera webhooks test whe_123 && cohera webhooks deliveries whe_123')
    .action(async (id) => {
      const queued = await (await ctx.client()).webhookEndpoints.test(id);
      if (ctx.jsonMode) return ctx.output.json(queued);
      ctx.output.line(`Queued ${queued.message_id}: see \`cohera webhooks deliveries ${id}\`.`);
    });

  pageOptions(
    webhooks
      .command('deliveries')
      .description("An endpoint's delivery log: one line per message with its last attempt")
      .argument('<id>', 'the endpoint id (whe_…)'),
  )
    .addHelpText('after', '\nExample:\n  cohera webhooks deliveries whe_123 --limit 50')
    .action(async (id, options) => {
      const client = await ctx.client();
      const result = await fetchList(client.webhookEndpoints.deliveries(id, pageParams(options)), options);
      if (ctx.jsonMode) return ctx.output.json(result);
      ctx.output.table(
        ['message', 'event', 'status', 'attempts', 'last attempt', 'response', 'error', 'next attempt'],
        result.data.map(deliveryRow),
      );
      if (result.next_cursor)
        ctx.output.progress(`more deliveries: --all, or --cursor ${result.next_cursor}`);
    });
}
