/**
 * What every command gets (`register(program, ctx)`): the SDK client for the target server with the
 * right credential, and the `Output` that follows the conventions. Both are built on first use, after
 * commander has parsed the global options (`--base-url`, `--json`, `--no-color`).
 *
 * Target: `--base-url`, else `COHERA_BASE_URL`, else http://127.0.0.1:8080. Credential: `COHERA_API_KEY`
 * when set (it wins, so CI and scripts are never surprised by a login saved on the machine), else the
 * login `cohera login` saved for that base URL, refreshed automatically.
 */
import { LoginSession } from './commands/auth/session.ts';
import { loadLogin, normalizeBaseUrl } from './credentials-store.ts';
import { CliError } from './output/error.ts';
import { Output, type OutputStreams } from './output/index.ts';
import { Cohera } from './sdk.ts';

export { CliError, UsageError } from './output/error.ts';
export type { Output } from './output/index.ts';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';

export interface GlobalOptions {
  baseUrl?: string;
  json?: boolean;
  color?: boolean;
}

export type CredentialSource =
  | { kind: 'api_key'; source: 'COHERA_API_KEY'; apiKey: string }
  | { kind: 'login'; source: 'saved login'; session: LoginSession };

export interface CliContext {
  /** The SDK client for the target and credential; throws a `CliError` (exit 1) when not signed in. */
  client(): Promise<Cohera>;
  /** The SDK client without a credential (for `/health`, OAuth endpoints). */
  anonymousClient(): Cohera;
  /** Which credential `client()` uses, without building a client. */
  credential(): Promise<CredentialSource>;
  readonly output: Output;
  readonly jsonMode: boolean;
  /** The target server, normalized (no trailing slash). */
  readonly baseUrl: string;
  readonly env: NodeJS.ProcessEnv;
  readonly streams: OutputStreams;
}

export class ProgramContext implements CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly streams: OutputStreams;
  readonly #globals: () => GlobalOptions;
  #output: Output | null = null;
  #credential: Promise<CredentialSource> | null = null;

  constructor(globals: () => GlobalOptions, streams: OutputStreams, env: NodeJS.ProcessEnv = process.env) {
    this.#globals = globals;
    this.streams = streams;
    this.env = env;
  }

  get jsonMode(): boolean {
    return this.#globals().json === true;
  }

  get output(): Output {
    this.#output ??= new Output(this.streams, {
      jsonMode: this.jsonMode,
      color: this.#globals().color !== false,
      env: this.env,
    });
    return this.#output;
  }

  get baseUrl(): string {
    const raw = this.#globals().baseUrl || this.env.COHERA_BASE_URL?.trim() || DEFAULT_BASE_URL;
    try {
      return normalizeBaseUrl(raw);
    } catch {
      throw new CliError(`not a URL: ${raw} (--base-url or COHERA_BASE_URL)`, 2, 'usage_error');
    }
  }

  credential(): Promise<CredentialSource> {
    this.#credential ??= this.#resolveCredential();
    return this.#credential;
  }

  async #resolveCredential(): Promise<CredentialSource> {
    const apiKey = this.env.COHERA_API_KEY?.trim();
    if (apiKey) return { kind: 'api_key', source: 'COHERA_API_KEY', apiKey };
    const baseUrl = this.baseUrl;
    const login = await loadLogin(baseUrl, this.env);
    if (!login) {
      throw new CliError('not signed in: run `cohera login` or set COHERA_API_KEY', 1, 'not_signed_in');
    }
    return { kind: 'login', source: 'saved login', session: new LoginSession(baseUrl, login, this.env) };
  }

  async client(): Promise<Cohera> {
    const credential = await this.credential();
    if (credential.kind === 'api_key')
      return new Cohera({ apiKey: credential.apiKey, baseUrl: this.baseUrl });
    const session = credential.session;
    return new Cohera({ accessToken: () => session.accessToken(), baseUrl: this.baseUrl });
  }

  anonymousClient(): Cohera {
    return new Cohera({ anonymous: true, baseUrl: this.baseUrl });
  }
}
