/**
 * The three ways to authenticate a client, as credential sources for the transport: a fixed bearer (an
 * API key or an access token), a function that returns a current access token (an app that refreshes
 * OAuth tokens itself), and a service account that mints its own JWTs, reuses each for most of its life
 * and renews it ahead of expiry.
 */
import type { ServiceAccount } from './auth/service-account.ts';
import { CoheraError } from './errors.ts';
import type { CredentialSource } from './transport.ts';
import type { Scope } from './types.ts';

/** Visible ASCII only: what a key, a JWT or an opaque token is made of, and what a header can carry. */
const BEARER_SHAPE = /^[\x21-\x7e]+$/;

/**
 * A credential as it goes into `Authorization: Bearer …`. The whitespace around it is dropped: a key read
 * from a file or a secret manager often ends in a newline (or starts with a byte-order mark), and is still
 * the key. Whitespace or a control character inside it is refused, naming the problem and never the
 * value: left to `fetch`, an invalid header value is an error whose message quotes the whole credential.
 */
export function bearerValue(value: unknown, name: string): string {
  if (typeof value !== 'string') {
    throw new CoheraError(`${name} must be a string`, { code: 'invalid_credential' });
  }
  const trimmed = value.trim();
  if (trimmed === '') {
    throw new CoheraError(`${name} is empty: is the variable or file it comes from empty?`, {
      code: 'invalid_credential',
    });
  }
  if (!BEARER_SHAPE.test(trimmed)) {
    throw new CoheraError(
      `${name} has a space, a line break or another character that cannot be sent in a header inside it ` +
        '(only whitespace at its ends is removed): check how it was read or pasted',
      { code: 'invalid_credential' },
    );
  }
  return trimmed;
}

export class StaticCredential implements CredentialSource {
  readonly #value: string;
  constructor(value: string, name = 'accessToken') {
    this.#value = bearerValue(value, name);
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
  /** Cleaned on every call: the function may read a file that ends in a newline. */
  current(): string | Promise<string> {
    const value = this.#get();
    if (typeof value === 'string') return bearerValue(value, 'accessToken');
    return Promise.resolve(value).then((token) => bearerValue(token, 'accessToken'));
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
