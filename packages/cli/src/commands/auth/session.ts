/**
 * The saved login as a credential for the SDK: an access token that renews itself. When it has less than
 * a minute left it is refreshed (RFC 6749 §6) and the rotated refresh token saved at once, because the
 * server detects reuse: presenting the old refresh token again would revoke the whole grant. One refresh
 * at a time per process, and the file is re-read first in case another `cohera` already refreshed.
 */
import { loadLogin, type SavedLogin, saveLogin } from '../../credentials-store.ts';
import { CliError } from '../../output/error.ts';
import { OAuth2, OAuthError, type Tokens } from '../../sdk.ts';

/** The first-party public client the server provisions for the CLI (DESIGN §5.3). */
export const CLI_CLIENT_ID = 'cohera-cli';
const REFRESH_MARGIN_SECONDS = 60;

/** OAuth2 for the token calls that need no redirect (refresh, revoke); the device flow has no redirect URI. */
export function cliOAuth(baseUrl: string): OAuth2 {
  return new OAuth2({ clientId: CLI_CLIENT_ID, redirectUri: `${baseUrl}/oauth/device`, baseUrl });
}

export function savedLoginOf(tokens: Tokens, baseUrl: string, now = Date.now()): SavedLogin {
  return {
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    expires_at: tokens.expiresAt ? tokens.expiresAt.toISOString() : null,
    scopes: tokens.scopes,
    base_url: baseUrl,
    client_id: CLI_CLIENT_ID,
    saved_at: new Date(now).toISOString(),
  };
}

function expiresSoon(login: SavedLogin, now = Date.now()): boolean {
  return login.expires_at !== null && Date.parse(login.expires_at) - REFRESH_MARGIN_SECONDS * 1000 <= now;
}

export class LoginSession {
  readonly baseUrl: string;
  #login: SavedLogin;
  #refreshing: Promise<SavedLogin> | null = null;
  readonly #env: NodeJS.ProcessEnv;
  /** Called after a refresh (for `--verbose`-like progress). */
  onRefresh?: () => void;

  constructor(baseUrl: string, login: SavedLogin, env: NodeJS.ProcessEnv) {
    this.baseUrl = baseUrl;
    this.#login = login;
    this.#env = env;
  }

  get login(): SavedLogin {
    return this.#login;
  }

  /** A valid access token, refreshed first when it has (almost) expired. */
  async accessToken(): Promise<string> {
    if (!expiresSoon(this.#login)) return this.#login.access_token;
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = null;
    });
    this.#login = await this.#refreshing;
    return this.#login.access_token;
  }

  async #refresh(): Promise<SavedLogin> {
    const current = (await loadLogin(this.baseUrl, this.#env)) ?? this.#login;
    if (!expiresSoon(current)) return current; // another process refreshed it already
    if (!current.refresh_token) {
      throw new CliError('your login has expired: run `cohera login` again', 1, 'login_expired');
    }
    let tokens: Tokens;
    try {
      tokens = await cliOAuth(this.baseUrl).refreshToken(current.refresh_token);
    } catch (error) {
      if (error instanceof OAuthError && error.code === 'invalid_grant') {
        throw new CliError(
          'your login has expired or was revoked: run `cohera login` again',
          1,
          'login_expired',
        );
      }
      throw error;
    }
    const next = savedLoginOf(tokens, this.baseUrl);
    await saveLogin(next, this.#env);
    this.onRefresh?.();
    return next;
  }
}
