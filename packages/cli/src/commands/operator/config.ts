/**
 * The operator commands read the same configuration as the server (DESIGN §9) and open its database
 * directly. This module imports the server's code, so only the operator commands' actions load it.
 */
import { type Config, ConfigError, type Database, loadConfig, openDatabase } from '@cohera/server';
import type { CliContext } from '../../context.ts';
import { CliError } from '../../output/error.ts';
import { type FreshDatabasePolicy, guardFreshDatabase, type StorageLocation } from './fresh-database.ts';

/** EX_CONFIG (sysexits.h): a configuration problem, told apart from a failed operation (1) and usage (2). */
const EX_CONFIG = 78;

/**
 * All zeros, never used to protect anything: `locateStorage` reads the configuration with it so that
 * `loadConfig` does not generate (and write) the embedded master key while we are only looking.
 */
const PLACEHOLDER_MASTER_KEY = Buffer.alloc(32).toString('base64');

function configError(error: unknown): unknown {
  return error instanceof ConfigError
    ? new CliError(error.problems.join('\ncohera: '), EX_CONFIG, 'invalid_configuration')
    : error;
}

export function serverConfig(): Readonly<Config> {
  try {
    return loadConfig(process.env, process.cwd());
  } catch (error) {
    throw configError(error);
  }
}

/**
 * Where the configured database is and where the configured server listens, found without creating
 * anything. `loadConfig` generates the embedded master key (and with it the data dir) when there is none;
 * here it gets a placeholder key in exactly that case, and in no other (with COHERA_DATABASE_URL set there is
 * no generation, and a missing key must still be reported), so its problems are the ones the real load
 * reports. Only locations leave this function, never the configuration holding the placeholder.
 */
export function locateStorage(
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): StorageLocation {
  const keyWouldBeGenerated =
    !env.COHERA_MASTER_KEY &&
    env.COHERA_MASTER_KEY_FILE === undefined &&
    !env.COHERA_DATABASE_URL &&
    env.COHERA_DATABASE_URL_FILE === undefined;
  let settings: Readonly<Config>;
  try {
    settings = loadConfig(
      keyWouldBeGenerated ? { ...env, COHERA_MASTER_KEY: PLACEHOLDER_MASTER_KEY } : env,
      cwd,
    );
  } catch (error) {
    throw configError(error);
  }
  return {
    dataDir: settings.dataDir,
    postgres: settings.databaseUrl !== null,
    generatesMasterKey: keyWouldBeGenerated,
    host: settings.host,
    port: settings.port,
  };
}

/**
 * Opens the database, runs `work`, and always closes it (an open pool would keep the process alive).
 * Before anything is created, `policy` decides what happens when the database does not exist yet
 * (fresh-database.ts): a command run in the wrong directory must not quietly start a second one.
 */
export async function withDatabase<T>(
  policy: FreshDatabasePolicy,
  ctx: CliContext,
  work: (settings: Readonly<Config>, database: Database) => Promise<T>,
): Promise<T> {
  await guardFreshDatabase(locateStorage(), policy, ctx);
  const settings = serverConfig();
  const database = await openDatabase(settings);
  try {
    return await work(settings, database);
  } finally {
    await database.destroy();
  }
}

/** Which storage the command used, for people: the SQLite file, or the PostgreSQL URL without its password. */
export function describeDatabase(database: Database): string {
  return database.dialect === 'postgres'
    ? `PostgreSQL at ${database.location}`
    : `SQLite at ${database.location}`;
}
