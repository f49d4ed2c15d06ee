/**
 * Redirect-URI rules for registered OAuth clients (RFC 9700 §2.1, §4.1.3): an absolute URI as RFC 3986
 * defines it (RFC 6749 §3.1.2), https — plain http only to a loopback host, for native and development apps
 * (RFC 8252 §7.3) — no fragment (RFC 6749 §3.1.2), no credentials, and a host that is a valid DNS name or an
 * IP literal (hostnames.ts). Shared so the server's check and the dashboard's form say the same thing; the
 * server's is the one that counts.
 *
 * The host is what a redirect URI contributes to the consent page's Content-Security-Policy (`form-action`
 * lists the client's origins), so it is held to the strict grammar; the path and query never reach a header
 * and only have to be valid URI characters (`;` in a path is fine).
 */
import { checkHost, describeCharacter, isLoopbackHost, isSerializedOrigin } from './hostnames.ts';

export { isLoopbackHost, isSerializedOrigin } from './hostnames.ts';

export const MAX_REDIRECT_URIS = 10;

export type RedirectUriCheck =
  /** `uri`: the canonical form to store (host in lower case and A-labels); `origin`: its serialized origin. */
  | { ok: true; uri: string; origin: string }
  /** `problem`: what is wrong and what to do, to read after the URI ("… must use https"). */
  | { ok: false; problem: string };

/** RFC 3986 §2: the characters a URI may hold (unreserved, reserved, and `%` of a percent-encoded byte). */
const URI_CHARACTER = /[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const EXAMPLE = 'https://app.example.com/callback';

function invalid(problem: string): RedirectUriCheck {
  return { ok: false, problem };
}

/**
 * Characters URL parsers treat differently from one another, or drop silently: whitespace and control
 * characters (a tab inside a host vanishes), and the backslash (a slash to browsers, not to RFC 3986).
 */
function hiddenCharacterProblem(value: string): string | null {
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code <= 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) {
      return `contains ${describeCharacter(char)}: remove it (percent-encode it if it belongs in the path)`;
    }
    if (char === '\\') return 'contains a backslash (\\): use a slash (/)';
  }
  return null;
}

/** The path and query: URI characters only, and `%` only as a percent-encoded byte. */
function tailProblem(tail: string): string | null {
  for (const char of tail) {
    if (!URI_CHARACTER.test(char)) {
      return `contains ${describeCharacter(char)}, which a URI cannot hold: percent-encode it (%XX)`;
    }
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(tail)) return 'has a % that does not start a percent-encoded byte (%XX)';
  return null;
}

/**
 * Checks one redirect URI. Accepted: `https://app.example.com/cb`, `http://127.0.0.1:8080/cb`,
 * `https://bücher.example/cb` (stored as `https://xn--bcher-kva.example/cb`). Refused, each with a sentence
 * that says what to change: a host with `;`, `*`, `'`, `,`, `"` or `%`, a trailing dot or an empty label,
 * user info, a fragment, whitespace, a backslash, any scheme but https (and http for loopback).
 */
export function checkRedirectUri(value: string): RedirectUriCheck {
  const hidden = hiddenCharacterProblem(value);
  if (hidden) return invalid(hidden);
  if (value.includes('#')) return invalid('must not contain a fragment (#…)');
  const match = SCHEME.exec(value);
  if (!match) return invalid(`must be an absolute URI, such as ${EXAMPLE}`);
  const scheme = (match[1] as string).toLowerCase();
  if (scheme !== 'https' && scheme !== 'http') return invalid('must use https (or http for a loopback host)');
  const rest = value.slice(match[0].length);
  if (!rest.startsWith('//')) return invalid(`must be written ${scheme}://host/path, such as ${EXAMPLE}`);
  const afterSlashes = rest.slice(2);
  const authorityEnd = afterSlashes.search(/[/?]/);
  const authority = authorityEnd < 0 ? afterSlashes : afterSlashes.slice(0, authorityEnd);
  const tail = authorityEnd < 0 ? '' : afterSlashes.slice(authorityEnd);
  if (authority.includes('@')) {
    return invalid('must not contain credentials (a user name or password before the host)');
  }

  let rawHost: string;
  let port: string;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    rawHost = close < 0 ? authority : authority.slice(0, close + 1);
    port = close < 0 ? '' : authority.slice(close + 1);
  } else {
    const colon = authority.indexOf(':');
    rawHost = colon < 0 ? authority : authority.slice(0, colon);
    port = colon < 0 ? '' : authority.slice(colon);
  }
  if (port !== '' && (!/^:[1-9][0-9]{0,4}$/.test(port) || Number(port.slice(1)) > 65_535)) {
    return invalid('has a port that is not a number from 1 to 65535');
  }
  const host = checkHost(rawHost);
  if (!host.ok) return invalid(host.problem);
  const problem = tailProblem(tail);
  if (problem) return invalid(problem);
  if (scheme === 'http' && !isLoopbackHost(host.host)) {
    return invalid('must use https (http is allowed only for loopback hosts: localhost, 127.0.0.1, [::1])');
  }

  const uri = `${scheme}://${host.host}${port}${tail}`;
  let origin: string;
  try {
    origin = new URL(uri).origin;
  } catch {
    return invalid(`must be an absolute URI, such as ${EXAMPLE}`);
  }
  // Defence in depth: whatever the checks above let through, only a strictly well-formed origin comes out.
  if (!isSerializedOrigin(origin)) return invalid(`must be an absolute URI, such as ${EXAMPLE}`);
  return { ok: true, uri, origin };
}

/** The problem with one redirect URI, or null when it is acceptable. */
export function redirectUriProblem(value: string): string | null {
  const check = checkRedirectUri(value);
  return check.ok ? null : check.problem;
}

/** One registered redirect URI that breaks the rules, and why (`problem` reads after the URI). */
export interface RedirectUriProblem {
  redirect_uri: string;
  problem: string;
}

/** The URIs of a registered list that break the rules (for apps registered before a rule existed). */
export function redirectUriProblems(uris: readonly unknown[]): RedirectUriProblem[] {
  const problems: RedirectUriProblem[] = [];
  for (const uri of uris) {
    if (typeof uri !== 'string') {
      problems.push({ redirect_uri: String(uri), problem: 'is not a string' });
      continue;
    }
    const check = checkRedirectUri(uri);
    if (!check.ok) problems.push({ redirect_uri: uri, problem: check.problem });
  }
  return problems;
}
