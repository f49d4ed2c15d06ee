/**
 * The operator commands read the same configuration as the server (DESIGN §9) and open its database
 * directly. This module imports the server's code, so only the operator commands' actions load it.
 */
import { type Config, ConfigError, type Database, loadConfig, openDatabase } from '@cohera/server';
import { CliError } from '../../output/error.ts';

/** EX_CONFIG (sysexits.h): a configuration problem, told apart from a failed operation (1) and usage (2). */
const EX_CONFIG = 78;

export function serverConfig(): Readonly<Config> {
  try {
    return loadConfig(process.env, process.cwd());
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(error.problems.join('\ncohera: '), EX_CONFIG, 'invalid_configuration');
    throw error;
  }
}

/** Opens the database, runs `work`, and always closes it (an open pool would keep the process alive). */
export async function withDatabase<T>(
  work: (settings: Readonly<Config>, database: Database) => Promise<T>,
): Promise<T> {
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
