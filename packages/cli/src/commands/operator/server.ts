/**
 * `cohera server` (`npm start`): runs the server until a signal. On a terminal it prints a banner once it
 * listens; a log collector gets JSON lines (COHERA_LOG_FORMAT). A port it cannot listen on ends it with exit 1
 * and one line that names the setting to change and a value to try, without a stack trace: for a person
 * `cohera: Port 8080 on 127.0.0.1 is already in use. …` on stderr, in JSON mode one error log line with a
 * stable `code`, where every other log line goes.
 */
import { createLogger, ListenError, startServer } from '@cohera/server';
import { CliError } from '../../output/error.ts';
import { serverConfig } from './config.ts';

export async function runServer(): Promise<void> {
  const config = serverConfig();
  try {
    await startServer(config); // keeps running until a signal
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    if (config.logFormat === 'pretty') throw new CliError(error.message, 1, error.code);
    createLogger(config.logLevel).error(
      { code: error.code, setting: error.setting, host: error.host, port: error.port },
      error.message,
    );
    // Already reported, in the log's format: only the exit status is left to set.
    process.exitCode = 1;
  }
}
