/**
 * `/v1/api-keys` (DESIGN §4, §5.1): create (the key is in this response only), list, get, revoke, roll with a
 * grace period (optionally narrowing the scopes or setting a new expiry), and daily usage. Managing keys
 * needs `admin`, or a dashboard session: owners and admins manage every key of the org, members only the
 * keys they created, and nobody grants scopes they lack.
 */
import { generateApiKey, normalizeScopes, SCOPES, type Scope } from '@cohera/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, requestOf } from '../../audit/log.ts';
import { isoAt } from '../../clock.ts';
import { invalidField, notFound } from '../../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../../http/pagination.ts';
import { IdParams, requireIdShape, TimestampInput } from '../../resources/common.ts';
import type { ApiKeysTable } from '../../storage/schema.ts';
import { UsageDay, UsageQuery, usageDates, usageSeries } from '../../usage/daily.ts';
import { emitChange } from '../../webhooks/produce.ts';
import type { AuthContext, RouteAccess } from '../context.ts';
import {
  manageableModes,
  maxKeyLifetimeDays,
  modeToCreate,
  requestedExpiry,
  requireGrantable,
} from '../grants.ts';
import { asksForExpiry, inheritedExpiry } from './lifetime.ts';
import { presentApiKey } from './present.ts';
import {
  claimKeyForRoll,
  getApiKey,
  insertApiKey,
  type KeyManagementScope,
  listApiKeys,
  revokeApiKey,
  usageOf,
} from './repository.ts';
import { DEFAULT_GRACE_SECONDS, RollBody, rolledScopes, rollRefusal } from './roll.ts';

const ModeSchema = Type.Union([Type.Literal('live'), Type.Literal('test')]);
const ScopeSchema = Type.Union(SCOPES.map((s) => Type.Literal(s)));

export const ApiKey = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('api_key'),
    name: Type.String(),
    prefix: Type.String({ description: 'The start of the key, e.g. `ck_live_Ab12`' }),
    last4: Type.String(),
    scopes: Type.Array(Type.String()),
    mode: ModeSchema,
    status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
    created_at: Type.String({ format: 'date-time' }),
    expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revoked_reason: Type.Union([Type.Literal('requested'), Type.Literal('leaked'), Type.Null()], {
      description:
        'Why the key was revoked: `requested` (revoked by someone who manages it) or `leaked` (revoked ' +
        'by the server when a leak was reported); null while it is not revoked',
    }),
    leaked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description:
        'When a leak of this key was first reported (GitHub secret scanning, or /v1/credentials/revoke)',
    }),
    rate_limit_per_minute: Type.Union([Type.Integer(), Type.Null()]),
    rolled_from: Type.Union([Type.String(), Type.Null()], {
      description: 'The key this one was rolled from',
    }),
    replaced_by: Type.Union([Type.String(), Type.Null()], {
      description: 'The key this one was rolled into (a key is rolled at most once)',
    }),
    created_by: Type.Object({ kind: Type.String(), id: Type.String() }),
  },
  { $id: 'ApiKey' },
);
const ApiKeyWithSecret = Type.Intersect([
  ApiKey,
  Type.Object({
    key: Type.String({ description: 'The API key. Shown only in this response: store it now.' }),
  }),
]);

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: SCOPES.length, uniqueItems: true }),
    mode: Type.Optional(ModeSchema),
    expires_at: Type.Optional(TimestampInput),
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    rate_limit_per_minute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
const Usage = Type.Object({ data: Type.Array(UsageDay) });

/** Key routes: `admin`, or any dashboard session (members are narrowed to their own keys below). */
const ACCESS: RouteAccess = { scope: 'admin', sessionRoles: ['member'] };

/** The keys this caller may manage. */
function managementScope(auth: AuthContext): KeyManagementScope {
  const ownOnly = auth.via === 'session' && auth.role === 'member';
  return { orgId: auth.orgId, modes: manageableModes(auth), createdBy: ownOnly ? auth.principal : undefined };
}

export { statusOf } from './present.ts';

export const apiKeyRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function apiKeys(app) {
    const { db, clock, bus, usage, audit } = deps;
    const tags = ['API keys'];

    const present = (row: ApiKeysTable) =>
      presentApiKey(row, clock.now(), (id, stored) => usage.lastUseOf(id, stored));

    const maxLifetimeDays = (auth: AuthContext) => maxKeyLifetimeDays(db, auth.orgId);

    app.post(
      '/v1/api-keys',
      {
        config: { access: ACCESS, secretFields: ['key'] },
        schema: { tags, summary: 'Create an API key', body: CreateBody, response: { 201: ApiKeyWithSecret } },
      },
      async (request, reply) => {
        const auth = request.auth!;
        const body = request.body;
        const name = body.name.trim();
        if (!name) throw invalidField('body/name', 'must not be blank');
        const mode = modeToCreate(auth, body.mode, 'live keys');
        const scopes = normalizeScopes(body.scopes);
        requireGrantable(auth, scopes);
        const now = clock.now();
        const expiresAt = requestedExpiry(body, now, await maxLifetimeDays(auth));
        const key = generateApiKey(mode);
        const row = await db.transaction().execute(async (trx) => {
          const inserted = await insertApiKey(
            trx,
            { orgId: auth.orgId, mode },
            key,
            {
              name,
              scopes,
              expiresAt,
              rateLimitPerMinute: body.rate_limit_per_minute ?? null,
              createdBy: auth.principal,
            },
            now,
          );
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'api_key.created',
            target: { kind: 'api_key', id: inserted.id },
            metadata: { name, scopes, mode, expires_at: expiresAt, prefix: inserted.prefix },
            request: requestOf(request),
          });
          // The key object without `key`: an event never carries the secret.
          await emitChange(trx, { orgId: auth.orgId, mode }, 'api_key.created', present(inserted), now);
          return inserted;
        });
        deps.webhooks.wake();
        return reply.code(201).send({ ...present(row), key });
      },
    );

    app.get(
      '/v1/api-keys',
      {
        config: { access: ACCESS },
        schema: {
          tags,
          summary: 'List API keys, newest first',
          querystring: Type.Object(
            { ...PaginationQuery, mode: Type.Optional(ModeSchema) },
            { additionalProperties: false },
          ),
          response: { 200: ListEnvelope(ApiKey) },
        },
      },
      async (request) => {
        const { limit = 20, cursor, mode } = request.query;
        const rows = await listApiKeys(db, managementScope(request.auth!), {
          limit,
          after: decodeCursor(cursor, 'key'),
          mode,
        });
        return pageOf(rows, limit, present);
      },
    );

    app.get(
      '/v1/api-keys/:id',
      {
        config: { access: ACCESS },
        schema: { tags, summary: 'Get an API key', params: IdParams, response: { 200: ApiKey } },
      },
      async (request) => {
        requireIdShape('api_key', request.params.id, 'API key');
        const row = await getApiKey(db, managementScope(request.auth!), request.params.id);
        if (!row) throw notFound('API key');
        return present(row);
      },
    );

    app.post(
      '/v1/api-keys/:id/revoke',
      {
        config: { access: ACCESS },
        schema: { tags, summary: 'Revoke an API key at once', params: IdParams, response: { 200: ApiKey } },
      },
      async (request) => {
        requireIdShape('api_key', request.params.id, 'API key');
        const scope = managementScope(request.auth!);
        const current = await getApiKey(db, scope, request.params.id);
        if (!current) throw notFound('API key');
        requireGrantable(request.auth!, JSON.parse(current.scopes) as Scope[]);
        const auth = request.auth!;
        const now = clock.now();
        const row = await db.transaction().execute(async (trx) => {
          const revoked = await revokeApiKey(trx, scope, request.params.id, now);
          if (!revoked) throw notFound('API key');
          // A key is revoked once (a repeat keeps the first revoked_at): the key makes the event once too.
          await emitChange(
            trx,
            { orgId: revoked.org_id, mode: revoked.mode },
            'api_key.revoked',
            present(revoked),
            now,
            `api_key.revoked:${revoked.id}`,
          );
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'api_key.revoked',
            target: { kind: 'api_key', id: revoked.id },
            metadata: { name: revoked.name, prefix: revoked.prefix },
            request: requestOf(request),
          });
          return revoked;
        });
        deps.webhooks.wake();
        await bus.publish({ kind: 'api_key', keyHash: row.key_hash });
        return present(row);
      },
    );

    app.post(
      '/v1/api-keys/:id/roll',
      {
        config: { access: ACCESS, secretFields: ['key'] },
        // The body is optional (`POST …/roll` with none uses the default grace); a top-level Optional
        // schema does not make Ajv accept a missing body, so an absent body is validated as `{}`.
        preValidation: (request, _reply, done) => {
          request.body ??= {};
          done();
        },
        schema: {
          tags,
          summary:
            'Roll an API key: a new key, optionally narrower or with a new expiry; the old one ends after the grace period',
          params: IdParams,
          body: Type.Optional(RollBody),
          response: { 201: ApiKeyWithSecret },
        },
      },
      async (request, reply) => {
        requireIdShape('api_key', request.params.id, 'API key');
        const auth = request.auth!;
        const scope = managementScope(auth);
        const old = await getApiKey(db, scope, request.params.id);
        if (!old) throw notFound('API key');
        const held = JSON.parse(old.scopes) as Scope[];
        // Touching a key (ending it after the grace) needs its scopes, as revoking does: a member cannot
        // roll a key that holds more than their role, even into a narrower one.
        requireGrantable(auth, held);
        const now = clock.now();
        const body = request.body ?? {};
        const scopes = rolledScopes(held, body.scopes);
        const grace = body.grace_period_seconds ?? DEFAULT_GRACE_SECONDS;
        const maxDays = await maxLifetimeDays(auth);
        const expiresAt = asksForExpiry(body)
          ? requestedExpiry(body, now, maxDays)
          : inheritedExpiry(old, now, maxDays);
        // The request is valid; is the key still rollable? (A prompt answer; the claim below decides.)
        const refusal = rollRefusal(old, now);
        if (refusal) throw refusal;
        const tenant = { orgId: old.org_id, mode: old.mode };
        const key = generateApiKey(old.mode);
        const row = await db.transaction().execute(async (trx) => {
          const inserted = await insertApiKey(
            trx,
            tenant,
            key,
            {
              name: old.name,
              scopes,
              expiresAt,
              rateLimitPerMinute: old.rate_limit_per_minute,
              createdBy: auth.principal,
              rolledFromId: old.id,
            },
            now,
          );
          // The check above read the key before this transaction: a concurrent roll or revoke may have
          // committed since. The claim decides, and when it does not match, the row as committed says why
          // (throwing rolls the new key back).
          const claim = { successorId: inserted.id, endsAt: isoAt(now + grace * 1000) };
          if (!(await claimKeyForRoll(trx, scope, old.id, claim, now))) {
            const current = await getApiKey(trx, scope, old.id);
            throw (current && rollRefusal(current, now)) ?? notFound('API key');
          }
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'api_key.rolled',
            target: { kind: 'api_key', id: old.id },
            metadata: {
              new_key_id: inserted.id,
              grace_period_seconds: grace,
              prefix: inserted.prefix,
              // What the roll changed besides the key itself: narrowed scopes, or an expiry it was given.
              ...(body.scopes && inserted.scopes !== old.scopes ? { scopes } : {}),
              ...(asksForExpiry(body) ? { expires_at: expiresAt } : {}),
            },
            request: requestOf(request),
          });
          // `data` is the new key (its `rolled_from` names the old one), without `key`.
          await emitChange(trx, tenant, 'api_key.rolled', present(inserted), now);
          return inserted;
        });
        deps.webhooks.wake();
        await bus.publish({ kind: 'api_key', keyHash: old.key_hash });
        return reply.code(201).send({ ...present(row), key });
      },
    );

    app.get(
      '/v1/api-keys/:id/usage',
      {
        config: { access: ACCESS },
        schema: {
          tags,
          summary: 'Daily requests, errors and rate-limited requests of a key',
          params: IdParams,
          querystring: UsageQuery,
          response: { 200: Usage },
        },
      },
      async (request) => {
        requireIdShape('api_key', request.params.id, 'API key');
        const auth = request.auth!;
        const row = await getApiKey(db, managementScope(auth), request.params.id);
        if (!row) throw notFound('API key');
        const dates = usageDates(request.query.days ?? 30, clock.now());
        const stored = await usageOf(db, auth.orgId, row.id, dates[0] as string);
        return { data: usageSeries(dates, [...stored, ...usage.pending(row.id)]) };
      },
    );
  };
