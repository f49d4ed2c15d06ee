/**
 * OAuth end to end: a real listening server whose issuer URL is its own loopback address, an app registered
 * through the developer-console API, the independent client library `oauth4webapi` as the app, and a small
 * cookie-keeping "browser" over fetch that signs in and answers the consent form exactly as a person's
 * browser would (the Chromium test drives the same pages with a real browser).
 */
import { createServer } from 'node:net';
import type { Scope } from '@cohera/shared';
import * as oauth from 'oauth4webapi';
import type { BuildOptions } from '../../src/app.ts';
import { startTestApp, type TestApp, type TestOrg } from './app.ts';
import type { EngineHandle } from './engines.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface OAuthTestServer extends TestApp {
  baseUrl: string;
  issuer: URL;
  /** The authorization server's metadata, discovered by oauth4webapi (RFC 8414). */
  as: oauth.AuthorizationServer;
}

/** Starts a listening app whose COHERA_PUBLIC_URL is its real address (the issuer must match it). */
export async function startOAuthServer(
  handle: EngineHandle,
  options: BuildOptions & { env?: Record<string, string> } = {},
): Promise<OAuthTestServer> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const t = await startTestApp(handle, { ...options, env: { COHERA_PUBLIC_URL: baseUrl, ...options.env } });
  await t.app.listen({ port, host: '127.0.0.1' });
  const issuer = new URL(baseUrl);
  const as = await discover(issuer);
  return { ...t, baseUrl, issuer, as };
}

export async function discover(issuer: URL): Promise<oauth.AuthorizationServer> {
  const response = await oauth.discoveryRequest(issuer, {
    algorithm: 'oauth2',
    [oauth.allowInsecureRequests]: true,
  });
  return oauth.processDiscoveryResponse(issuer, response);
}

/** Fetch options for a loopback http server (oauth4webapi refuses http unless told). */
export const INSECURE = { [oauth.allowInsecureRequests]: true } as const;

export interface RegisteredClient {
  id: string;
  client_id: string;
  client_secret: string | null;
  redirect_uris: string[];
  scopes: string[];
  client_type: 'confidential' | 'public';
  mode: 'live' | 'test';
}

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** Registers an app through `POST /v1/oauth/clients` with the org's admin key. */
export async function registerClient(
  t: TestApp,
  adminKey: string,
  body: Partial<{
    name: string;
    redirect_uris: string[];
    client_type: 'confidential' | 'public';
    scopes: Scope[];
    mode: 'live' | 'test';
  }> = {},
): Promise<RegisteredClient> {
  const response = await t.call(adminKey, 'POST', '/v1/oauth/clients', {
    name: 'Supplier portal',
    redirect_uris: [REDIRECT_URI],
    client_type: 'confidential',
    scopes: ['read:certificates', 'read:suppliers', 'write:suppliers'],
    ...body,
  });
  if (response.statusCode !== 201) throw new Error(`client registration failed: ${response.body}`);
  return response.json() as RegisteredClient;
}

/** A cookie-keeping browser that follows redirects on our origin and stops at any other. */
export class Browser {
  readonly #cookies = new Map<string, string>();
  readonly #origin: string;
  constructor(baseUrl: string) {
    this.#origin = new URL(baseUrl).origin;
  }

  get cookieHeader(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  #store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = (pair ?? '').indexOf('=');
      if (index <= 0) continue;
      const name = (pair as string).slice(0, index).trim();
      const value = (pair as string).slice(index + 1).trim();
      if (/max-age=0|expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  /** One request, no redirect followed. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size) headers.set('cookie', this.cookieHeader);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.#store(response);
    return response;
  }

  /** Follows redirects while they stay on our origin; returns the last response or the foreign URL. */
  async navigate(url: string, init: RequestInit = {}): Promise<{ response: Response; foreign?: URL }> {
    let response = await this.request(url, init);
    for (let hops = 0; hops < 10; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { response };
      const next = new URL(location, response.url || url);
      if (next.origin !== this.#origin) return { response, foreign: next };
      response = await this.request(next.href);
    }
    throw new Error('too many redirects');
  }

  /** Submits a form like a browser: urlencoded, with the Origin header. */
  async submit(url: string, fields: Record<string, string>) {
    return this.navigate(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.#origin },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async signIn(org: Pick<TestOrg, 'email' | 'password'>): Promise<void> {
    const response = await this.request(`${this.#origin}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: this.#origin },
      body: JSON.stringify({ email: org.email, password: org.password }),
    });
    if (response.status !== 200) throw new Error(`sign-in failed: ${response.status}`);
  }
}

export interface AuthorizationRequest {
  url: URL;
  state: string;
  codeVerifier: string;
}

/** The authorization URL an app builds, with PKCE S256 and state (the SDK's getAuthorizationUrl). */
export async function authorizationRequest(
  as: oauth.AuthorizationServer,
  client: Pick<RegisteredClient, 'client_id'>,
  scopes: string[],
  extra: Record<string, string> = {},
  options: { pkce?: boolean; redirectUri?: string } = {},
): Promise<AuthorizationRequest> {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint as string);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('redirect_uri', options.redirectUri ?? REDIRECT_URI);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', scopes.join(' '));
  url.searchParams.set('state', state);
  if (options.pkce !== false) {
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, value);
  return { url, state, codeVerifier };
}

/** The consent form's CSRF token, read from the page as a browser would submit it. */
export function consentToken(html: string): string {
  const match = /name="csrf_token" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no consent form on the page');
  return match[1] as string;
}

/**
 * Runs the browser part of an authorization: open the URL, sign in if asked, answer the consent page with
 * `decision` (when shown). Returns where the browser was sent back to the app.
 */
export async function runAuthorization(
  browser: Browser,
  request: AuthorizationRequest,
  org: Pick<TestOrg, 'email' | 'password'>,
  decision: 'allow' | 'deny' = 'allow',
): Promise<{ callback: URL; consentShown: boolean; consentHtml?: string }> {
  let { response, foreign } = await browser.navigate(request.url.href);
  if (foreign) return { callback: foreign, consentShown: false };
  let html = await response.text();
  if (html.includes('name="password"')) {
    const returnTo = /name="return_to" value="([^"]+)"/.exec(html)?.[1] as string;
    ({ response, foreign } = await browser.submit(new URL('/auth/login', request.url).href, {
      email: org.email,
      password: org.password,
      return_to: returnTo,
    }));
    if (foreign) return { callback: foreign, consentShown: false };
    html = await response.text();
  }
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!action?.includes('/decision')) {
    throw new Error(
      `expected the consent page, got ${response.status} at ${response.url}: ${html.slice(html.indexOf('<main>'), html.indexOf('</main>'))}`,
    );
  }
  const result = await browser.submit(new URL(action, request.url).href, {
    decision,
    csrf_token: consentToken(html),
  });
  if (!result.foreign) throw new Error(`consent did not return to the app (${result.response.status})`);
  return { callback: result.foreign, consentShown: true, consentHtml: html };
}

export function clientAuth(client: RegisteredClient): oauth.ClientAuth {
  return client.client_secret ? oauth.ClientSecretBasic(client.client_secret) : oauth.None();
}

/** Exchanges the code at the token endpoint with oauth4webapi, validating state and `iss` (RFC 9207). */
export async function exchangeCode(
  as: oauth.AuthorizationServer,
  client: RegisteredClient,
  request: AuthorizationRequest,
  callback: URL,
  redirectUri: string = REDIRECT_URI,
): Promise<oauth.TokenEndpointResponse> {
  const params = oauth.validateAuthResponse(as, { client_id: client.client_id }, callback, request.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    { client_id: client.client_id },
    clientAuth(client),
    params,
    redirectUri,
    request.codeVerifier,
    INSECURE,
  );
  return oauth.processAuthorizationCodeResponse(as, { client_id: client.client_id }, response);
}

/** Authorization, consent (allow) and code exchange in one: the tokens an app holds after the flow. */
export async function authorize(
  t: OAuthTestServer,
  browser: Browser,
  org: Pick<TestOrg, 'email' | 'password'>,
  client: RegisteredClient,
  scopes: string[],
): Promise<oauth.TokenEndpointResponse & { refresh_token: string }> {
  const request = await authorizationRequest(t.as, client, scopes);
  const { callback } = await runAuthorization(browser, request, org);
  const tokens = await exchangeCode(t.as, client, request, callback);
  if (!tokens.refresh_token) throw new Error('no refresh token issued');
  return tokens as oauth.TokenEndpointResponse & { refresh_token: string };
}

/** A refresh-token grant, returning the raw response (tests look at errors too). */
export function refreshRequest(
  t: OAuthTestServer,
  client: RegisteredClient,
  refreshToken: string,
): Promise<Response> {
  return oauth.refreshTokenGrantRequest(
    t.as,
    { client_id: client.client_id },
    clientAuth(client),
    refreshToken,
    INSECURE,
  );
}

/** A form POST to an OAuth endpoint with HTTP Basic client authentication (or none for public clients). */
export function postForm(
  url: string,
  fields: Record<string, string>,
  client?: Pick<RegisteredClient, 'client_id' | 'client_secret'>,
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(fields);
  if (client?.client_secret) {
    const pair = `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  } else if (client) {
    body.set('client_id', client.client_id);
  }
  return fetch(url, { method: 'POST', headers, body: body.toString() });
}
