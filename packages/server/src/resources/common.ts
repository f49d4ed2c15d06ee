/** Pieces every supply-chain resource shares: id params, tenant filters, timestamp inputs, object shape. */
import { ID_PREFIXES, type IdKind, idPattern, isId } from '@cohera/shared';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Tenant } from '../auth/context.ts';
import { notFound } from '../http/errors.ts';
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

/**
 * Serves `GET /v1/<resource>/:id` through the read cache: a hit sends the stored JSON as is; a miss loads,
 * serializes once, caches, and sends the same bytes, so hit and miss answers are identical.
 */
export function sendCachedRead(
  cache: ResourceReadCache,
  tenant: Tenant,
  id: string,
  now: number,
  reply: FastifyReply,
  load: () => Promise<{ object: object; validUntil?: number } | null>,
  what: string,
): Promise<void> | undefined {
  const cached = cache.get(tenant, id, now);
  if (cached !== undefined) {
    // A hit answers synchronously: no promise, no microtask on the hottest read.
    reply.type(JSON_TYPE).send(cached);
    return undefined;
  }
  const generation = cache.generation;
  return load().then((loaded) => {
    if (!loaded) throw notFound(what);
    const body = JSON.stringify(loaded.object);
    cache.set(tenant, id, body, now, loaded.validUntil, generation);
    reply.type(JSON_TYPE).send(body);
  });
}
