/**
 * The OAuth fixture of the benchmarks: authorization-code flows run over plain HTTP against the bench
 * server, as an app and its user's browser would run them. A small cookie-keeping "browser" over fetch signs
 * the user in once (`POST /auth/login`), opens the authorization URL, follows redirects on the server's
 * origin and answers the consent form (shown the first time only: the consent is remembered); the app side,
 * discovery and the code exchange, is `oauth4webapi`. A focused copy of packages/server/test/support/oauth.ts,
 * so the bench does not import test code.
 *
 * The server's issuer is COHERA_PUBLIC_URL, so the server must run with it set to the URL used here.
 */
import * as oauth from 'oauth4webapi';

/** Where the app's redirect URI points: nothing listens there; the browser stops at it and reads the code. */
export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** oauth4webapi refuses http unless told; the bench server is loopback http. */
const INSECURE = { [oauth.allowInsecureRequests]: true } as const;

export interface OAuthApp {
  clientId: string;
  clientSecret: string;
}

export interface OAuthAccount {
  email: string;
  password: string;
}

export interface FlowTokens {
  accessToken: string;
  refreshToken: string;
}

/** `Authorization: Basic …` for client_secret_basic (RFC 6749 §2.3.1: each part form-urlencoded first). */
export function basicAuthorization(app: OAuthApp): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(app.clientId)}:${encode(app.clientSecret)}`).toString('base64')}`;
}

/** The form body of a refresh_token grant request. */
export function refreshBody(refreshToken: string): string {
  return new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString();
}

/** A cookie-keeping browser that follows redirects on its origin and stops at any other. */
class Browser {
  readonly #cookies = new Map<string, string>();
  readonly #origin: string;

  constructor(baseUrl: string) {
    this.#origin = new URL(baseUrl).origin;
  }

  #store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';', 1)[0] ?? '';
      const index = pair.indexOf('=');
      if (index <= 0) continue;
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      if (/max-age=0|expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  /** One request, no redirect followed. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size) {
      headers.set('cookie', [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.#store(response);
    return response;
  }

  /** Follows redirects while they stay on our origin; returns the last response, or the foreign URL. */
  async navigate(url: string, init: RequestInit = {}): Promise<{ response: Response; foreign?: URL }> {
    let current = url;
    let response = await this.request(current, init);
    for (let hops = 0; hops < 10; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { response };
      const next = new URL(location, current);
      await response.arrayBuffer();
      if (next.origin !== this.#origin) return { response, foreign: next };
      current = next.href;
      response = await this.request(current);
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Submits a form like a browser: urlencoded, with the Origin header. */
  submit(url: string, fields: Record<string, string>) {
    return this.navigate(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.#origin },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async signIn(account: OAuthAccount): Promise<void> {
    const response = await this.request(`${this.#origin}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: this.#origin },
      body: JSON.stringify(account),
    });
    const text = await response.text();
    if (response.status !== 200)
      throw new Error(`sign-in answered ${response.status}: ${text.slice(0, 300)}`);
  }
}

/**
 * Runs `count` authorization-code flows (PKCE S256, state, `iss` checked) for one signed-in user and app,
 * each ending in a code exchange with client_secret_basic. Every flow yields its own refresh token (the
 * start of its own rotation chain) and access token. The first flow answers the consent page; later ones
 * are sent straight back with a code, as the consent is remembered.
 */
export async function authorizationCodeFlows(
  baseUrl: string,
  account: OAuthAccount,
  app: OAuthApp,
  scopes: readonly string[],
  count: number,
): Promise<FlowTokens[]> {
  const issuer = new URL(baseUrl);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...INSECURE }),
  );
  if (typeof as.authorization_endpoint !== 'string') throw new Error('no authorization_endpoint');
  const client: oauth.Client = { client_id: app.clientId };
  const auth = oauth.ClientSecretBasic(app.clientSecret);
  const browser = new Browser(baseUrl);
  await browser.signIn(account);

  const tokens: FlowTokens[] = [];
  for (let i = 0; i < count; i++) {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', app.clientId);
    url.searchParams.set('redirect_uri', REDIRECT_URI);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', scopes.join(' '));
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');

    let { response, foreign } = await browser.navigate(url.href);
    if (!foreign) {
      const html = await response.text();
      const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
      const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
      if (!action?.includes('/decision') || !csrfToken) {
        const main = html.slice(html.indexOf('<main>'), html.indexOf('</main>')) || html.slice(0, 300);
        throw new Error(`flow ${i + 1}: expected the consent page, got ${response.status}: ${main}`);
      }
      ({ response, foreign } = await browser.submit(new URL(action, url).href, {
        decision: 'allow',
        csrf_token: csrfToken,
      }));
      if (!foreign) {
        const text = (await response.text()).slice(0, 300);
        throw new Error(`flow ${i + 1}: consent did not return to the app (${response.status}): ${text}`);
      }
    }
    if (foreign.href.split('?')[0] !== REDIRECT_URI) {
      throw new Error(`flow ${i + 1}: sent to ${foreign.origin}${foreign.pathname}, not the redirect URI`);
    }
    const params = oauth.validateAuthResponse(as, client, foreign, state);
    const result = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(
        as,
        client,
        auth,
        params,
        REDIRECT_URI,
        codeVerifier,
        INSECURE,
      ),
    );
    if (typeof result.refresh_token !== 'string') {
      throw new Error(`flow ${i + 1}: the token response has no refresh_token`);
    }
    tokens.push({ accessToken: result.access_token, refreshToken: result.refresh_token });
  }
  return tokens;
}
