/**
 * The anti-framing headers on everything the OAuth engine (oidc-provider) sends, as on our own pages
 * (http/html-page.ts). In our configuration the engine writes HTML in two places: its error page
 * (`renderError`, ours, for an unknown client or an untrusted `redirect_uri`) and the `form_post` response
 * mode (a page that posts the code or the error to the app with an inline script). Neither may be framed —
 * a framed authorization page is a clickjacking target — and neither may carry a policy we did not build.
 * Its other HTML (device flow, logout, dev interactions) is disabled in provider.ts.
 *
 * A Koa middleware around every engine route: it sets `X-Frame-Options: DENY` and a baseline CSP before the
 * engine runs (the engine adds the `'sha256-…'` of form_post's script to a `script-src` it finds), then
 * rebuilds the CSP of any HTML response with pageCsp, keeping only well-formed script hashes and, for
 * form_post, the origin of the redirect URI the engine posts to, when the client registered it.
 */
import { checkRedirectUri } from '@cohera/shared';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { pageCsp } from '../../http/html-page.ts';

/** What an engine response carries until it is known to be a page: nothing allowed, no frame. */
const BASELINE_CSP = "frame-ancestors 'none'; default-src 'none'; script-src 'none'";

/** The `'sha256-…'` sources of a policy's `script-src` (pageCsp checks each against its grammar again). */
export function scriptHashesOf(csp: unknown): string[] {
  if (typeof csp !== 'string') return [];
  const directive = csp
    .split(';')
    .map((part) => part.trim().split(/\s+/))
    .find(([name]) => name === 'script-src');
  return (directive ?? []).slice(1).filter((source) => source.startsWith("'sha256-"));
}

/** The origin form_post posts to: the request's `redirect_uri`, if this client registered it and it is valid. */
function formActionsOf(ctx: KoaContextWithOIDC): string[] {
  const oidc = (ctx as Partial<KoaContextWithOIDC>).oidc;
  const uri: unknown = oidc?.params?.redirect_uri;
  if (typeof uri !== 'string' || !oidc?.client?.redirectUriAllowed(uri)) return [];
  const check = checkRedirectUri(uri);
  return check.ok ? [check.origin] : [];
}

export function guardEngineResponses(provider: Provider): void {
  provider.use(async (ctx, next) => {
    ctx.set('x-frame-options', 'DENY');
    ctx.set('content-security-policy', BASELINE_CSP);
    await next();
    if (ctx.response.is('html')) {
      const hashes = scriptHashesOf(ctx.response.get('content-security-policy'));
      ctx.set('content-security-policy', pageCsp(formActionsOf(ctx as KoaContextWithOIDC), hashes));
    }
  });
}
