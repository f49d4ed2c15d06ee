/** Pieces every supply-chain resource shares: id params, tenant filters, timestamp inputs, object shape. */
import { ID_PREFIXES, type IdKind, idPattern, isId } from '@cohera/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { type Tenant, tenantOf } from '../auth/context.ts';
import { notFound } from '../http/errors.ts';
import { sendJsonDirect } from '../http/response-head.ts';
import type { ResourceReadCache } from './read-cache.ts';

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

/** A path id that is not even shaped like one of ours cannot exist: 404, no query. */
export function requireIdShape(kind: IdKind, id: string, what: string): void {
  if (!isId(kind, id)) throw notFound(what);
}

/** A well-formed id of `kind` for messages and examples: the prefix and 22 base62 characters. */
function exampleId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_0352YvWfVc1aapFaQwklX5`;
}

export function IdString(kind: IdKind, description?: string) {
  return Type.String({
    pattern: idPattern(kind),
    ...(description ? { description } : {}),
    // The rule in words for a validation message (http/validation-messages.ts), never the pattern.
    'x-message': `must be ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind.replace(/_/g, ' ')} id such as "${exampleId(kind)}"`,
  });
}

// Timestamp inputs live with the other input rules in http/; re-exported for the resource routes.
export { parseTimestamp, TimestampInput } from '../http/timestamps.ts';

export const ObjectTimestamps = {
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
};

const JSON_TYPE = 'application/json; charset=utf-8';

/** What a cached read loads on a miss: the object as the API shows it, and when it stops being true. */
export type ReadLoader = (
  tenant: Tenant,
  id: string,
) => Promise<{ object: object; validUntil?: number } | null>;

/**
 * Serves `GET /v1/<resource>/:id` through the read cache for the authenticated request's tenant: a hit sends
 * the stored JSON as is, written directly (http/response-head.ts); a miss loads, serializes once, caches, and
 * sends the same bytes through Fastify, so hit and miss answers are identical (a test holds them so).
 * `load` is made once per route, not per request.
 */
export function sendCachedRead(
  cache: ResourceReadCache,
  request: FastifyRequest,
  reply: FastifyReply,
  id: string,
  load: ReadLoader,
  what: string,
): Promise<void> | undefined {
  const auth = request.auth;
  if (auth === null) throw new Error('sendCachedRead: the route must require a credential');
  // The pipeline's clock reading; the context carries the tenant (its org and mode).
  const now = request.receivedAt;
  const cached = cache.get(auth, id, now);
  if (cached !== undefined) {
    // A hit answers synchronously: no promise, no microtask on the hottest read.
    sendJsonDirect(request, reply, cached.json, cached.length);
    return undefined;
  }
  const generation = cache.generation;
  return load(tenantOf(auth), id).then((loaded) => {
    if (!loaded) throw notFound(what);
    const json = JSON.stringify(loaded.object);
    cache.set(auth, id, json, now, loaded.validUntil, generation);
    reply.type(JSON_TYPE).send(json);
  });
}
