/**
 * `cohera service-accounts …`: machine identities that sign their own JWTs (DESIGN §3, §4). A generated
 * key pair's private half exists only in the `service-account.json` written once by `keys create`.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../context.ts';
import { CliError, UsageError } from '../output/index.ts';
import type { Scope, ServiceAccountFile, ServiceAccountKey, ServiceAccountObject } from '../sdk.ts';
import { confirm } from './manage/confirm.ts';
import { date, list } from './manage/format.ts';
import { prepareKeyFile } from './manage/key-file.ts';
import { fetchList, pageOptions, pageParams } from './manage/list.ts';
import { commaList, integer, oneOf } from './manage/parse.ts';

const SHOWN_ONCE = 'This is the only copy of the private key: store it as a secret, never in the repository.';

function accountRow(account: ServiceAccountObject): string[] {
  return [account.id, account.name, account.mode, list(account.scopes), date(account.created_at)];
}

function keyRow(key: ServiceAccountKey): string[] {
  return [
    key.id,
    key.algorithm,
    key.origin,
    date(key.created_at),
    date(key.expires_at),
    date(key.last_used_at),
  ];
}

const KEY_HEADERS = ['id', 'algorithm', 'origin', 'created', 'expires', 'last used'];

export function register(program: Command, ctx: CliContext): void {
  const accounts = program
    .command('service-accounts')
    .description('Manage service accounts and their signing keys')
    .addHelpText(
      'after',
      '\nExample:\n  cohera service-accounts create --name etl --scopes read:certificates\n' +
        '  cohera service-accounts keys create sa_123 --out service-account.json',
    );

  pageOptions(accounts.command('list').description("List the organization's service accounts"))
    .addHelpText('after', '\nExample:\n  cohera service-accounts list --json')
    .action(async (options) => {
      const result = await fetchList((await ctx.client()).serviceAccounts.list(pageParams(options)), options);
      if (ctx.jsonMode) return ctx.output.json(result);
      ctx.output.table(['id', 'name', 'mode', 'scopes', 'created'], result.data.map(accountRow));
      if (result.next_cursor) ctx.output.progress(`more accounts: --all, or --cursor ${result.next_cursor}`);
    });

  accounts
    .command('create')
    .description('Create a service account (then give it a key with `keys create`)')
    .requiredOption('--name <name>', 'what the account is for')
    .requiredOption('--scopes <scopes>', 'the most its tokens may claim, comma-separated', commaList)
    .option('--mode <mode>', 'live (default) or test', oneOf('live', 'test'))
    .addHelpText(
      'after',
      '\nExample:\n  cohera service-accounts create --name etl --scopes read:certificates',
    )
    .action(async (options) => {
      const account = await (await ctx.client()).serviceAccounts.create({
        name: options.name,
        scopes: options.scopes as Scope[],
        ...(options.mode ? { mode: options.mode } : {}),
      });
      if (ctx.jsonMode) return ctx.output.json(account);
      ctx.output.table(['id', 'name', 'mode', 'scopes', 'created'], [accountRow(account)]);
    });

  accounts
    .command('delete')
    .description('Delete a service account and its keys (asks first on a terminal)')
    .argument('<id>', 'the account id (sa_…)')
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .addHelpText('after', '\nExample:\n  cohera service-accounts delete sa_123 --yes')
    .action(async (id, options) => {
      await confirm(`Delete service account ${id}? Its tokens stop working.`, options);
      await (await ctx.client()).serviceAccounts.delete(id);
      if (ctx.jsonMode) return ctx.output.json({ id, deleted: true });
      ctx.output.line(`Deleted ${id}.`);
    });

  const keys = accounts
    .command('keys')
    .description("Manage a service account's signing keys")
    .addHelpText('after', '\nExample:\n  cohera service-accounts keys list sa_123');

  keys
    .command('list')
    .description("List a service account's keys (public halves only)")
    .argument('<account>', 'the account id (sa_…)')
    .option('--all', 'every page, not only the first')
    .addHelpText('after', '\nExample:\n  cohera service-accounts keys list sa_123 --json')
    .action(async (account, options) => {
      const result = await fetchList((await ctx.client()).serviceAccounts.listKeys(account), options);
      if (ctx.jsonMode) return ctx.output.json(result);
      ctx.output.table(KEY_HEADERS, result.data.map(keyRow));
      if (result.next_cursor) ctx.output.progress('more keys: --all');
    });

  keys
    .command('create')
    .description('Generate a key pair (private key saved once, mode 0600) or register your public key')
    .argument('<account>', 'the account id (sa_…)')
    .option('--out <file>', 'write service-account.json here (mode 0600) instead of printing it')
    .option('--force', 'replace the --out file if it exists')
    .option('--public-key <file>', 'register this SPKI PEM public key instead of generating a pair')
    .option(
      '--algorithm <alg>',
      'of the --public-key: ES256, RS256 or EdDSA',
      oneOf('ES256', 'RS256', 'EdDSA'),
    )
    .option('--expires-in-days <days>', 'the key stops working after this many days', integer(1))
    .addHelpText(
      'after',
      '\nExamples:\n  cohera service-accounts keys create sa_123 --out service-account.json --expires-in-days 90\n' +
        '  cohera service-accounts keys create sa_123 --public-key public.pem',
    )
    .action(async (account, options) => {
      const expiry = options.expiresInDays === undefined ? {} : { expires_in_days: options.expiresInDays };
      const client = await ctx.client();
      if (options.publicKey !== undefined) {
        if (options.out !== undefined) throw new UsageError('--out and --public-key exclude each other');
        let pem: string;
        try {
          pem = await readFile(options.publicKey, 'utf8');
        } catch (error) {
          throw new CliError(`cannot read ${options.publicKey}: ${(error as Error).message}`, 1);
        }
        const key = await client.serviceAccounts.createKey(account, {
          public_key: pem,
          ...(options.algorithm ? { algorithm: options.algorithm } : {}),
          ...expiry,
        });
        if (ctx.jsonMode) return ctx.output.json(key);
        return ctx.output.table(KEY_HEADERS, [keyRow(key)]);
      }
      if (options.out === undefined) {
        const file = await client.serviceAccounts.createKey(account, expiry);
        if (ctx.jsonMode) return ctx.output.json(file);
        return ctx.output.secret('service-account.json', JSON.stringify(file, null, 2), SHOWN_ONCE);
      }
      const out = await prepareKeyFile(options.out, options.force === true);
      let file: ServiceAccountFile;
      try {
        file = await client.serviceAccounts.createKey(account, expiry);
      } catch (error) {
        await out.abandon();
        throw error;
      }
      await out.write(`${JSON.stringify(file, null, 2)}\n`);
      const written = {
        path: options.out,
        service_account_id: file.service_account_id,
        private_key_id: file.private_key_id,
        algorithm: file.algorithm,
      };
      if (ctx.jsonMode) return ctx.output.json(written);
      ctx.output.line(
        `Wrote ${options.out} (mode 0600): key ${file.private_key_id} of ${file.service_account_id}.`,
      );
      ctx.output.progress(SHOWN_ONCE);
    });

  keys
    .command('delete')
    .description("Delete one of a service account's keys (asks first on a terminal)")
    .argument('<account>', 'the account id (sa_…)')
    .argument('<key>', 'the key id (sak_…)')
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .addHelpText('after', '\nExample:\n  cohera service-accounts keys delete sa_123 sak_456 --yes')
    .action(async (account, keyId, options) => {
      await confirm(`Delete key ${keyId} of ${account}? Tokens it signs are refused from now on.`, options);
      await (await ctx.client()).serviceAccounts.deleteKey(account, keyId);
      if (ctx.jsonMode) return ctx.output.json({ id: keyId, service_account_id: account, deleted: true });
      ctx.output.line(`Deleted ${keyId}.`);
    });
}
