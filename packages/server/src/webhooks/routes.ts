/**
 * The webhook endpoints API and the events list (DESIGN §5.5): register a URL for some event types (or `*`)
 * of the caller's mode, read, change, disable or delete it, rotate its signing secret with a grace period,
 * and list the organization's events of the last 30 days. The secret is in the creation and rotation
 * answers only (shown once, never replayed: idempotency/shown-once.ts); the database holds it sealed.
 * Deliveries (test, log, retry, recover) are webhooks/delivery-routes.ts.
 */
import { WEBHOOK_EVENT_TYPES } from '@cohera/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import type { AppDeps } from '../app-deps.ts';
import { actorOf, requestOf } from '../audit/log.ts';
import { type AuthContext, type RouteAccess, tenantOf } from '../auth/context.ts';
import { apiTime } from '../clock.ts';
import { ApiError, invalidField, notFound } from '../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../http/pagination.ts';
import { IdParams, requireIdShape } from '../resources/common.ts';
import type { DB, WebhookMessagesTable } from '../storage/schema.ts';
import { requeueFailed } from './delivery/requeue.ts';
import { checkWebhookUrl } from './delivery/ssrf.ts';
import { presentEndpoint } from './present.ts';
import {
  deleteEndpoint,
  type EndpointChanges,
  getEndpoint,
  insertEndpoint,
  listEndpoints,
  listEvents,
  rotateEndpointSecret,
  updateEndpoint,
} from './repository.ts';
import { webhookSecretBox } from './secrets.ts';

/** How long a replaced secret keeps signing by default: a day, as for an OAuth client secret. */
export const DEFAULT_SECRET_GRACE_SECONDS = 86_400;
export const MAX_SECRET_GRACE_SECONDS = 7 * 86_400;
/** Subscriptions per endpoint: the catalogue's size, with room to grow. */
const MAX_EVENTS = 64;

const ModeSchema = Type.Union([Type.Literal('live'), Type.Literal('test')]);
const EventTypeSchema = Type.Union(
  Object.keys(WEBHOOK_EVENT_TYPES).map((type) => Type.Literal(type)),
  { description: 'An event type of the catalogue' },
);
const SubscriptionSchema = Type.Union([...EventTypeSchema.anyOf, Type.Literal('*')]);
const EventsSchema = Type.Array(SubscriptionSchema, {
  minItems: 1,
  maxItems: MAX_EVENTS,
  uniqueItems: true,
  description: 'Event types to receive, or `["*"]` for all',
});
const UrlSchema = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: '`https://` (`http://` and private addresses only with COHERA_WEBHOOKS_ALLOW_PRIVATE=true)',
});
const DescriptionSchema = Type.String({ maxLength: 500 });

const WebhookEndpoint = Type.Object({
  id: Type.String(),
  object: Type.Literal('webhook_endpoint'),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Type.String(),
  mode: ModeSchema,
  status: Type.Union([Type.Literal('enabled'), Type.Literal('disabled')]),
  disabled_reason: Type.Union([
    Type.Literal('manual'),
    Type.Literal('gone'),
    Type.Literal('failing'),
    Type.Null(),
  ]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

const SecretSchema = Type.String({
  description: 'The signing secret (`whsec_…`), shown only in this response: store it now.',
});
const WebhookEndpointWithSecret = Type.Object({ ...WebhookEndpoint.properties, secret: SecretSchema });

const CreateBody = Type.Object(
  { url: UrlSchema, events: EventsSchema, description: Type.Optional(DescriptionSchema) },
  { additionalProperties: false },
);

const UpdateBody = Type.Object(
  {
    url: Type.Optional(UrlSchema),
    events: Type.Optional(EventsSchema),
    description: Type.Optional(DescriptionSchema),
    status: Type.Optional(
      Type.Union([Type.Literal('enabled'), Type.Literal('disabled')], {
        description: '`enabled` on a disabled endpoint also replays its failed deliveries, oldest first',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

const RotateBody = Type.Object(
  {
    grace_period_seconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_SECRET_GRACE_SECONDS,
        description: 'How long the old secret also signs (default 86400; 0 ends it at once)',
      }),
    ),
  },
  { additionalProperties: false },
);

const CoheraEvent = Type.Object({
  id: Type.String(),
  object: Type.Literal('event'),
  type: Type.String(),
  mode: ModeSchema,
  data: Type.Unknown({ description: 'The object as the API shows it' }),
  created_at: Type.String({ format: 'date-time' }),
});

const EventsQuery = Type.Object(
  { type: Type.Optional(EventTypeSchema), ...PaginationQuery },
  { additionalProperties: false },
);

function presentEvent(row: WebhookMessagesTable) {
  const body = JSON.parse(row.body) as { data: unknown };
  return {
    id: row.id,
    object: 'event' as const,
    type: row.type,
    mode: row.mode,
    data: body.data,
    created_at: apiTime(row.created_at),
  };
}

/** The same rule at creation and on every URL change (the connect-time guard is the delivery's). */
function requireWebhookUrl(url: string, allowPrivate: boolean): string {
  const problem = checkWebhookUrl(url, allowPrivate);
  if (problem !== null) throw invalidField('body/url', problem);
  return url;
}

export const webhookEndpointRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function webhookEndpoints(app) {
    const { db, clock, audit, config } = deps;
    const box = webhookSecretBox(config.masterKey);
    const tags = ['Webhooks'];
    // Owner and admin sessions hold `admin`; a member's session does not (endpoints see every event).
    const access: RouteAccess = { scope: 'admin' };

    async function requireEndpoint(database: Kysely<DB>, auth: AuthContext, id: string) {
      requireIdShape('webhook_endpoint', id, 'webhook endpoint');
      const endpoint = await getEndpoint(database, tenantOf(auth), id);
      if (!endpoint) throw notFound('webhook endpoint');
      return endpoint;
    }

    app.post(
      '/v1/webhook-endpoints',
      {
        config: { access, secretFields: ['secret'] },
        schema: {
          tags,
          summary: 'Create a webhook endpoint (returns its signing secret once)',
          body: CreateBody,
          response: { 201: WebhookEndpointWithSecret },
        },
      },
      async (request, reply) => {
        const auth = request.auth!;
        const url = requireWebhookUrl(request.body.url, config.webhooksAllowPrivate);
        const { row, secret } = await db.transaction().execute(async (trx) => {
          const created = await insertEndpoint(
            trx,
            tenantOf(auth),
            box,
            { url, events: request.body.events, description: request.body.description ?? '' },
            clock.now(),
          );
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'webhook_endpoint.created',
            target: { kind: 'webhook_endpoint', id: created.row.id },
            metadata: { url, events: JSON.parse(created.row.events), mode: auth.mode },
            request: requestOf(request),
          });
          return created;
        });
        return reply.code(201).send({ ...presentEndpoint(row), secret });
      },
    );

    app.get(
      '/v1/webhook-endpoints',
      {
        config: { access },
        schema: {
          tags,
          summary: 'List webhook endpoints of this mode, newest first',
          querystring: Type.Object(PaginationQuery, { additionalProperties: false }),
          response: { 200: ListEnvelope(WebhookEndpoint) },
        },
      },
      async (request) => {
        const { limit = 20, cursor } = request.query;
        const rows = await listEndpoints(db, tenantOf(request.auth!), {
          limit,
          after: decodeCursor(cursor, 'whe'),
        });
        return pageOf(rows, limit, presentEndpoint);
      },
    );

    app.get(
      '/v1/webhook-endpoints/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Get a webhook endpoint',
          params: IdParams,
          response: { 200: WebhookEndpoint },
        },
      },
      async (request) => presentEndpoint(await requireEndpoint(db, request.auth!, request.params.id)),
    );

    app.patch(
      '/v1/webhook-endpoints/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Change a webhook endpoint; enabling a disabled one replays its failed deliveries',
          params: IdParams,
          body: UpdateBody,
          response: { 200: WebhookEndpoint },
        },
      },
      async (request) => {
        const auth = request.auth!;
        const body = request.body;
        const changes: EndpointChanges = {};
        if (body.url !== undefined) changes.url = requireWebhookUrl(body.url, config.webhooksAllowPrivate);
        if (body.events !== undefined) changes.events = body.events;
        if (body.description !== undefined) changes.description = body.description;
        if (body.status !== undefined) changes.status = body.status;
        const now = clock.now();
        const row = await db.transaction().execute(async (trx) => {
          const before = await requireEndpoint(trx, auth, request.params.id);
          const updated = await updateEndpoint(trx, tenantOf(auth), before.id, changes, now);
          if (!updated) throw notFound('webhook endpoint');
          // Re-enabling replays what failed while the endpoint was down (DESIGN §5.5), in the same
          // transaction: the endpoint is never enabled with its backlog forgotten.
          const requeued =
            before.status === 'disabled' && updated.status === 'enabled'
              ? await requeueFailed(trx, { endpointId: updated.id, now })
              : null;
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'webhook_endpoint.updated',
            target: { kind: 'webhook_endpoint', id: updated.id },
            metadata: { changes: body, ...(requeued === null ? {} : { requeued }) },
            request: requestOf(request),
          });
          return updated;
        });
        if (body.status === 'enabled') deps.webhooks.wake();
        return presentEndpoint(row);
      },
    );

    app.delete(
      '/v1/webhook-endpoints/:id',
      {
        config: { access },
        schema: { tags, summary: 'Delete a webhook endpoint and its pending deliveries', params: IdParams },
      },
      async (request, reply) => {
        const auth = request.auth!;
        requireIdShape('webhook_endpoint', request.params.id, 'webhook endpoint');
        await db.transaction().execute(async (trx) => {
          const endpoint = await requireEndpoint(trx, auth, request.params.id);
          if (!(await deleteEndpoint(trx, tenantOf(auth), endpoint.id))) throw notFound('webhook endpoint');
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'webhook_endpoint.deleted',
            target: { kind: 'webhook_endpoint', id: endpoint.id },
            metadata: { url: endpoint.url },
            request: requestOf(request),
          });
        });
        return reply.code(204).send();
      },
    );

    app.post(
      '/v1/webhook-endpoints/:id/rotate-secret',
      {
        config: { access, secretFields: ['secret'] },
        // An empty POST (no body, no content type) rotates with the default grace period.
        preValidation: (request, _reply, done) => {
          request.body ??= {};
          done();
        },
        schema: {
          tags,
          summary: 'Replace the signing secret; the old one also signs for the grace period',
          params: IdParams,
          body: RotateBody,
          response: { 200: Type.Object({ secret: SecretSchema }) },
        },
      },
      async (request) => {
        const auth = request.auth!;
        const endpoint = await requireEndpoint(db, auth, request.params.id);
        const grace = request.body.grace_period_seconds ?? DEFAULT_SECRET_GRACE_SECONDS;
        const secret = await db.transaction().execute(async (trx) => {
          const done = await rotateEndpointSecret(trx, tenantOf(auth), box, endpoint, grace, clock.now());
          if (!done) throw new ApiError('conflict', 'The secret was rotated at the same time; try again');
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'webhook_endpoint.secret_rotated',
            target: { kind: 'webhook_endpoint', id: endpoint.id },
            metadata: { grace_period_seconds: grace },
            request: requestOf(request),
          });
          return done.secret;
        });
        return { secret };
      },
    );

    app.get(
      '/v1/events',
      {
        config: { access },
        schema: {
          tags,
          summary: 'List the events of the last 30 days in this mode, newest first',
          querystring: EventsQuery,
          response: { 200: ListEnvelope(CoheraEvent) },
        },
      },
      async (request) => {
        const { limit = 20, cursor, type } = request.query;
        const rows = await listEvents(
          db,
          tenantOf(request.auth!),
          { ...(type === undefined ? {} : { type }), limit, after: decodeCursor(cursor, 'msg') },
          clock.now(),
        );
        return pageOf(rows, limit, presentEvent);
      },
    );
  };
