/** The tokens of an OAuth grant, with their expiry. */

/** The token endpoint's JSON (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  id_token?: string;
}

/** What `Tokens.toJSON` writes and `Tokens.fromJSON` reads: to keep tokens in your session store. */
export interface StoredTokens {
  access_token: string;
  refresh_token: string | null;
  token_type: string;
  scope: string;
  expires_at: string | null;
}

/**
 * `isExpired` answers early: a token with less than `margin` seconds left (default 60) counts as expired,
 * so a request started now does not arrive with a token that lapsed on the way.
 */
export class Tokens {
  static defaultMargin = 60;

  readonly accessToken: string;
  readonly refreshToken: string | null;
  readonly tokenType: string;
  readonly scopes: string[];
  /** When the access token expires, if the server said. */
  readonly expiresAt: Date | null;

  constructor(fields: {
    accessToken: string;
    refreshToken: string | null;
    tokenType?: string;
    scopes?: string[];
    expiresAt: Date | null;
  }) {
    this.accessToken = fields.accessToken;
    this.refreshToken = fields.refreshToken;
    this.tokenType = fields.tokenType ?? 'Bearer';
    this.scopes = fields.scopes ?? [];
    this.expiresAt = fields.expiresAt;
  }

  static fromResponse(response: TokenResponse, previousRefreshToken?: string, now = Date.now()): Tokens {
    return new Tokens({
      accessToken: response.access_token,
      refreshToken: response.refresh_token ?? previousRefreshToken ?? null,
      tokenType: response.token_type,
      scopes: response.scope ? response.scope.split(' ').filter(Boolean) : [],
      expiresAt: typeof response.expires_in === 'number' ? new Date(now + response.expires_in * 1000) : null,
    });
  }

  static fromJSON(stored: StoredTokens): Tokens {
    return new Tokens({
      accessToken: stored.access_token,
      refreshToken: stored.refresh_token,
      tokenType: stored.token_type,
      scopes: stored.scope.split(' ').filter(Boolean),
      expiresAt: stored.expires_at ? new Date(stored.expires_at) : null,
    });
  }

  /** True when the access token has expired or will within the default margin (60 s). */
  get isExpired(): boolean {
    return this.expiresWithin(Tokens.defaultMargin);
  }

  /** True when the access token has less than `seconds` left. A token without a known expiry never does. */
  expiresWithin(seconds: number, now = Date.now()): boolean {
    return this.expiresAt !== null && this.expiresAt.getTime() - seconds * 1000 <= now;
  }

  toJSON(): StoredTokens {
    return {
      access_token: this.accessToken,
      refresh_token: this.refreshToken,
      token_type: this.tokenType,
      scope: this.scopes.join(' '),
      expires_at: this.expiresAt ? this.expiresAt.toISOString() : null,
    };
  }
}
