/**
 * The webhook outbox (DESIGN §5.5 "Durable"). A producer calls `emitEvent` inside the transaction of the
 * change it reports: the message and its deliveries are rows of that transaction, so a change that commits
 * always has its event and its deliveries, and one that rolls back has neither. Delivery workers on every
 * node pick the `pending` rows up later (and at once after `deps.webhooks.wake()`).
 */
import { type Mode, newId, type WebhookEventType } from '@cohera/shared';
import { sql, type Transaction } from 'kysely';
import { apiTime, isoAt } from '../clock.ts';
import type { DB } from '../storage/schema.ts';

export interface EmitInput {
  orgId: string;
  mode: Mode;
  type: WebhookEventType;
  /** The object exactly as the API shows it (the route's own serializer); never a secret. */
  data: unknown;
  /** When the change happened (ms): the message's timestamp and its deliveries' first due time. */
  at: number;
  /** Makes the event idempotent: a second emit with the same (org, key) writes nothing and returns null. */
  dedupeKey?: string;
  /** Deliver to this endpoint only, whatever it subscribes to (webhook.test). */
  endpointId?: string;
}

/** The exact body sent: minified JSON in Standard Webhooks' member order. */
export function messageBody(id: string, type: WebhookEventType, at: number, data: unknown): string {
  return JSON.stringify({ id, type, timestamp: apiTime(isoAt(at)), data });
}

/**
 * A LIKE pattern matching `"type"` inside an endpoint's `events` JSON array. The array is written by the
 * endpoints API from catalogue names only (letters, digits, `_`, `.`), so a quoted name is found exactly;
 * `_` is a LIKE wildcard and is escaped so `api_key.created` cannot match `apiXkey.created`.
 */
function subscribedPattern(type: string): string {
  return `%"${type.replace(/[\\%_]/g, (c) => `\\${c}`)}"%`;
}

/**
 * Writes one event to the outbox in `trx`, with one `pending` delivery per enabled endpoint of that org and
 * mode that subscribes to the type (or to `*`); with `endpointId`, to that endpoint of the org and mode only.
 * Returns the message id, or null when `dedupeKey` was already used by the org (nothing written).
 *
 * @example
 * await db.transaction().execute(async (trx) => {
 *   const row = await insertSupplier(trx, …);
 *   await emitEvent(trx, { orgId, mode, type: 'supplier.created', data: presentSupplier(row), at: now });
 * });
 * deps.webhooks.wake();
 */
export async function emitEvent(trx: Transaction<DB>, input: EmitInput): Promise<string | null> {
  const id = newId('webhook_message', input.at);
  const createdAt = isoAt(input.at);
  const inserted = await trx
    .insertInto('webhook_messages')
    .values({
      id,
      org_id: input.orgId,
      mode: input.mode,
      type: input.type,
      body: messageBody(id, input.type, input.at, input.data),
      created_at: createdAt,
      dedupe_key: input.dedupeKey ?? null,
    })
    // Two nodes scanning for the same expiry, or two transactions at once: the unique key lets one write
    // and the other (on PostgreSQL, after waiting for the first to commit) write nothing.
    .onConflict((oc) => oc.columns(['org_id', 'dedupe_key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted === undefined) return null;

  // One INSERT … SELECT: the endpoints are read and the deliveries written by one statement, so an endpoint
  // deleted meanwhile is simply not in it. Casts give PostgreSQL the parameters' types in a select list.
  let endpoints = trx
    .selectFrom('webhook_endpoints')
    .select([
      'id as endpoint_id',
      sql<string>`cast(${id} as text)`.as('message_id'),
      'org_id',
      sql<string>`cast('pending' as text)`.as('status'),
      sql<number>`cast(0 as integer)`.as('attempts'),
      sql<string>`cast(${createdAt} as text)`.as('next_attempt_at'),
      sql<string>`cast(${createdAt} as text)`.as('created_at'),
    ])
    .where('org_id', '=', input.orgId)
    .where('mode', '=', input.mode);
  if (input.endpointId !== undefined) {
    endpoints = endpoints.where('id', '=', input.endpointId);
  } else {
    endpoints = endpoints
      .where('status', '=', 'enabled')
      .where((eb) =>
        eb.or([
          eb('events', '=', '["*"]'),
          eb(sql`events`, 'like', sql`${subscribedPattern(input.type)} escape '\\'`),
        ]),
      );
  }
  await trx
    .insertInto('webhook_deliveries')
    .columns(['endpoint_id', 'message_id', 'org_id', 'status', 'attempts', 'next_attempt_at', 'created_at'])
    .expression(endpoints)
    .execute();
  return id;
}
