/**
 * The delivery side of the webhook endpoints API (DESIGN §5.5): send a test event, read an endpoint's
 * delivery log, send one message again, and replay what failed since a moment. Same access and tenancy as
 * webhooks/routes.ts: scope `admin` (an owner or admin session holds it) and an endpoint of another org or
 * mode is a 404. Every write only queues work; the local worker is woken and any node may send it (202).
 */
import type { WebhookEventType } from '@cohera/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import type { AppDeps } from '../app-deps.ts';
import { type AuthContext, type RouteAccess, tenantOf } from '../auth/context.ts';
import { apiTime } from '../clock.ts';
import { notFound } from '../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../http/pagination.ts';
import { parseTimestamp, TimestampInput } from '../http/timestamps.ts';
import { IdParams, requireIdShape } from '../resources/common.ts';
import type { DB, WebhookDeliveriesTable } from '../storage/schema.ts';
import { requeueFailed, retryDelivery } from './delivery/requeue.ts';
import { emitEvent } from './outbox.ts';
import { getEndpoint } from './repository.ts';

const Delivery = Type.Object({
  id: Type.String({ description: 'The message id (`msg_…`), also the `webhook-id` header' }),
  event_type: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  last_attempt_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  next_attempt_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_response_status: Type.Union([Type.Integer(), Type.Null()]),
  last_response_body: Type.Union([Type.String({ description: 'The first 1 KB' }), Type.Null()]),
  last_duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
});

const MessageParams = Type.Object(
  { id: Type.String({ maxLength: 64 }), message_id: Type.String({ maxLength: 64 }) },
  { additionalProperties: false },
);
const RecoverBody = Type.Object(
  { since: { ...TimestampInput, description: 'Replay failed deliveries of messages created since then' } },
  { additionalProperties: false },
);
const Accepted = Type.Object({});

type DeliveryRow = WebhookDeliveriesTable & { event_type: string };

function presentDelivery(row: DeliveryRow) {
  return {
    id: row.message_id,
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    last_attempt_at: apiTime(row.last_attempt_at),
    // Only a pending delivery has a next attempt; a stale value would promise a send that will not happen.
    next_attempt_at: row.status === 'pending' ? apiTime(row.next_attempt_at) : null,
    last_response_status: row.last_response_status,
    last_response_body: row.last_response_body,
    last_duration_ms: row.last_duration_ms,
    last_error: row.last_error,
    created_at: apiTime(row.created_at),
  };
}

/** Newest message first, `limit + 1` rows (pageOf). Message ids are time-sortable. */
function listDeliveries(db: Kysely<DB>, endpointId: string, page: { limit: number; after: string | null }) {
  let query = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_messages as m', 'm.id', 'd.message_id')
    .selectAll('d')
    .select(['m.type as event_type', 'd.message_id as id'])
    .where('d.endpoint_id', '=', endpointId);
  if (page.after) query = query.where('d.message_id', '<', page.after);
  return query
    .orderBy('d.message_id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

export const webhookDeliveryRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function webhookDeliveries(app) {
    const { db, clock } = deps;
    const tags = ['Webhooks'];
    const access: RouteAccess = { scope: 'admin' };

    async function requireEndpoint(auth: AuthContext, id: string) {
      requireIdShape('webhook_endpoint', id, 'webhook endpoint');
      const endpoint = await getEndpoint(db, tenantOf(auth), id);
      if (!endpoint) throw notFound('webhook endpoint');
      return endpoint;
    }

    app.post(
      '/v1/webhook-endpoints/:id/test',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Send a `webhook.test` event to this endpoint only',
          params: IdParams,
          response: { 202: Type.Object({ message_id: Type.String() }) },
        },
      },
      async (request, reply) => {
        const auth = request.auth!;
        const endpoint = await requireEndpoint(auth, request.params.id);
        const now = clock.now();
        const type: WebhookEventType = 'webhook.test';
        const messageId = await db.transaction().execute((trx) =>
          emitEvent(trx, {
            orgId: auth.orgId,
            mode: auth.mode,
            type,
            data: {
              message: 'A test event from Cohera: this endpoint receives and verifies webhooks.',
              webhook_endpoint_id: endpoint.id,
            },
            at: now,
            endpointId: endpoint.id,
          }),
        );
        // Without a dedupe key the outbox always writes the message.
        if (messageId === null) throw new Error('the outbox wrote no test message');
        deps.webhooks.wake();
        return reply.code(202).send({ message_id: messageId });
      },
    );

    app.get(
      '/v1/webhook-endpoints/:id/deliveries',
      {
        config: { access },
        schema: {
          tags,
          summary: 'The delivery log of an endpoint, newest message first',
          params: IdParams,
          querystring: Type.Object(PaginationQuery, { additionalProperties: false }),
          response: { 200: ListEnvelope(Delivery) },
        },
      },
      async (request) => {
        const endpoint = await requireEndpoint(request.auth!, request.params.id);
        const { limit = 20, cursor } = request.query;
        const rows = await listDeliveries(db, endpoint.id, { limit, after: decodeCursor(cursor, 'msg') });
        return pageOf(rows, limit, presentDelivery);
      },
    );

    app.post(
      '/v1/webhook-endpoints/:id/deliveries/:message_id/retry',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Send one message to this endpoint again, now',
          params: MessageParams,
          response: { 202: Accepted },
        },
      },
      async (request, reply) => {
        const endpoint = await requireEndpoint(request.auth!, request.params.id);
        requireIdShape('webhook_message', request.params.message_id, 'delivery');
        const retried = await retryDelivery(db, {
          endpointId: endpoint.id,
          messageId: request.params.message_id,
          now: clock.now(),
        });
        if (!retried) throw notFound('delivery');
        deps.webhooks.wake();
        return reply.code(202).send({});
      },
    );

    app.post(
      '/v1/webhook-endpoints/:id/recover',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Replay the failed deliveries of messages created since a moment, oldest first',
          params: IdParams,
          body: RecoverBody,
          response: { 202: Type.Object({ requeued: Type.Integer() }) },
        },
      },
      async (request, reply) => {
        const endpoint = await requireEndpoint(request.auth!, request.params.id);
        const since = parseTimestamp('body/since', request.body.since);
        const requeued = await requeueFailed(db, { endpointId: endpoint.id, since, now: clock.now() });
        if (requeued > 0) deps.webhooks.wake();
        return reply.code(202).send({ requeued });
      },
    );
  };
