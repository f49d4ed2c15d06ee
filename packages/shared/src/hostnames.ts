/**
 * Host names and origins, checked strictly: DNS names of LDH labels (RFC 1123 §2.1, RFC 5890 §2.3.1), an
 * international name as its A-labels (`xn--…`, RFC 5891), or an IP literal (RFC 3986 §3.2.2).
 *
 * Why not `new URL()` alone: WHATWG URL parsing is lenient by design. It lets `;`, `*`, `'`, `,` and `"` into
 * a host, decodes `%3B` to `;`, drops tabs and line breaks, maps a full-width `；` to `;`, and reads
 * `0x7f.1` as 127.0.0.1. A host that ends up in a Content-Security-Policy header (where `;` starts a new
 * directive) or on a consent page must be none of that. So the raw text is checked first, and URL parsing is
 * used only for what it does well: IDNA (UTS #46) mapping to A-labels, and serializing IPv6 addresses; its
 * result is checked again.
 */

const MAX_LABEL = 63;
const MAX_NAME = 253;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const LABEL_SOURCE = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const OCTET_SOURCE = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4_SOURCE = `${OCTET_SOURCE}(?:\\.${OCTET_SOURCE}){3}`;
const IPV4 = new RegExp(`^${IPV4_SOURCE}$`);
/** As URL serializes one: lower-case hex groups, at least two colons, no zone, no dotted tail. */
const IPV6_SOURCE = '\\[(?=[0-9a-f:]*:[0-9a-f:]*:)[0-9a-f:]{2,39}\\]';
const IPV6 = new RegExp(`^${IPV6_SOURCE}$`);
/**
 * A serialized origin, `scheme://host[:port]`, and nothing else: the grammar every source we put in a CSP
 * header must match. Its alphabet has no space, `;`, `,` or quote, so no value can end a source list or a
 * directive.
 */
const ORIGIN = new RegExp(
  `^https?://(?:${LABEL_SOURCE}(?:\\.${LABEL_SOURCE})*|${IPV4_SOURCE}|${IPV6_SOURCE})(?::([1-9][0-9]{0,4}))?$`,
);

/** Whether `value` is exactly a serialized http(s) origin with a valid DNS name or IP literal as its host. */
export function isSerializedOrigin(value: string): boolean {
  const match = ORIGIN.exec(value);
  if (!match) return false;
  const host = value.slice(value.indexOf('//') + 2).replace(/:[0-9]+$/, '');
  if (host.length > MAX_NAME) return false;
  return match[1] === undefined || Number(match[1]) <= 65_535;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Loopback hosts (RFC 8252 §7.3, §8.3), as canonical host names. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

export type HostCheck =
  | { ok: true; host: string; kind: 'dns' | 'ipv4' | 'ipv6' }
  | { ok: false; problem: string };

/** A character as a person reads it in a message (never raw: it may be a control character). */
export function describeCharacter(char: string): string {
  const named: Record<string, string> = {
    ' ': 'a space',
    '\t': 'a tab',
    '\n': 'a line break',
    '\r': 'a line break',
    '"': 'a double quote (")',
    "'": "a single quote (')",
    '\\': 'a backslash (\\)',
    '%': 'a percent sign (%)',
    ';': 'a semicolon (;)',
    ',': 'a comma (,)',
    '*': 'an asterisk (*)',
  };
  if (named[char]) return named[char];
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) {
    return `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return `"${char}"`;
}

/** The host as shown in a message: quoted, and cut short (it is whatever someone typed). */
function shown(host: string): string {
  return JSON.stringify(host.length > 64 ? `${host.slice(0, 64)}…` : host);
}

const ASCII_HOST_CHAR = /[A-Za-z0-9.-]/;

function forbiddenCharacter(raw: string, char: string): string {
  return `has a host (${shown(raw)}) containing ${describeCharacter(char)}, which no host name may contain: use only letters, digits, hyphens and dots`;
}

/** An all-ASCII host whose last label is a number: URL parsers read it as an IPv4 address, in any notation. */
function looksNumeric(host: string): boolean {
  const last = host.split('.').at(-1) ?? '';
  return /^(?:[0-9]+|0x[0-9a-f]*)$/i.test(last);
}

function dnsNameProblem(raw: string, name: string): string | null {
  if (name.endsWith('.')) return `has a host (${shown(raw)}) that ends with a dot: remove the trailing dot`;
  if (name.length > MAX_NAME) return `has a host name longer than ${MAX_NAME} characters`;
  for (const label of name.split('.')) {
    if (label === '') {
      return `has a host (${shown(raw)}) with an empty label: two dots in a row, or a dot at the start`;
    }
    if (label.length > MAX_LABEL) {
      return `has a host (${shown(raw)}) with a label longer than ${MAX_LABEL} characters`;
    }
    if (label.startsWith('-') || label.endsWith('-')) {
      return `has a host (${shown(raw)}) with a label that starts or ends with a hyphen`;
    }
    if (!LABEL.test(label)) {
      const bad = [...label].find((char) => !/[a-z0-9-]/.test(char)) ?? label;
      return forbiddenCharacter(raw, bad);
    }
  }
  return null;
}

/**
 * Checks a host as written in a URI (without port) and returns its canonical form: a DNS name in lower case
 * with international labels as A-labels (`bücher.example` → `xn--bcher-kva.example`), a dotted-quad IPv4
 * address, or a bracketed IPv6 address as URL serializes it (`[0:0:0:0:0:0:0:1]` → `[::1]`).
 */
export function checkHost(raw: string): HostCheck {
  if (raw === '') return { ok: false, problem: 'has no host' };
  if (raw.startsWith('[')) {
    const problem = `has an IPv6 host (${shown(raw)}) that is not valid: write it in brackets, like [2001:db8::1], without a zone`;
    if (!/^\[[0-9A-Fa-f:.]+\]$/.test(raw)) return { ok: false, problem };
    let host: string;
    try {
      host = new URL(`http://${raw}/`).hostname;
    } catch {
      return { ok: false, problem };
    }
    return IPV6.test(host) ? { ok: true, host, kind: 'ipv6' } : { ok: false, problem };
  }
  for (const char of raw) {
    if ((char.codePointAt(0) ?? 0) < 0x80 && !ASCII_HOST_CHAR.test(char)) {
      if (char === '%') {
        return {
          ok: false,
          problem: `has a percent-encoded host (${shown(raw)}): write the host name itself, not %XX escapes`,
        };
      }
      return { ok: false, problem: forbiddenCharacter(raw, char) };
    }
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is what is meant
  const ascii = /^[\x00-\x7f]*$/.test(raw);
  if (ascii && looksNumeric(raw)) {
    if (IPV4.test(raw)) return { ok: true, host: raw, kind: 'ipv4' };
    return {
      ok: false,
      problem: `has a host (${shown(raw)}) that looks like an IPv4 address but is not one: write four numbers from 0 to 255 separated by dots, without leading zeros`,
    };
  }
  if (ascii) {
    const problem = dnsNameProblem(raw, raw.toLowerCase());
    if (problem) return { ok: false, problem };
  }
  let host: string;
  try {
    // IDNA (UTS #46): maps and converts each label to its A-label. The result is checked again below, since
    // the mapping can produce characters no host name may contain (a full-width `；` becomes `;`).
    host = new URL(`http://${raw}/`).hostname;
  } catch {
    return { ok: false, problem: `has a host (${shown(raw)}) that is not a valid domain name` };
  }
  if (IPV4.test(host)) return { ok: true, host, kind: 'ipv4' };
  const problem = dnsNameProblem(raw, host);
  if (problem) return { ok: false, problem };
  if (looksNumeric(host)) {
    return { ok: false, problem: `has a host (${shown(raw)}) that is not a valid domain name` };
  }
  return { ok: true, host, kind: 'dns' };
}
