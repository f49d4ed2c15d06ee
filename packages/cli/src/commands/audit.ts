/**
 * `cohera audit …`: the organization's tamper-evident audit log (DESIGN §5.4). `verify` exits 1 when the
 * chain is broken; `tail` and `export` write one event per line (NDJSON with `--json`, and always for
 * `export`), the two exceptions to "one JSON document per command", since they stream.
 */

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../context.ts';
import { CliError } from '../output/index.ts';
import type { AuditEvent, AuditEventFilters } from '../sdk.ts';
import { tailAudit } from './manage/audit-tail.ts';
import { date, text } from './manage/format.ts';
import { fetchList, pageOptions, pageParams } from './manage/list.ts';
import { integer, oneOf, timestamp } from './manage/parse.ts';

const HEADERS = ['at', 'action', 'result', 'actor', 'target', 'ip', 'id'];

function row(event: AuditEvent): string[] {
  return [
    date(event.at),
    event.action,
    event.result,
    `${event.actor.kind}:${event.actor.id}`,
    event.target ? `${event.target.kind}:${event.target.id}` : '—',
    text(event.ip),
    event.id,
  ];
}

/** `--action`, `--actor`, `--target`, `--result`, `--since`, `--until`: the API's filters. */
function filterOptions<
  Args extends unknown[],
  Opts extends Record<string, unknown>,
  G extends Record<string, unknown>,
>(command: Command<Args, Opts, G>) {
  return command
    .option('--action <action>', 'e.g. api_key.created, or a prefix ending in a dot: api_key.')
    .option('--actor <id>', 'only what this actor did (key_…, usr_…, sa_…)')
    .option('--target <id>', 'only what was done to this object')
    .option('--result <result>', 'success or failure', oneOf('success', 'failure'))
    .option('--since <time>', 'from this date or ISO 8601 time', timestamp)
    .option('--until <time>', 'up to this date or time (inclusive)', timestamp);
}

function filtersOf(options: {
  action?: string;
  actor?: string;
  target?: string;
  result?: 'success' | 'failure';
  since?: string;
  until?: string;
}): AuditEventFilters {
  const filters: AuditEventFilters = {};
  if (options.action !== undefined) filters.action = options.action;
  if (options.actor !== undefined) filters.actor_id = options.actor;
  if (options.target !== undefined) filters.target_id = options.target;
  if (options.result !== undefined) filters.result = options.result;
  if (options.since !== undefined) filters.since = options.since;
  if (options.until !== undefined) filters.until = options.until;
  return filters;
}

function eventLine(event: AuditEvent): string {
  return row(event).slice(0, 5).join('  ');
}

async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

export function register(program: Command, ctx: CliContext): void {
  const audit = program
    .command('audit')
    .description('Read, follow, verify and export the audit log')
    .addHelpText('after', '\nExample:\n  cohera audit list --action api_key. --since 2026-12-01');

  pageOptions(filterOptions(audit.command('list').description('List audit events, newest first')))
    .addHelpText('after', '\nExample:\n  cohera audit list --action api_key.revoked --limit 50 --json')
    .action(async (options) => {
      const client = await ctx.client();
      const list = client.auditEvents.list({ ...filtersOf(options), ...pageParams(options) });
      const result = await fetchList(list, options);
      if (ctx.jsonMode) return ctx.output.json(result);
      ctx.output.table(HEADERS, result.data.map(row));
      if (result.next_cursor) ctx.output.progress(`more events: --all, or --cursor ${result.next_cursor}`);
    });

  filterOptions(audit.command('tail').description('Follow new audit events as they happen (Ctrl-C to stop)'))
    .option('--interval <seconds>', 'how often to look (default 2)', integer(1, 3600))
    .addHelpText('after', '\nExample:\n  cohera audit tail --action api_key.')
    .action(async (options) => {
      const client = await ctx.client();
      ctx.output.progress('Following the audit log (Ctrl-C to stop)…');
      await tailAudit(client, {
        filters: filtersOf(options),
        intervalMs: (options.interval ?? 2) * 1000,
        onEvent: (event) => {
          ctx.streams.stdout.write(`${ctx.jsonMode ? JSON.stringify(event) : eventLine(event)}\n`);
        },
      });
    });

  audit
    .command('verify')
    .description('Check the hash chain: exit 1 if any stored event was edited, removed or added')
    .option(
      '--digest <digest>',
      'also prove nothing this signed digest (an audit_digest log line) covers is gone',
    )
    .addHelpText('after', '\nExample:\n  cohera audit verify --json')
    .action(async (options) => {
      const result = await (await ctx.client()).auditEvents.verify(
        options.digest === undefined ? {} : { digest: options.digest },
      );
      if (!result.ok) process.exitCode = 1;
      if (ctx.jsonMode) return ctx.output.json(result);
      const mark = result.ok ? ctx.output.color.green('ok') : ctx.output.color.red('BROKEN');
      ctx.output.line(
        result.ok
          ? `Audit chain ${mark}: ${result.checked} events checked, head at seq ${result.head_seq}.`
          : `Audit chain ${mark}: ${text(result.reason)} at ${text(result.first_bad)} (${result.checked} events checked).`,
      );
    });

  filterOptions(audit.command('export').description('Every matching event, oldest first, as NDJSON'))
    .option('--out <file>', 'write to this file (mode 0600) instead of stdout')
    .addHelpText('after', '\nExample:\n  cohera audit export --since 2026-01-01 --out audit.ndjson')
    .action(async (options) => {
      const client = await ctx.client();
      let out: WriteStream | undefined;
      if (options.out !== undefined) {
        out = createWriteStream(options.out, { mode: 0o600, flags: 'w' });
        await once(out, 'open').catch((error: Error) => {
          throw new CliError(`cannot write ${options.out}: ${error.message}`, 1);
        });
      }
      const stream = out ?? ctx.streams.stdout;
      let count = 0;
      try {
        for await (const event of client.auditEvents.export(filtersOf(options))) {
          await write(stream, `${JSON.stringify(event)}\n`);
          count++;
          if (count % 1000 === 0) ctx.output.progress(`${count} events…`);
        }
      } catch (error) {
        // The reader went away (`cohera audit export | head`): stop quietly, as `cat` would.
        if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
      } finally {
        if (out) await new Promise<void>((resolve) => out.end(resolve));
      }
      if (out) ctx.output.progress(`Exported ${count} events to ${options.out}.`);
    });
}
