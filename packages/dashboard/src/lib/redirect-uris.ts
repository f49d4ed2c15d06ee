/**
 * Redirect URIs as the Register-app dialog takes them (one per line), checked by the server's own rules
 * (shared with it), so a mistake is named in the form before anything is sent. What is sent is each URI's
 * canonical form (an international host name as its `xn--` A-labels), as the server stores it. The server
 * checks again.
 */
import {
  checkRedirectUri,
  MAX_REDIRECT_URIS,
  redirectUriProblem,
} from '../../../shared/src/redirect-uris.ts';

export { MAX_REDIRECT_URIS, redirectUriProblem };

export function parseRedirectUris(text: string): { uris: string[]; errors: string[] } {
  const uris: string[] = [];
  const errors: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const check = checkRedirectUri(line);
    if (!check.ok) errors.push(`${line} ${check.problem}`);
    else if (!uris.includes(check.uri)) uris.push(check.uri);
  }
  if (uris.length === 0 && errors.length === 0) errors.push('Add at least one redirect URI.');
  if (uris.length > MAX_REDIRECT_URIS) errors.push(`At most ${MAX_REDIRECT_URIS} redirect URIs.`);
  return { uris, errors };
}
