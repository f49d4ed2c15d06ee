/**
 * Issue 21: `cohera admin bootstrap` run in another directory than the server's quietly created a second,
 * empty database there (with a new master key), and printed a key for it next to the URL of the server on
 * the port, which rejected that key. So the operator commands look before they open the database, and
 * create nothing until they have:
 *
 * - `bootstrap` may create the database (an install can start with it, before the first `npm start`), but
 *   not while a Cohera server already answers on the configured COHERA_HOST:COHERA_PORT: a running server
 *   has created its database, so a missing one here cannot be that server's. On a terminal it asks (default
 *   no); without one it refuses with exit 2, as the CLI's destructive commands do. `--yes` creates it anyway.
 * - `set-tier`, `audit-reseal` and `rotate-signing-key` act on what a server has made (its orgs, audit
 *   chains and signing keys), so they never create a database: a new one has nothing to act on.
 *
 * Only the embedded SQLite database is checked: a PostgreSQL URL names its database explicitly. The probe is
 * an anonymous `GET /health` whose answer holds nothing secret, sent only when the database is missing.
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { CliContext } from '../../context.ts';
import { CliError } from '../../output/error.ts';

/** EX_CONFIG (sysexits.h), as for the other configuration problems (config.ts). */
const EX_CONFIG = 78;
/** Long enough for a busy server on this machine; a closed port answers at once anyway. */
const PROBE_TIMEOUT_MS = 2000;
/** A Cohera `/health` answer is a few dozen bytes; anything much longer is not one. */
const PROBE_MAX_BYTES = 4096;

/** What the commands need to know about the configuration before anything is created. */
export interface StorageLocation {
  dataDir: string;
  /** COHERA_DATABASE_URL is set: the database is named explicitly, and nothing here is checked. */
  postgres: boolean;
  /** No master key is configured, so a missing `master.key` in the data dir would be generated. */
  generatesMasterKey: boolean;
  host: string;
  port: number;
}

export type FreshDatabasePolicy =
  /** bootstrap: create a missing database unless a Cohera server already answers on the port (`--yes`: anyway). */
  | { create: 'unless-served'; yes: boolean }
  /** set-tier, audit-reseal, rotate-signing-key: refuse a missing database. */
  | { create: 'never' };

/** The embedded database's file, named as storage/database.ts names it. */
export function sqliteFile(dataDir: string): string {
  return join(dataDir, 'cohera.sqlite');
}

const REMEDY =
  'run the command in the directory where you started the server (`npm start`), or set COHERA_DATA_DIR ' +
  "(or COHERA_DATABASE_URL) to the server's";

/** Returns when the command may open (and so perhaps create) the configured database; throws otherwise. */
export async function guardFreshDatabase(
  location: StorageLocation,
  policy: FreshDatabasePolicy,
  ctx: CliContext,
): Promise<void> {
  if (location.postgres) return;
  const file = sqliteFile(location.dataDir);
  if (existsSync(file)) return;

  if (policy.create === 'never') {
    throw new CliError(
      [
        `there is no Cohera database at ${file}, so nothing to change there (nothing was created)`,
        REMEDY,
      ].join('\ncohera: '),
      EX_CONFIG,
      'database_not_found',
    );
  }
  if (policy.yes) return;
  const address = probeAddress(location.host, location.port);
  if (address === null || !(await coheraAnswers(address.host, address.port))) return;

  const wouldCreate = describeCreation(location, file);
  const problem = [
    `a Cohera server is already running on ${address.label}, but it does not use ${location.dataDir}: ` +
      `there is no database there yet.`,
    `this command would create ${wouldCreate}, and an organization and API key that server does not know.`,
  ];
  if (ctx.streams.stderr.isTTY && process.stdin.isTTY) {
    for (const line of problem) ctx.output.warn(line);
    ctx.output.info(`To use that server's database instead, ${REMEDY}.`);
    if (await askYes(`Create a new database at ${location.dataDir} anyway? [y/N] `, ctx)) return;
    throw new CliError('cancelled: nothing was created', 1, 'cancelled');
  }
  throw new CliError(
    [
      ...problem,
      `nothing was created. To use that server's database, ${REMEDY}; to create a new one anyway, add --yes.`,
    ].join('\ncohera: '),
    2,
    'server_uses_another_database',
  );
}

/** "the directory D with a new database and master key", or less when some of it exists. */
function describeCreation(location: StorageLocation, file: string): string {
  if (!existsSync(location.dataDir)) {
    return `the directory ${location.dataDir} with a new database${location.generatesMasterKey ? ' and master key' : ''}`;
  }
  const newKey = location.generatesMasterKey && !existsSync(join(location.dataDir, 'master.key'));
  return `a new database ${file}${newKey ? ` and master key ${join(location.dataDir, 'master.key')}` : ''}`;
}

/** Where a client reaches a server bound to `host`: a wildcard address is reached on loopback. */
function probeAddress(host: string, port: number): { host: string; port: number; label: string } | null {
  if (port === 0) return null; // a port chosen at start-up: nothing to look at
  const reach = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const label = `${reach.includes(':') ? `[${reach}]` : reach}:${port}`;
  return { host: reach, port, label };
}

/**
 * Whether a Cohera server answers `GET /health` there: status 200 and `{"status":"ok",…}`. No credential is
 * sent; anything else (nothing listening, another program, a timeout) is "no".
 */
export function coheraAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    const req = request(
      // No agent: nothing is kept alive to hold the process open; no proxy: this is the configured address.
      { host, port, path: '/health', method: 'GET', headers: { accept: 'application/json' }, agent: false },
      (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > PROBE_MAX_BYTES) req.destroy();
        });
        res.on('end', () => resolve(res.statusCode === 200 && isHealthy(body)));
        // After 'end' this is a no-op; before it (cut off, too long, too slow) it is a "no".
        res.on('close', () => resolve(false));
      },
    );
    const timer = setTimeout(() => req.destroy(), PROBE_TIMEOUT_MS);
    req.on('error', () => resolve(false));
    req.on('close', () => {
      clearTimeout(timer);
      if (!answered) resolve(false);
    });
    req.end();
  });
}

function isHealthy(body: string): boolean {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && (parsed as { status?: unknown }).status === 'ok';
  } catch {
    return false;
  }
}

/** Asks on the terminal; only "y" or "yes" is a yes. */
async function askYes(question: string, ctx: CliContext): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: ctx.streams.stderr });
  try {
    return /^\s*y(es)?\s*$/i.test(await prompt.question(question));
  } finally {
    prompt.close();
  }
}
