/**
 * Prefixed, time-sortable ids (`cert_…`, `key_…`): the prefix says what an id is, the body sorts by
 * creation time so that keyset pagination by id is also newest-first. Generated in one place only.
 *
 * Body: 22 base62 characters encoding 128 bits = 48 bits of Unix milliseconds + 80 random bits.
 */
import { encodeBase62 } from './base62.ts';

export const ID_PREFIXES = {
  organization: 'org',
  user: 'usr',
  session: 'ses',
  supplier: 'sup',
  product: 'prd',
  certificate: 'cert',
  api_key: 'key',
  service_account: 'sa',
  service_account_key: 'sak',
  oauth_client: 'cli',
  oauth_authorization: 'grt',
  oauth_signing_key: 'osk',
  audit_event: 'evt',
  webhook_endpoint: 'whe',
  request: 'req',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;
export type IdPrefix = (typeof ID_PREFIXES)[IdKind];

const BODY_LENGTH = 22;

export function newId(kind: IdKind, now: number = Date.now()): string {
  const random = new Uint8Array(10);
  globalThis.crypto.getRandomValues(random);
  let value = BigInt(now) & 0xffffffffffffn;
  for (const byte of random) value = (value << 8n) | BigInt(byte);
  return `${ID_PREFIXES[kind]}_${encodeBase62(value, BODY_LENGTH)}`;
}

const ID_SHAPE = /^([a-z]+)_([0-9A-Za-z]{22})$/;

/** Whether `id` is a well-formed id of `kind`; a cheap check before any lookup. */
export function isId(kind: IdKind, id: string): boolean {
  const match = ID_SHAPE.exec(id);
  return match !== null && match[1] === ID_PREFIXES[kind];
}

/** The pattern a JSON schema uses to accept ids of `kind` only. */
export function idPattern(kind: IdKind): string {
  return `^${ID_PREFIXES[kind]}_[0-9A-Za-z]{22}$`;
}
