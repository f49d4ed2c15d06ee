/**
 * The `cohera` command (DESIGN §9): `server`, `admin bootstrap`, `admin set-tier`, `admin rotate-signing-key [--revoke-old]`. Operator commands read
 * the same configuration as the server and can run while it runs.
 */
import { parseArgs } from 'node:util';
import {
  BootstrapError,
  bootstrap,
  type Config,
  ConfigError,
  createLogger,
  type Database,
  findOrg,
  loadConfig,
  openDatabase,
  operatorAuditLog,
  rateLimitsOf,
  resealAuditChain,
  revokeOldSigningKeys,
  rotateSigningKey,
  setTier,
  startServer,
  systemClock,
  TIERS,
  type Tier,
} from '@cohera/server';
import { runScan } from './scan/command.ts';
import { processIO } from './scan/main.ts';

const USAGE = `Usage:
  cohera server
  cohera admin bootstrap --org NAME --email EMAIL [--tier free|pro|enterprise] [--json]
  cohera admin set-tier --org ORG_ID --tier free|pro|enterprise [--per-minute N --per-day N]
  cohera admin rotate-signing-key [--revoke-old] [--json]
  cohera admin audit-reseal (--org ORG_ID | --all) [--drop-unverifiable] [--json]
  cohera scan [PATH…] [--git [--since REV]] [--staged] [--format text|json|sarif] [--revoke]   (cohera scan --help)

Configuration comes from the environment (COHERA_PORT, COHERA_DATA_DIR, COHERA_DATABASE_URL, …).`;

class UsageError extends Error {}

function config(): Readonly<Config> {
  return loadConfig(process.env, process.cwd());
}

function parseTier(value: string | undefined, fallback?: Tier): Tier {
  if (value === undefined && fallback) return fallback;
  if (!TIERS.includes(value as Tier)) throw new UsageError(`--tier must be one of ${TIERS.join(', ')}`);
  return value as Tier;
}

function parseCount(flag: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1)
    throw new UsageError(`${flag} must be a whole number ≥ 1`);
  return Number(value);
}

async function runBootstrap(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      org: { type: 'string' },
      email: { type: 'string' },
      tier: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.org) throw new UsageError('--org is required');
  if (!values.email) throw new UsageError('--email is required');
  const tier = parseTier(values.tier, 'free');
  const settings = config();
  const database = await openDatabase(settings);
  try {
    const result = await bootstrap(
      database.db,
      { orgName: values.org, email: values.email, tier },
      Date.now(),
      operatorAuditLog(database.db, settings.masterKey, systemClock),
    );
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    process.stdout.write(
      [
        `Created organization ${result.org_id} (${tier}) and its owner.`,
        '',
        `  email      ${result.email}`,
        `  password   ${result.password}`,
        `  api key    ${result.api_key}`,
        '',
        'The password and the API key are shown only now: store them in a secret manager.',
        `Sign in to the dashboard at ${settings.publicUrl}/dashboard/ with the email and password,`,
        'or call the API with: Authorization: Bearer <api key>',
        '',
      ].join('\n'),
    );
  } finally {
    await database.destroy();
  }
}

async function runSetTier(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      org: { type: 'string' },
      tier: { type: 'string' },
      'per-minute': { type: 'string' },
      'per-day': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.org) throw new UsageError('--org is required');
  const tier = parseTier(values.tier);
  const perMinute = parseCount('--per-minute', values['per-minute']);
  const perDay = parseCount('--per-day', values['per-day']);
  if ((perMinute !== null || perDay !== null) && tier !== 'enterprise') {
    throw new UsageError('--per-minute and --per-day set custom limits, which only the enterprise tier has');
  }
  const settings = config();
  const database = await openDatabase(settings);
  try {
    const org = await setTier(
      database.db,
      values.org,
      { tier, perMinute, perDay },
      Date.now(),
      operatorAuditLog(database.db, settings.masterKey, systemClock),
    );
    if (!org) throw new Error(`no organization with id ${values.org}`);
    const summary = { id: org.id, name: org.name, tier: org.tier, rate_limits: rateLimitsOf(org) };
    process.stdout.write(
      values.json
        ? `${JSON.stringify(summary)}\n`
        : `${org.id} (${org.name}) is now ${org.tier}: ${summary.rate_limits.per_minute}/min, ${summary.rate_limits.per_day}/day\n`,
    );
  } finally {
    await database.destroy();
  }
}

/**
 * A new OAuth token-signing key. Running nodes sign with it within 30 s; the old key stays published, and
 * accepted, for a token's lifetime, so tokens already issued keep working.
 *
 * `--revoke-old` is the emergency form, for a key that may have leaked: every older key is withdrawn at once
 * (no longer published, no longer accepted), so every access token issued so far stops working on every
 * node. Refresh tokens are not signed and keep working: apps get new access tokens with them.
 */
async function runRotateSigningKey(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'revoke-old': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const settings = config();
  const database = await openDatabase(settings);
  try {
    if (values['revoke-old']) {
      await revokeOld(settings, database, values.json);
      return;
    }
    const kid = await rotateSigningKey(database.db, settings.masterKey, Date.now());
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ kid })}\n`
        : `New OAuth signing key ${kid}. Nodes sign with it within 30 s; the previous key stays valid for tokens it signed.\n`,
    );
  } finally {
    await database.destroy();
  }
}

async function revokeOld(settings: Readonly<Config>, database: Database, json: boolean): Promise<void> {
  // Only problems reaching the other nodes are worth a line here, on stderr.
  const log = createLogger('warn', process.stderr);
  const result = await revokeOldSigningKeys(settings, database, Date.now(), log);
  const reach = result.announced
    ? `Running nodes were told over ${result.announced === 'redis' ? 'Redis' : 'PostgreSQL'} and refuse them at once.`
    : 'A running node notices within 30 s and refuses them from then on.';
  process.stderr.write(
    [
      'cohera: warning: every OAuth access token issued until now is invalid from now on, on every node:',
      `cohera: the signing keys that signed them (${result.revoked.join(', ') || 'none'}) are withdrawn. ${reach}`,
      'cohera: apps get new access tokens with their refresh tokens (not affected), or by signing users in again.',
      '',
    ].join('\n'),
  );
  process.stdout.write(
    json
      ? `${JSON.stringify(result)}\n`
      : `New OAuth signing key ${result.kid}; revoked ${result.revoked.length} older key(s). ${reach}\n`,
  );
}

/**
 * Seals the audit chains' head and purge marker as they stand (`resealAuditChain`): after a master-key
 * change, or once a tampered anchor has been investigated. Recorded in each chain as `audit.chain_resealed`.
 */
async function runAuditReseal(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      org: { type: 'string' },
      all: { type: 'boolean', default: false },
      'drop-unverifiable': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if ((values.org === undefined) === !values.all) throw new UsageError('give either --org ORG_ID or --all');
  const settings = config();
  const database = await openDatabase(settings);
  try {
    if (values.org !== undefined && !(await findOrg(database.db, values.org))) {
      throw new Error(`no organization with id ${values.org}`);
    }
    const orgIds =
      values.org !== undefined
        ? [values.org]
        : (await database.db.selectFrom('orgs').select('id').orderBy('id').execute()).map((org) => org.id);
    const audit = operatorAuditLog(database.db, settings.masterKey, systemClock);
    const resealed = [];
    for (const orgId of orgIds) {
      const result = await resealAuditChain(database.db, audit, orgId, {
        dropUnverifiable: values['drop-unverifiable'],
      });
      if (result) resealed.push(result);
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ resealed })}\n`);
      return;
    }
    const was = (authentic: boolean) => (authentic ? 'was authentic' : 'was NOT authentic');
    for (const r of resealed) {
      const dropped =
        r.dropped_events > 0 ? `; dropped ${r.dropped_events} unverifiable oldest event(s)` : '';
      process.stdout.write(
        `${r.org_id}: head at seq ${r.head.seq} (${was(r.head.was_authentic)}), purge marker at seq ` +
          `${r.purge_marker.seq} (${was(r.purge_marker.was_authentic)}) resealed${dropped}\n`,
      );
    }
    if (resealed.length === 0) process.stdout.write('No audit chain to reseal.\n');
  } finally {
    await database.destroy();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  try {
    if (command === 'server' && sub === undefined) {
      await startServer(config());
      return -1; // keeps running until a signal
    }
    if (command === 'scan') return await runScan(argv.slice(1), processIO());
    if (command === 'admin' && sub === 'bootstrap') {
      await runBootstrap(rest);
      return 0;
    }
    if (command === 'admin' && sub === 'set-tier') {
      await runSetTier(rest);
      return 0;
    }
    if (command === 'admin' && sub === 'audit-reseal') {
      await runAuditReseal(rest);
      return 0;
    }
    if (command === 'admin' && sub === 'rotate-signing-key') {
      await runRotateSigningKey(rest);
      return 0;
    }
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command: ${[command, sub].filter(Boolean).join(' ')}`);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`cohera: ${problem}\n`);
      return 78; // EX_CONFIG
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`cohera: ${(error as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof BootstrapError) {
      process.stderr.write(`cohera: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`cohera: ${(error as Error).message}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
