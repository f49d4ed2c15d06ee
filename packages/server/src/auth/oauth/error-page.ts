/**
 * The engine's error page (oidc-provider `renderError`): shown, never redirected, when the request cannot
 * be trusted to go back to the app — an unknown client, a `redirect_uri` it did not register (RFC 9700
 * §4.11.1: no open redirector). When the URI was registered but breaks the redirect-URI rules (an app
 * registered before they existed, migration 0008), the page says so in words, since the engine only knows
 * it is not one of the client's usable URIs. The page carries our CSP and `X-Frame-Options: DENY`
 * (engine-headers.ts sets them on every engine response as well).
 */
import type { Kysely } from 'kysely';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { pageCsp } from '../../http/html-page.ts';
import type { DB } from '../../storage/schema.ts';
import { findClientById } from './clients-repository.ts';
import { errorPage } from './pages.ts';
import { redirectUriProblemsOf } from './redirect-uris.ts';

const CLIENT_ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;

function param(params: Record<string, unknown> | undefined, name: string): string | null {
  const value = params?.[name];
  return typeof value === 'string' ? value : null;
}

/** Why this request's redirect URI is refused, when it is one the client registered before the rules. */
async function refusedRegisteredUri(
  db: Kysely<DB>,
  ctx: KoaContextWithOIDC,
  error: string,
): Promise<string | null> {
  if (error !== 'invalid_redirect_uri' && error !== 'invalid_client') return null;
  const params = ((ctx as Partial<KoaContextWithOIDC>).oidc?.params ?? ctx.query) as
    | Record<string, unknown>
    | undefined;
  const clientId = param(params, 'client_id');
  if (!clientId || !CLIENT_ID_SHAPE.test(clientId)) return null;
  const client = await findClientById(db, clientId);
  if (!client) return null;
  const problems = redirectUriProblemsOf(client);
  const presented = param(params, 'redirect_uri');
  const problem = presented ? problems.find((p) => p.redirect_uri === presented) : undefined;
  if (problem) {
    return (
      `this app's redirect URI ${problem.redirect_uri} ${problem.problem}. It was registered before ` +
      'Cohera checked redirect URIs this strictly and cannot be used: the app’s developer must register ' +
      'the app again with a corrected redirect URI'
    );
  }
  if (error === 'invalid_client' && problems.length > 0 && !presented) {
    return (
      'every redirect URI this app registered breaks Cohera’s rules (it was registered before they ' +
      'existed): the app’s developer must register the app again with corrected redirect URIs'
    );
  }
  return null;
}

export function renderEngineError(db: Kysely<DB>): NonNullable<Configuration['renderError']> {
  return async (ctx, out) => {
    const error = String(out.error ?? 'server_error');
    const refused = await refusedRegisteredUri(db, ctx, error).catch(() => null);
    ctx.type = 'html';
    ctx.set('content-security-policy', pageCsp());
    ctx.set('x-frame-options', 'DENY');
    ctx.set('cache-control', 'no-store');
    ctx.body = refused
      ? errorPage('invalid_redirect_uri', refused)
      : errorPage(error, String(out.error_description ?? ''));
  };
}
