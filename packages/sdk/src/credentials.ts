/**
 * The three ways to authenticate a client, as credential sources for the transport: a fixed bearer (an
 * API key or an access token), a function that returns a current access token (an app that refreshes
 * OAuth tokens itself), and a service account that mints its own JWTs, reuses each for most of its life
 * and renews it ahead of expiry.
 */
import type { ServiceAccount } from './auth/service-account.ts';
import type { CredentialSource } from './transport.ts';
import type { Scope } from './types.ts';

export class StaticCredential implements CredentialSource {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  current(): string {
    return this.#value;
  }
}

export class CallbackCredential implements CredentialSource {
  readonly #get: () => string | Promise<string>;
  constructor(get: () => string | Promise<string>) {
    this.#get = get;
  }
  current(): string | Promise<string> {
    return this.#get();
  }
}

export interface MintedTokenOptions {
  scopes: readonly Scope[];
  /** Lifetime of each token, seconds (≤ 3600, default 3600). */
  tokenLifetime?: number;
  /**
   * Renew when less than this is left, seconds. Default a tenth of the lifetime but at least 30 s (room for
   * clock skew and a slow request), and never more than half the lifetime (a short token is still reused).
   */
  renewBefore?: number;
  now?: () => number;
}

export class ServiceAccountCredential implements CredentialSource {
  readonly #account: ServiceAccount;
  readonly #scopes: readonly Scope[];
  readonly #lifetime: number;
  readonly #renewBefore: number;
  readonly #now: () => number;
  #token: { value: string; renewAt: number } | null = null;
  /** One mint at a time: concurrent requests at renewal share it instead of each signing a token. */
  #minting: Promise<string> | null = null;

  constructor(account: ServiceAccount, options: MintedTokenOptions) {
    this.#account = account;
    this.#scopes = [...options.scopes];
    this.#lifetime = options.tokenLifetime ?? 3600;
    this.#renewBefore =
      options.renewBefore ?? Math.min(Math.max(30, this.#lifetime / 10), this.#lifetime / 2);
    this.#now = options.now ?? Date.now;
  }

  current(): string | Promise<string> {
    const token = this.#token;
    if (token && this.#now() < token.renewAt) return token.value;
    this.#minting ??= this.#mint().finally(() => {
      this.#minting = null;
    });
    return this.#minting;
  }

  invalidate(): boolean {
    this.#token = null;
    return true;
  }

  async #mint(): Promise<string> {
    const issuedAt = this.#now();
    const value = await this.#account.generateToken({ scopes: this.#scopes, expiresIn: this.#lifetime });
    this.#token = { value, renewAt: issuedAt + (this.#lifetime - this.#renewBefore) * 1000 };
    return value;
  }
}
