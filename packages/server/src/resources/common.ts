/** Pieces every supply-chain resource shares: id params, tenant filters, timestamp inputs, object shape. */
import { type IdKind, idPattern, isId } from '@cohera/shared';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Tenant } from '../auth/context.ts';
import { invalidField, notFound } from '../http/errors.ts';
import type { ResourceReadCache } from './read-cache.ts';

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

/** A path id that is not even shaped like one of ours cannot exist: 404, no query. */
export function requireIdShape(kind: IdKind, id: string, what: string): void {
  if (!isId(kind, id)) throw notFound(what);
}

export function IdString(kind: IdKind, description?: string) {
  return Type.String({ pattern: idPattern(kind), ...(description ? { description } : {}) });
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** A date-time, or a plain date where a day is meant (DESIGN §4). */
export const TimestampInput = Type.String({
  maxLength: 40,
  pattern: TIMESTAMP.source,
  description: 'ISO 8601 date-time (`2027-01-31T00:00:00Z`) or date (`2027-01-31`)',
});

/**
 * Parses a timestamp input into the stored form. A plain date means the start of that day in UTC, or its
 * last second when `dateMeans` is `end-of-day` (a certificate "valid until 2027-01-31" covers that day).
 */
export function parseTimestamp(
  field: string,
  value: string,
  dateMeans: 'start-of-day' | 'end-of-day' = 'start-of-day',
) {
  const match = TIMESTAMP.exec(value);
  if (!match) throw invalidField(field, 'must be an ISO 8601 date-time or date');
  const [, year, month, day, hour] = match;
  const dateOnly = hour === undefined;
  const iso = dateOnly ? `${value}T${dateMeans === 'end-of-day' ? '23:59:59' : '00:00:00'}Z` : value;
  const ms = Date.parse(iso);
  const date = new Date(ms);
  // Date.parse rolls 2027-02-31 over to March; a calendar date that does not exist is an error.
  if (
    Number.isNaN(ms) ||
    (dateOnly &&
      (date.getUTCFullYear() !== Number(year) ||
        date.getUTCMonth() + 1 !== Number(month) ||
        date.getUTCDate() !== Number(day)))
  ) {
    throw invalidField(field, 'is not a valid date');
  }
  if (date.getUTCFullYear() < 1900 || date.getUTCFullYear() > 9999)
    throw invalidField(field, 'is out of range');
  return date.toISOString();
}

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
