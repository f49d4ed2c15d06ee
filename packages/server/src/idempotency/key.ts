/**
 * What an `Idempotency-Key` is and whom it belongs to (draft-ietf-httpapi-idempotency-key-header, as
 * Stripe applies it): which routes honour it, the shape of the header value, and the owner a key is
 * scoped to. Pure: no storage, no Fastify lifecycle.
 */
import { createHash } from 'node:crypto';
import type { Mode } from '@cohera/shared';
import type { AuthContext, RouteAccess } from '../auth/context.ts';
import { invalidField } from '../http/errors.ts';

/** The request header (Node lower-cases header names). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** The response header that marks a replayed answer. */
export const REPLAYED_HEADER = 'idempotent-replayed';

/** How long a key is remembered, from its first use (Stripe's window). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export const MAX_KEY_LENGTH = 255;
/** 1–255 visible ASCII characters (VCHAR): a UUID, or any opaque token of the client's making. */
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;

/** The header's schema, for the OpenAPI description (the value is checked by `parseIdempotencyKey`). */
export const IdempotencyKeyHeaderSchema = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_KEY_LENGTH,
  pattern: KEY_SHAPE.source,
  'x-message': 'must be 1 to 255 visible ASCII characters, such as a UUID',
  description:
    'A unique value (a UUID v4 is best) that makes this POST safe to retry: a retry with the same key and ' +
    'request within 24 h gets the first answer replayed, with `Idempotent-Replayed: true`, and changes nothing.',
} as const;

/**
 * Whether a route honours the header: every POST under `/v1/` that needs a credential. Not the public
 * routes (no principal to scope the key to), nor `/oauth/*` (oidc-provider's own protocol endpoints) or
 * `/auth/login`, which live outside `/v1/`.
 */
export function idempotentRoute(method: string | readonly string[], url: string, access?: RouteAccess) {
  const post = typeof method === 'string' ? method === 'POST' : method.includes('POST');
  return post && url.startsWith('/v1/') && access !== undefined && !('public' in access);
}

/**
 * The header value, or null when the request carries none. A malformed value is a 400 rather than being
 * ignored: a client that believes its POST is safe to retry must learn that it is not.
 */
export function parseIdempotencyKey(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  // Node joins repeated headers with ", ", which the shape refuses (a space is not VCHAR), as it should:
  // two keys on one request name no single key.
  if (typeof value !== 'string' || !KEY_SHAPE.test(value)) {
    throw invalidField(
      `header/${IDEMPOTENCY_HEADER}`,
      `must be 1–${MAX_KEY_LENGTH} visible ASCII characters (a UUID is best)`,
    );
  }
  return value;
}

/** The stored form of a key: SHA-256 (hex). The key itself is never stored. */
export function hashIdempotencyKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Whose key it is: the tenant and the principal of the credential that sent it. */
export interface IdempotencyOwner {
  orgId: string;
  mode: Mode;
  actorKind: string;
  actorId: string;
}

/**
 * Keys are scoped to the credential's principal, not just the org: a replayed `POST /v1/api-keys` holds
 * the new key's secret, so another credential of the same org sending the same key must never see it.
 * An OAuth token acts for a user through one app: its key belongs to that authorization, apart from the
 * user's own dashboard session and from other apps the user has authorized.
 */
export function idempotencyOwnerOf(auth: AuthContext): IdempotencyOwner {
  const tenant = { orgId: auth.orgId, mode: auth.mode };
  if (auth.clientId !== undefined) {
    return auth.credentialId !== undefined
      ? { ...tenant, actorKind: 'oauth_authorization', actorId: auth.credentialId }
      : { ...tenant, actorKind: 'oauth_client', actorId: `${auth.clientId}/${auth.principal.id}` };
  }
  return { ...tenant, actorKind: auth.principal.kind, actorId: auth.principal.id };
}
