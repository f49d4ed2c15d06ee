/**
 * The SSRF guard for webhook URLs (DESIGN §5.5). A webhook makes the server send a request to an address a
 * customer chose, so without this an admin of one org could reach the server's own network: loopback
 * services, RFC 1918 hosts, the cloud metadata endpoint at 169.254.169.254. Two checks:
 *
 * - `checkWebhookUrl`, when an endpoint is created or its URL changed: `https://` only and no private
 *   address written as a literal. The WHATWG URL parser has already turned every legacy spelling of an
 *   IPv4 address (`2130706433`, `0177.0.0.1`, `0x7f.1`) into dotted decimal and IPv6 into its canonical
 *   form, so the check sees the address the client would connect to, not the text that was typed.
 * - `guardedLookup` and `assertPublicAddress`, when a delivery connects: every address DNS returns for the
 *   host is checked (a hostname that resolves, or later re-resolves, to 127.0.0.1 — `localhost`, DNS
 *   rebinding — is refused), and an IP-literal host, which Node connects to without a lookup, is checked
 *   before the request starts. So the address actually connected to is always one that passed.
 *
 * An address is public only when ipaddr.js classifies it `unicast`: loopback, private, link-local, CGNAT
 * (100.64/10), unique-local (fc00::/7), unspecified, multicast, broadcast, reserved and benchmarking ranges,
 * and IPv6 forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) are all refused. IPv4-mapped
 * IPv6 (`::ffff:127.0.0.1`) is first unwrapped to the IPv4 address it means.
 * `COHERA_WEBHOOKS_ALLOW_PRIVATE=true` turns both checks off for development and tests.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** The error a delivery records when the guard refuses the address it would connect to. */
export class WebhookAddressError extends Error {
  constructor(address: string) {
    super(`address ${address} is not a public address (webhook URLs must reach the public internet)`);
    this.name = 'WebhookAddressError';
  }
}

/** Whether `address` (an IPv4 or IPv6 literal, IPv6 without brackets) is a public unicast address. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  // process() unwraps IPv4-mapped IPv6 (::ffff:a.b.c.d), so it is classified as the IPv4 address it is.
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).zoneId !== undefined) return false;
  return parsed.range() === 'unicast';
}

/** Throws `WebhookAddressError` unless `address` is a public unicast address. */
export function assertPublicAddress(address: string): void {
  if (!isPublicAddress(address)) throw new WebhookAddressError(address);
}

/** The host of a parsed URL as an address literal, or null when it is a name (IPv6 loses its brackets). */
export function literalAddress(url: URL): string | null {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) === 0 ? null : host;
}

/**
 * Checks a webhook URL when an endpoint is created or its URL changes. Returns null when the URL is
 * acceptable, else why not (for a 400 on `body/url`). With `allowPrivate` (development, tests) `http://` and
 * private addresses are accepted.
 */
export function checkWebhookUrl(url: string, allowPrivate: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute URL';
  }
  const schemes = allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(parsed.protocol)) {
    return allowPrivate ? 'must be an http:// or https:// URL' : 'must be an https:// URL';
  }
  // Credentials in a URL would be shown back by the API and written to logs.
  if (parsed.username !== '' || parsed.password !== '') return 'must not contain a user name or password';
  if (parsed.hash !== '') return 'must not contain a fragment';
  if (allowPrivate) return null;
  const literal = literalAddress(parsed);
  if (literal !== null) return isPublicAddress(literal) ? null : 'must not point to a private address';
  // RFC 6761 §6.3: localhost names always resolve to loopback; refused here rather than only at delivery.
  const host = parsed.hostname.replace(/\.$/, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return 'must not point to a private address';
  return null;
}

/**
 * A `lookup` for node:http(s) that resolves every address of the host and refuses the connection when any
 * is not public (checking only the first would let a host list a public and a private address and win the
 * race of happy eyeballs).
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) {
      callback(error, '', 0);
      return;
    }
    const refused = addresses.find((entry) => !isPublicAddress(entry.address));
    if (refused) {
      callback(new WebhookAddressError(refused.address), '', 0);
      return;
    }
    const first = addresses[0];
    if (options.all) (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
    else if (first) callback(null, first.address, first.family);
    else callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
  });
};
