/**
 * Redirect-URI rules for registered OAuth clients (RFC 9700 §2.1, §4.1.3): absolute, https — plain http only
 * to a loopback host, for native and development apps (RFC 8252 §7.3) — no fragment (RFC 6749 §3.1.2), no
 * credentials in the URI. Shared so the server's check and the dashboard's form say the same thing; the
 * server's is the one that counts.
 */

export const MAX_REDIRECT_URIS = 10;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** The problem with one redirect URI, or null when it is acceptable. */
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
