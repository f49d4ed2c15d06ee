/**
 * The Content-Security-Policy grammar the security tests hold every page to, written here independently of
 * the code under test (http/html-page.ts): `frame-ancestors 'none'` first, no directive twice, and every
 * source a keyword we use, a script hash, or a strict serialized origin — `scheme://host[:port]` with a DNS
 * name of LDH labels, a dotted-quad IPv4 address or a bracketed IPv6 address. Nothing else can pass: no `;`,
 * `,`, quote, `*` or space inside a source.
 */
import assert from 'node:assert/strict';

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
export const STRICT_ORIGIN = new RegExp(
  `^https?://(?:${LABEL}(?:\\.${LABEL})*|${OCTET}(?:\\.${OCTET}){3}|\\[[0-9a-f:]+\\])(?::[1-9]\\d{0,4})?$`,
);
const KEYWORDS = new Set(["'none'", "'self'", "'unsafe-inline'"]);
const SCRIPT_HASH = /^'sha256-[A-Za-z0-9+/]{43}='$/;

/** The policy's directives, in order, as name → sources. */
export function directivesOf(csp: string): Array<[string, string[]]> {
  return csp
    .split(';')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [name, ...sources] = part.split(/\s+/);
      return [name as string, sources];
    });
}

/** Asserts the strict shape; returns the `form-action` sources for more specific checks. */
export function assertStrictCsp(header: unknown, where: string): string[] {
  assert.equal(typeof header, 'string', `${where}: no Content-Security-Policy`);
  const csp = header as string;
  assert.ok(
    csp.startsWith("frame-ancestors 'none';"),
    `${where}: must start with frame-ancestors 'none': ${csp}`,
  );
  const directives = directivesOf(csp);
  const names = directives.map(([name]) => name);
  assert.deepEqual(names, [...new Set(names)], `${where}: a directive appears twice: ${csp}`);
  for (const [name, sources] of directives) {
    assert.match(name, /^[a-z-]+$/, `${where}: odd directive name ${JSON.stringify(name)}`);
    for (const source of sources) {
      assert.ok(
        KEYWORDS.has(source) || SCRIPT_HASH.test(source) || STRICT_ORIGIN.test(source),
        `${where}: source ${JSON.stringify(source)} of ${name} is not a keyword, a hash or a strict origin: ${csp}`,
      );
    }
  }
  assert.deepEqual(directives[0], ['frame-ancestors', ["'none'"]], `${where}: ${csp}`);
  return directives.find(([name]) => name === 'form-action')?.[1] ?? [];
}

/** Every HTML page: the strict policy and the legacy header for browsers without frame-ancestors. */
export function assertUnframeable(headers: Record<string, unknown>, where: string): string[] {
  assert.equal(headers['x-frame-options'], 'DENY', `${where}: X-Frame-Options`);
  return assertStrictCsp(headers['content-security-policy'], where);
}
