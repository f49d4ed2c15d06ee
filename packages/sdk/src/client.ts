/**
 * `new Cohera()`: the client. It takes exactly one credential (an API key, an access token, or a service
 * account that mints its own tokens), from the options or from `COHERA_API_KEY`, and keeps it in a
 * private field: it is sent only in the `Authorization` header, never in a URL, never in an error, and
 * does not show in `console.log(client)` or `JSON.stringify(client)`. It also needs the server's address
 * (`baseUrl`, `COHERA_BASE_URL` or a service account's `api_base_url`): there is no default host.
 */
import type { ServiceAccount } from './auth/service-account.ts';
import { MAX_TOKEN_LIFETIME_SECONDS } from './auth/token-lifetime.ts';
import { resolveBaseUrl } from './base-url.ts';
import {
  bearerValue,
  CallbackCredential,
  ServiceAccountCredential,
  StaticCredential,
} from './credentials.ts';
import { readEnv } from './env.ts';
import { CoheraError } from './errors.ts';
import type { RateLimit } from './rate-limit.ts';
import { Credentials } from './resources/credentials.ts';
import { Certificates, Products, Suppliers } from './resources/domain.ts';
import {
  ApiKeys,
  AuditEvents,
  OAuthClients,
  OrganizationResource,
  Security,
  ServiceAccounts,
  Usage,
} from './resources/management.ts';
import { Invitations, Members } from './resources/team.ts';
import { Events, WebhookEndpoints } from './resources/webhooks.ts';
import { DEFAULT_BACKOFF } from './retry.ts';
import { type CredentialSource, type RequestOptions, Transport } from './transport.ts';
import type { CredentialInfo, Scope } from './types.ts';

export interface CoheraOptions {
  /**
   * `ck_live_…` or `ck_test_…`; default `COHERA_API_KEY` when no other credential is given. Whitespace
   * around it (a key read from a file ends in a newline) is removed.
   */
  apiKey?: string;
  /**
   * An OAuth access token or a service-account JWT, or a function returning a current one (called
   * before every request: refresh tokens there).
   */
  accessToken?: string | (() => string | Promise<string>);
  /** A service account: the client mints tokens with `scopes`, reuses them and renews them before expiry. */
  serviceAccount?: ServiceAccount;
  /** The scopes of the tokens a `serviceAccount` client mints (required with `serviceAccount`). */
  scopes?: readonly Scope[];
  /** Lifetime of the tokens a `serviceAccount` client mints, seconds (1–3600, default 3600). */
  tokenLifetime?: number;
  /**
   * Your Cohera server, e.g. `http://127.0.0.1:8080`. Default `COHERA_BASE_URL`, else the service
   * account's `api_base_url`; without any of them the constructor throws a `CoheraError` with code
   * `missing_base_url` (there is no default host, so a credential never goes to a server you do not run).
   */
  baseUrl?: string;
  /** Milliseconds per attempt (default 30 000). */
  timeout?: number;
  /** Retries after a network error, 408, 429, 502, 503 or 504 (default 2). */
  maxRetries?: number;
  /**
   * The longest wait the server may ask for (`Retry-After`, ms) that the client sits out before retrying;
   * a longer one (a spent daily limit) throws the `RateLimitError` at once. Default 60 000.
   */
  maxRetryDelay?: number;
  /** A `fetch` to use instead of the global one (a proxy agent, instrumentation, tests). */
  fetch?: typeof fetch;
  /**
   * No credential, not even `COHERA_API_KEY`: only the public calls (`credentials.revoke`) work; any other
   * call throws a `CoheraError` (`missing_credential`) before sending anything.
   */
  anonymous?: boolean;
}

const API_KEY_SHAPE = /^ck_(live|test)_[0-9A-Za-z]{38}$/;

/** The credential of an `anonymous` client: there is none, so every authenticated call fails unsent. */
const NO_CREDENTIAL: CredentialSource = {
  current(): string {
    throw new CoheraError(
      'This client was made with anonymous: true and has no credential; only public calls such as ' +
        'credentials.revoke() work. Give an apiKey, accessToken or serviceAccount for the others.',
      { code: 'missing_credential' },
    );
  },
};

function credentialFrom(options: CoheraOptions): CredentialSource {
  const given = [options.apiKey, options.accessToken, options.serviceAccount].filter((v) => v !== undefined);
  if (options.anonymous) {
    if (given.length > 0) {
      throw new CoheraError('An anonymous client takes no credential: drop anonymous or the credential', {
        code: 'conflicting_credentials',
      });
    }
    return NO_CREDENTIAL;
  }
  if (given.length > 1) {
    throw new CoheraError('Give one credential: apiKey, accessToken or serviceAccount, not several', {
      code: 'conflicting_credentials',
    });
  }
  if (options.serviceAccount) {
    if (!options.scopes || options.scopes.length === 0) {
      throw new CoheraError('A serviceAccount client needs scopes, e.g. scopes: ["read:certificates"]', {
        code: 'missing_scopes',
      });
    }
    const lifetime = options.tokenLifetime ?? MAX_TOKEN_LIFETIME_SECONDS;
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > MAX_TOKEN_LIFETIME_SECONDS) {
      throw new RangeError(
        `tokenLifetime must be a whole number of seconds from 1 to ${MAX_TOKEN_LIFETIME_SECONDS}`,
      );
    }
    return new ServiceAccountCredential(options.serviceAccount, {
      scopes: options.scopes,
      tokenLifetime: lifetime,
    });
  }
  if (typeof options.accessToken === 'function') return new CallbackCredential(options.accessToken);
  if (typeof options.accessToken === 'string') return new StaticCredential(options.accessToken);
  const raw = options.apiKey ?? readEnv('COHERA_API_KEY');
  if (raw === undefined) {
    throw new CoheraError(
      'No credential. Give one of: an API key (new Cohera({ apiKey }) or the COHERA_API_KEY environment ' +
        'variable), an access token (new Cohera({ accessToken })), or a service account ' +
        '(new Cohera({ serviceAccount, scopes })).',
      { code: 'missing_credential' },
    );
  }
  const apiKey = bearerValue(raw, options.apiKey === undefined ? 'COHERA_API_KEY' : 'apiKey');
  // The message names the shape, never the value: a mistyped key is still mostly a key.
  if (!API_KEY_SHAPE.test(apiKey)) {
    throw new CoheraError(
      'The API key is not a Cohera API key (expected ck_live_… or ck_test_… with 38 more characters). ' +
        'For an OAuth or service-account token, use accessToken.',
      { code: 'invalid_credential' },
    );
  }
  return new StaticCredential(apiKey, 'apiKey');
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  }
  return value;
}

export class Cohera {
  readonly #transport: Transport;

  readonly suppliers: Suppliers;
  readonly products: Products;
  readonly certificates: Certificates;
  readonly apiKeys: ApiKeys;
  readonly serviceAccounts: ServiceAccounts;
  readonly oauthClients: OAuthClients;
  readonly auditEvents: AuditEvents;
  readonly organization: OrganizationResource;
  readonly security: Security;
  readonly usage: Usage;
  readonly webhookEndpoints: WebhookEndpoints;
  readonly events: Events;
  readonly credentials: Credentials;
  /** The organization's people (`admin`): list, change a role, remove. */
  readonly members: Members;
  /** Invitations to join the organization (`admin`): create, list pending, revoke. */
  readonly invitations: Invitations;

  constructor(options: CoheraOptions = {}) {
    const credential = credentialFrom(options);
    const baseUrl = resolveBaseUrl({
      option: options.baseUrl,
      serviceAccount: options.serviceAccount?.apiBaseUrl,
      owner: 'Cohera',
    });
    this.#transport = new Transport({
      baseUrl,
      credential,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      timeout: positive('timeout', options.timeout, 30_000),
      maxRetries: Math.floor(positive('maxRetries', options.maxRetries, 2, true)),
      maxRetryDelay: positive('maxRetryDelay', options.maxRetryDelay, 60_000, true),
      backoff: DEFAULT_BACKOFF,
    });
    const transport = this.#transport;
    this.suppliers = new Suppliers(transport);
    this.products = new Products(transport);
    this.certificates = new Certificates(transport);
    this.apiKeys = new ApiKeys(transport);
    this.serviceAccounts = new ServiceAccounts(transport);
    this.oauthClients = new OAuthClients(transport);
    this.auditEvents = new AuditEvents(transport);
    this.organization = new OrganizationResource(transport);
    this.security = new Security(transport);
    this.usage = new Usage(transport);
    this.webhookEndpoints = new WebhookEndpoints(transport);
    this.events = new Events(transport);
    this.credentials = new Credentials(transport);
    this.members = new Members(transport);
    this.invitations = new Invitations(transport);
  }

  /** The server this client talks to. */
  get baseUrl(): string {
    return this.#transport.baseUrl;
  }

  /** `X-RateLimit-*` of the last response: the window with the fewest requests left. */
  get lastRateLimit(): RateLimit | null {
    return this.#transport.lastRateLimit;
  }

  /**
   * Who this client's credential is (`GET /health`): the "verify the new key works" step of a rotation.
   * Throws `AuthenticationError` if the server refuses the credential.
   */
  async whoami(options?: RequestOptions): Promise<CredentialInfo> {
    const health = await this.#transport.request<{ status: string; auth?: CredentialInfo }>({
      method: 'GET',
      path: '/health',
      options,
    });
    if (!health.auth)
      throw new CoheraError('The server did not identify the credential', { code: 'no_auth_info' });
    return health.auth;
  }
}
