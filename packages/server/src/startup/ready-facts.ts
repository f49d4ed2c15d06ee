/**
 * What a person (the banner) or a log collector (the 'cohera is ready' line) needs once the server listens:
 * where it is, where its data is, and what to do next. Gathered once, in one place, so both show the same.
 * Nothing here may hold a password: database and Redis URLs are reduced to host, port and database.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Kysely } from 'kysely';
import { SYSTEM_ORG_ID } from '../auth/oauth/first-party-clients.ts';
import type { Config } from '../config.ts';
import type { Dialect } from '../storage/database.ts';
import type { DB } from '../storage/schema.ts';

export const SERVER_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface ReadyFacts {
  version: string;
  /** The address the server listens on. */
  url: string;
  /** COHERA_PUBLIC_URL, or the address derived from host and port. */
  publicUrl: string;
  dashboard: string;
  metrics: string | null;
  storage: Dialect;
  /** The SQLite file, or `host:port/database` of PostgreSQL. */
  location: string;
  /** `host:port` of Redis, or null when shared state stays in this process. */
  redis: string | null;
  dataDir: string;
  masterKey: Config['masterKeySource'];
  /** The master key's file, when it is kept in the data dir. */
  masterKeyFile: string | null;
  /** False on a fresh database: the next step is `cohera admin bootstrap`. Null when it could not be asked. */
  hasOrganization: boolean | null;
  /** The bootstrap command, ready to paste (it must reach the same database as this server). */
  bootstrapCommand: string;
  /** Settings the bootstrap command must share with the server that it cannot be told here (secrets). */
  bootstrapNeeds: string | null;
  /** The command finds the data dir relative to its working directory: it must run where the server does. */
  bootstrapInThisDirectory: boolean;
}

export interface ReadyInputs {
  config: Readonly<Config>;
  db: Kysely<DB>;
  dialect: Dialect;
  /** The SQLite file (database.location); ignored for PostgreSQL, which is described from its URL. */
  sqliteFile: string;
  url: string;
  metricsUrl: string | null;
  /** The directory `cohera server` runs in: decides whether the bootstrap command needs COHERA_DATA_DIR. */
  cwd: string;
}

export async function gatherReadyFacts(input: ReadyInputs): Promise<ReadyFacts> {
  const { config } = input;
  const publicUrl = config.publicUrl.replace(/\/+$/, '');
  return {
    version: SERVER_VERSION,
    url: input.url,
    publicUrl,
    dashboard: `${publicUrl}/dashboard/`,
    metrics: input.metricsUrl,
    storage: input.dialect,
    location:
      input.dialect === 'postgres' && config.databaseUrl
        ? describePostgres(config.databaseUrl)
        : input.sqliteFile,
    redis: config.redisUrl ? describeRedis(config.redisUrl) : null,
    dataDir: config.dataDir,
    masterKey: config.masterKeySource,
    masterKeyFile: config.masterKeySource === 'environment' ? null : `${config.dataDir}/master.key`,
    hasOrganization: await hasOrganization(input.db),
    ...bootstrapCommand(config, input.cwd),
  };
}

/**
 * One row of the primary key at most: cheap enough for every start. The system org (it owns the CLI's
 * first-party OAuth client) exists from the first migration and is nobody's. A failure only loses the hint.
 */
async function hasOrganization(db: Kysely<DB>): Promise<boolean | null> {
  try {
    const org = await db
      .selectFrom('orgs')
      .select('id')
      .where('id', '!=', SYSTEM_ORG_ID)
      .limit(1)
      .executeTakeFirst();
    return org !== undefined;
  } catch {
    return null;
  }
}

/** `host:port/database`, with no user name, password or query (a `?password=` there is honoured by pg). */
export function describePostgres(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    // A Unix socket is given as `?host=/run/postgresql`; only its path is shown.
    const host = url.hostname || url.searchParams.get('host') || 'localhost';
    const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || '(default database)';
    return `${host}:${url.port || '5432'}/${database}`;
  } catch {
    return '(unparseable URL)';
  }
}

/** `host:port` (and `/db` when not 0), with no user name or password. */
export function describeRedis(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    const db = url.pathname.replace(/^\//, '');
    return `${url.hostname}:${url.port || '6379'}${db && db !== '0' ? `/${db}` : ''}`;
  } catch {
    return '(unparseable URL)';
  }
}

const EXAMPLE = 'npx cohera admin bootstrap --org "Acme" --email you@example.com';

/** A word a POSIX shell reads as itself, quoted only when it has to be. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * `cohera admin bootstrap` opens the database itself (DESIGN §9), so it must find the same one: a data dir
 * other than the default is put in front of the command; PostgreSQL's URL and master key are secrets, so
 * they are named, never printed.
 */
function bootstrapCommand(config: Readonly<Config>, cwd: string) {
  if (config.databaseUrl !== null) {
    return {
      bootstrapCommand: EXAMPLE,
      bootstrapNeeds: 'the same COHERA_DATABASE_URL and COHERA_MASTER_KEY as this server',
      bootstrapInThisDirectory: false,
    };
  }
  const defaultDataDir = config.dataDir === resolve(cwd, '.cohera');
  return {
    bootstrapCommand: `${defaultDataDir ? '' : `COHERA_DATA_DIR=${shellWord(config.dataDir)} `}${EXAMPLE}`,
    bootstrapNeeds:
      config.masterKeySource === 'environment' ? 'the same COHERA_MASTER_KEY as this server' : null,
    bootstrapInThisDirectory: defaultDataDir,
  };
}

/** The fields of the JSON 'cohera is ready' line (snake_case, like every log field). */
export function readyLogFields(facts: ReadyFacts): Record<string, unknown> {
  return {
    version: facts.version,
    url: facts.url,
    public_url: facts.publicUrl,
    dashboard: facts.dashboard,
    ...(facts.metrics ? { metrics: facts.metrics } : {}),
    storage: facts.storage,
    location: facts.location,
    ...(facts.redis ? { redis: facts.redis } : {}),
    data_dir: facts.dataDir,
    master_key: facts.masterKey,
    ...(facts.hasOrganization === false ? { next_step: facts.bootstrapCommand } : {}),
  };
}
