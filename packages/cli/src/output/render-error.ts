/**
 * Every failure becomes one line on stderr (`cohera: message`) and, with `--json`, one
 * `{error: {code, message, request_id}}` document on stdout; the return value is the exit code. SDK errors
 * never hold the credential (they are built from the response), so their message is safe to print.
 */
import { CoheraError } from '../sdk.ts';
import { CliError } from './error.ts';
import type { OutputStreams } from './index.ts';

export function renderError(error: unknown, streams: OutputStreams, jsonMode: boolean): number {
  let code = 'internal_error';
  let message = error instanceof Error ? error.message : String(error);
  let requestId: string | null = null;
  let exitCode = 1;
  if (error instanceof CliError) {
    code = error.code;
    exitCode = error.exitCode;
  } else if (error instanceof CoheraError) {
    code = error.code;
    requestId = error.requestId;
    if (error.status === 401 && !/cohera login/.test(message)) {
      message = `${message} (sign in again with \`cohera login\`, or check COHERA_API_KEY)`;
    }
  }
  // The SDK's API errors already end with `(request …)`; other errors get it only when they carry an id.
  const suffix = requestId && !message.includes(requestId) ? ` (request ${requestId})` : '';
  streams.stderr.write(`cohera: ${message}${suffix}\n`);
  if (jsonMode) {
    streams.stdout.write(`${JSON.stringify({ error: { code, message, request_id: requestId } })}\n`);
  }
  return exitCode;
}
