/**
 * Redirect URIs as the Register-app dialog takes them (one per line), checked by the server's own rules
 * (RFC 9700: absolute, https, plain http only to a loopback host, no fragment, no credentials; at most 10),
 * so a mistake is named in the form before anything is sent. The server checks again.
 */

export const MAX_REDIRECT_URIS = 10;

function isLoopbackHost(hostname: string): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

export function redirectUriProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URI';
  }
  if (value.includes('#')) return 'must not contain a fragment';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname) ? null : 'must use https (http is allowed only for loopback hosts)';
  }
  return 'must use https (or http for a loopback host)';
}

export function parseRedirectUris(text: string): { uris: string[]; errors: string[] } {
  const uris: string[] = [];
  const errors: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || uris.includes(line)) continue;
    const problem = redirectUriProblem(line);
    if (problem) errors.push(`${line} ${problem}`);
    else uris.push(line);
  }
  if (uris.length === 0 && errors.length === 0) errors.push('Add at least one redirect URI.');
  if (uris.length > MAX_REDIRECT_URIS) errors.push(`At most ${MAX_REDIRECT_URIS} redirect URIs.`);
  return { uris, errors };
}
