/**
 * Redirect URIs of registered clients, by the shared rules (@cohera/shared redirect-uris.ts).
 *
 * On the way in, each URI is checked and stored in its canonical form (the host in lower case, an
 * international name as A-labels), and the engine compares a presented `redirect_uri` with what is stored by
 * exact string match (RFC 9700 §2.1). On the way out — to the engine, to a page's CSP, to CORS — only the
 * stored URIs that pass today's rules are used: apps registered before a rule existed (migration 0008 lists
 * theirs) and rows written around the API never reach a header or a redirect with a URI that breaks one.
 */
import { checkRedirectUri, type RedirectUriProblem, redirectUriProblems } from '@cohera/shared';
import { invalidField } from '../../http/errors.ts';
import type { OAuthClientsTable } from '../../storage/schema.ts';

export { MAX_REDIRECT_URIS, type RedirectUriProblem } from '@cohera/shared';

/** Validates a client's redirect URIs, naming the first one that is wrong; returns them canonical, once each. */
export function requireValidRedirectUris(uris: readonly string[]): string[] {
  const canonical = uris.map((uri, index) => {
    const check = checkRedirectUri(uri);
    if (!check.ok) throw invalidField(`body/redirect_uris/${index}`, check.problem);
    return check.uri;
  });
  return [...new Set(canonical)];
}

type StoredUris = Pick<OAuthClientsTable, 'redirect_uris' | 'redirect_uri_problems'>;

function storedUris(client: Pick<OAuthClientsTable, 'redirect_uris'>): unknown[] {
  try {
    const uris: unknown = JSON.parse(client.redirect_uris);
    return Array.isArray(uris) ? uris : [];
  } catch {
    return [];
  }
}

/**
 * The stored URIs that pass the rules and were never flagged, as stored (what the engine may redirect to).
 * redirectUriProblemsOf checks each one, so whatever is not in it passed.
 */
export function usableRedirectUris(client: StoredUris): string[] {
  const flagged = new Set(redirectUriProblemsOf(client).map((problem) => problem.redirect_uri));
  return storedUris(client).filter((uri): uri is string => typeof uri === 'string' && !flagged.has(uri));
}

/** The serialized origins of the usable URIs: the only values a page's `form-action` or CORS may name. */
export function usableRedirectOrigins(client: StoredUris): string[] {
  const origins = new Set<string>();
  for (const uri of usableRedirectUris(client)) {
    const check = checkRedirectUri(uri);
    if (check.ok) origins.add(check.origin);
  }
  return [...origins];
}

/**
 * The stored URIs that break the rules: those migration 0008 recorded and those that fail today's check
 * (the same, unless the rules grew since or the row was written around the API), one entry per URI.
 */
export function redirectUriProblemsOf(client: StoredUris): RedirectUriProblem[] {
  const found = new Map<string, RedirectUriProblem>();
  for (const problem of redirectUriProblems(storedUris(client))) found.set(problem.redirect_uri, problem);
  let recorded: unknown;
  try {
    recorded = JSON.parse(client.redirect_uri_problems);
  } catch {
    recorded = [];
  }
  for (const item of Array.isArray(recorded) ? recorded : []) {
    const { redirect_uri: uri, problem } = (item ?? {}) as Partial<RedirectUriProblem>;
    if (typeof uri === 'string' && typeof problem === 'string' && !found.has(uri)) {
      found.set(uri, { redirect_uri: uri, problem });
    }
  }
  return [...found.values()];
}

/** What the developer console and the refusal page say about one such URI, in words. */
export function explainRedirectUriProblem(problem: RedirectUriProblem): string {
  return (
    `This redirect URI ${problem.problem}. It was registered before Cohera checked redirect URIs this ` +
    'strictly, and authorization requests that use it are refused. Edit the app and replace it with a ' +
    'corrected redirect URI (PATCH /v1/oauth/clients/:id, or Edit in the developer console).'
  );
}
