/**
 * Which server a client talks to. There is deliberately no default: Cohera is self-hosted, and a client
 * that fell back to some well-known host would send a user's live credential to a server they do not run
 * the first time they forgot `COHERA_BASE_URL`. So the address must be given, and the error when it is
 * not names the variable and the option.
 */
import { readEnv } from './env.ts';
import { CoheraError } from './errors.ts';

/** The environment variable every Cohera client (this SDK, the CLI, the Python SDK) reads. */
export const BASE_URL_VARIABLE = 'COHERA_BASE_URL';

export interface BaseUrlSources {
  /** The `baseUrl` option: wins over everything else. */
  option?: string | undefined;
  /** A service account's `api_base_url`, used when neither the option nor the variable is set. */
  serviceAccount?: string | undefined;
  /** The class the message names, e.g. `Cohera` or `OAuth2`. */
  owner: string;
}

/**
 * The base URL from the option, else `COHERA_BASE_URL`, else the service account's `api_base_url`:
 * trimmed, checked to be an http(s) URL, without a trailing slash. Throws a `CoheraError` with code
 * `missing_base_url` when none is given, `invalid_base_url` when it is not an http(s) URL.
 */
export function resolveBaseUrl(sources: BaseUrlSources): string {
  const given = [sources.option, readEnv(BASE_URL_VARIABLE), sources.serviceAccount]
    .map((value) => value?.trim())
    .find((value) => value !== undefined && value !== '');
  if (given === undefined) {
    throw new CoheraError(
      `No base URL: set the ${BASE_URL_VARIABLE} environment variable to your Cohera server ` +
        `(for example ${BASE_URL_VARIABLE}=http://127.0.0.1:8080) or pass new ${sources.owner}({ baseUrl }). ` +
        'There is no default, so a credential is never sent to a server you did not choose.',
      { code: 'missing_base_url' },
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(given);
  } catch {
    // Not repeated in the message: a pasted value may hold more than an address.
    throw new CoheraError(
      `The base URL is not a URL (expected e.g. http://127.0.0.1:8080); check baseUrl or ${BASE_URL_VARIABLE}`,
      { code: 'invalid_base_url' },
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new CoheraError(`The base URL must be an http(s) URL; check baseUrl or ${BASE_URL_VARIABLE}`, {
      code: 'invalid_base_url',
    });
  }
  return parsed.origin + parsed.pathname.replace(/\/+$/, '');
}
