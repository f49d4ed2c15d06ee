/**
 * A service account's credentials (`service-account.json`) and the short-lived JWTs they sign, exactly as
 * the server verifies them: header `{alg, kid}`, claims `iss`, `sub`, `aud`, `exp`, `iat`, `scopes`,
 * `org_id`, a lifetime of at most an hour. Signing is `jose` on WebCrypto; the private key is imported
 * non-extractable and is never exposed again (not by `toJSON`, not by `console.log`).
 */
import { importPKCS8, SignJWT } from 'jose';
import { CoheraError } from '../errors.ts';
import type { Scope, ServiceAccountFile, ServiceAccountKeyAlgorithm } from '../types.ts';
import { MAX_TOKEN_LIFETIME_SECONDS } from './token-lifetime.ts';

export { MAX_TOKEN_LIFETIME_SECONDS };

const ALGORITHMS: readonly ServiceAccountKeyAlgorithm[] = ['ES256', 'RS256', 'EdDSA'];

export interface GenerateTokenOptions {
  /** What the token may do: within the account's ceiling. */
  scopes: readonly Scope[];
  /** Seconds, 1–3600 (default 3600). */
  expiresIn?: number;
}

function invalidFile(message: string): CoheraError {
  return new CoheraError(`Invalid service-account credentials: ${message}`, {
    code: 'invalid_service_account',
  });
}

function requireString(
  file: Record<string, unknown>,
  field: keyof ServiceAccountFile,
  pattern?: RegExp,
): string {
  const value = file[field];
  if (typeof value !== 'string' || value === '') throw invalidFile(`"${field}" is missing`);
  // The value is named, never echoed: for private_key it is the secret itself.
  if (pattern && !pattern.test(value)) throw invalidFile(`"${field}" is not valid`);
  return value;
}

export class ServiceAccount {
  /** `sa_…` */
  readonly id: string;
  /** `org_…` */
  readonly orgId: string;
  /** `sak_…`: the JWT's `kid`. */
  readonly keyId: string;
  readonly algorithm: ServiceAccountKeyAlgorithm;
  readonly issuer: string;
  readonly audience: string;
  /** The API this account belongs to; a client built with this account uses it unless told otherwise. */
  readonly apiBaseUrl: string;
  readonly #privateKey: CryptoKey;

  private constructor(file: ServiceAccountFile, privateKey: CryptoKey) {
    this.id = file.service_account_id;
    this.orgId = file.org_id;
    this.keyId = file.private_key_id;
    this.algorithm = file.algorithm;
    this.issuer = file.issuer;
    this.audience = file.audience;
    this.apiBaseUrl = file.api_base_url;
    this.#privateKey = privateKey;
  }

  /** Reads `service-account.json` from disk (Node, Deno, Bun). In a browser, use `fromJSON`. */
  static async fromFile(path: string): Promise<ServiceAccount> {
    // A computed specifier keeps bundlers for browsers from trying to resolve a Node built-in.
    const fsModule = 'node:fs/promises';
    const { readFile } = (await import(/* @vite-ignore */ fsModule)) as {
      readFile(path: string, encoding: 'utf8'): Promise<string>;
    };
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new CoheraError(`Cannot read the service-account file ${path}`, {
        code: 'invalid_service_account',
        cause: error,
      });
    }
    return ServiceAccount.fromJSON(text);
  }

  /** From the JSON text or object of `service-account.json` (as `serviceAccounts.createKey` returns it). */
  static async fromJSON(json: string | ServiceAccountFile): Promise<ServiceAccount> {
    let file: unknown = json;
    if (typeof json === 'string') {
      try {
        file = JSON.parse(json);
      } catch {
        throw invalidFile('not JSON');
      }
    }
    if (typeof file !== 'object' || file === null) throw invalidFile('not a JSON object');
    const fields = file as Record<string, unknown>;
    if (fields.type !== 'service_account') throw invalidFile('"type" must be "service_account"');
    const algorithm = fields.algorithm as ServiceAccountKeyAlgorithm;
    if (!ALGORITHMS.includes(algorithm))
      throw invalidFile(`"algorithm" must be one of ${ALGORITHMS.join(', ')}`);
    const parsed: ServiceAccountFile = {
      type: 'service_account',
      service_account_id: requireString(fields, 'service_account_id', /^sa_\w+$/),
      org_id: requireString(fields, 'org_id', /^org_\w+$/),
      private_key_id: requireString(fields, 'private_key_id', /^sak_\w+$/),
      private_key: requireString(fields, 'private_key', /-----BEGIN PRIVATE KEY-----/),
      algorithm,
      issuer: requireString(fields, 'issuer'),
      audience: requireString(fields, 'audience'),
      api_base_url: requireString(fields, 'api_base_url'),
    };
    let key: CryptoKey;
    try {
      key = (await importPKCS8(parsed.private_key, algorithm, { extractable: false })) as CryptoKey;
    } catch (error) {
      throw new CoheraError(
        `Invalid service-account credentials: "private_key" is not a PKCS#8 ${algorithm} private key`,
        { code: 'invalid_service_account', cause: error },
      );
    }
    return new ServiceAccount(parsed, key);
  }

  /** A signed JWT for `Authorization: Bearer`. Mint one per hour, not one per request. */
  async generateToken(options: GenerateTokenOptions): Promise<string> {
    const { scopes } = options;
    const expiresIn = options.expiresIn ?? MAX_TOKEN_LIFETIME_SECONDS;
    if (!Array.isArray(scopes) || scopes.length === 0) {
      throw new TypeError('generateToken: scopes must be a non-empty array, e.g. ["read:certificates"]');
    }
    if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_TOKEN_LIFETIME_SECONDS) {
      throw new RangeError(
        `generateToken: expiresIn must be a whole number of seconds from 1 to ${MAX_TOKEN_LIFETIME_SECONDS}`,
      );
    }
    const iat = Math.floor(Date.now() / 1000);
    return new SignJWT({ scopes: [...scopes], org_id: this.orgId })
      .setProtectedHeader({ alg: this.algorithm, kid: this.keyId })
      .setIssuer(this.issuer)
      .setSubject(this.id)
      .setAudience(this.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + expiresIn)
      .sign(this.#privateKey);
  }

  /** The account's public description; never the private key. */
  toJSON(): Omit<ServiceAccountFile, 'private_key'> {
    return {
      type: 'service_account',
      service_account_id: this.id,
      org_id: this.orgId,
      private_key_id: this.keyId,
      algorithm: this.algorithm,
      issuer: this.issuer,
      audience: this.audience,
      api_base_url: this.apiBaseUrl,
    };
  }
}
