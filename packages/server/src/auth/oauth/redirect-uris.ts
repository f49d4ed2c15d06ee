/**
 * Redirect-URI rules for registered clients (RFC 9700 §2.1, §4.1.3): absolute, https — plain http only to
 * a loopback host, for native and development apps (RFC 8252 §7.3) — no fragment (RFC 6749 §3.1.2), no
 * credentials in the URI. At authorization time the engine compares the presented URI to the registered ones
 * by exact string match, so what is stored is exactly what the developer typed.
 */
import { invalidField } from '../../http/errors.ts';

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

/** Validates a client's redirect URIs, naming the first one that is wrong. */
export function requireValidRedirectUris(uris: readonly string[]): string[] {
  uris.forEach((uri, index) => {
    const problem = redirectUriProblem(uri);
    if (problem) throw invalidField(`body/redirect_uris/${index}`, problem);
  });
  return [...new Set(uris)];
}
