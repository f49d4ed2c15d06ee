/**
 * `/v1/service-accounts` (DESIGN §4): accounts with a scope ceiling, and their keys. A generated key's
 * private half is returned once, inside `service-account.json`, and never stored; an uploaded key is public
 * only. A key's lifetime follows the rules of API keys (`expires_at` / `expires_in_days`, capped by the
 * org's `max_key_lifetime_days`). Deleting a key or an account takes effect on every node within a second
 * (invalidation bus).
 */
import { normalizeScopes, SCOPES } from '@cohera/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, requestOf } from '../../audit/log.ts';
import { apiTime } from '../../clock.ts';
import { ApiError, invalidField, notFound } from '../../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../../http/pagination.ts';
import { IdParams, requireIdShape, TimestampInput } from '../../resources/common.ts';
import type { ServiceAccountKeysTable, ServiceAccountsTable } from '../../storage/schema.ts';
import { emitChange } from '../../webhooks/produce.ts';
import type { AuthContext } from '../context.ts';
import {
  manageableModes,
  maxKeyLifetimeDays,
  modeToCreate,
  requestedExpiry,
  requireGrantable,
} from '../grants.ts';
import { type GeneratedKeyPair, generateServiceAccountKeyPair, validatePublicKey } from './key-material.ts';
import {
  type AccountScope,
  deleteServiceAccount,
  deleteServiceAccountKey,
  getServiceAccount,
  insertServiceAccount,
  insertServiceAccountKeyWithinLimit,
  listServiceAccountKeys,
  listServiceAccounts,
  MAX_ACTIVE_KEYS,
} from './repository.ts';

const ModeSchema = Type.Union([Type.Literal('live'), Type.Literal('test')]);
const ScopeSchema = Type.Union(SCOPES.map((s) => Type.Literal(s)));
const AlgorithmSchema = Type.Union([Type.Literal('ES256'), Type.Literal('RS256'), Type.Literal('EdDSA')]);

const ServiceAccount = Type.Object({
  id: Type.String(),
  object: Type.Literal('service_account'),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  mode: ModeSchema,
  created_at: Type.String({ format: 'date-time' }),
  created_by: Type.Object({ kind: Type.String(), id: Type.String() }),
});

const ServiceAccountKey = Type.Object({
  id: Type.String({ description: 'The JWT `kid`' }),
  object: Type.Literal('service_account_key'),
  service_account_id: Type.String(),
  algorithm: AlgorithmSchema,
  origin: Type.Union([Type.Literal('generated'), Type.Literal('uploaded')]),
  public_key: Type.String({ description: 'SPKI PEM' }),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const ServiceAccountFile = Type.Object({
  type: Type.Literal('service_account'),
  service_account_id: Type.String(),
  org_id: Type.String(),
  private_key_id: Type.String(),
  private_key: Type.String({ description: 'PKCS#8 PEM. Shown only in this response: store it now.' }),
  algorithm: Type.Literal('ES256'),
  issuer: Type.String(),
  audience: Type.String(),
  api_base_url: Type.String(),
});

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: SCOPES.length, uniqueItems: true }),
    mode: Type.Optional(ModeSchema),
  },
  { additionalProperties: false },
);

const KeyBody = Type.Object(
  {
    public_key: Type.Optional(Type.String({ minLength: 1, maxLength: 16_384 })),
    algorithm: Type.Optional(AlgorithmSchema),
    expires_at: Type.Optional(TimestampInput),
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);

const KeyParams = Type.Object(
  { id: Type.String({ maxLength: 64 }), key_id: Type.String({ maxLength: 64 }) },
  { additionalProperties: false },
);

function accountScope(auth: AuthContext): AccountScope {
  return { orgId: auth.orgId, modes: manageableModes(auth) };
}

function presentAccount(row: ServiceAccountsTable) {
  return {
    id: row.id,
    object: 'service_account' as const,
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    mode: row.mode,
    created_at: apiTime(row.created_at),
    created_by: { kind: row.created_by_kind, id: row.created_by_id },
  };
}

export const serviceAccountRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function serviceAccounts(app) {
    const { db, clock, bus, config, usage, audit } = deps;
    const tags = ['Service accounts'];
    const access = { scope: 'admin' as const };

    const presentKey = (row: ServiceAccountKeysTable) => ({
      id: row.id,
      object: 'service_account_key' as const,
      service_account_id: row.service_account_id,
      algorithm: row.algorithm,
      origin: row.origin,
      public_key: row.public_key,
      created_at: apiTime(row.created_at),
      expires_at: apiTime(row.expires_at),
      last_used_at: apiTime(usage.lastUseOf(row.id, row.last_used_at)),
    });

    async function requireAccount(auth: AuthContext, id: string) {
      requireIdShape('service_account', id, 'service account');
      const account = await getServiceAccount(db, accountScope(auth), id);
      if (!account) throw notFound('service account');
      return account;
    }

    app.post(
      '/v1/service-accounts',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Create a service account',
          body: CreateBody,
          response: { 201: ServiceAccount },
        },
      },
      async (request, reply) => {
        const auth = request.auth!;
        const name = request.body.name.trim();
        if (!name) throw invalidField('body/name', 'must not be blank');
        const mode = modeToCreate(auth, request.body.mode, 'live service accounts');
        const scopes = normalizeScopes(request.body.scopes);
        requireGrantable(auth, scopes);
        const row = await db.transaction().execute(async (trx) => {
          const inserted = await insertServiceAccount(
            trx,
            { orgId: auth.orgId, mode, name, scopes, createdBy: auth.principal },
            clock.now(),
          );
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'service_account.created',
            target: { kind: 'service_account', id: inserted.id },
            metadata: { name, scopes, mode },
            request: requestOf(request),
          });
          await emitChange(
            trx,
            { orgId: auth.orgId, mode },
            'service_account.created',
            presentAccount(inserted),
            Date.parse(inserted.created_at),
          );
          return inserted;
        });
        deps.webhooks.wake();
        return reply.code(201).send(presentAccount(row));
      },
    );

    app.get(
      '/v1/service-accounts',
      {
        config: { access },
        schema: {
          tags,
          summary: 'List service accounts, newest first',
          querystring: Type.Object(PaginationQuery, { additionalProperties: false }),
          response: { 200: ListEnvelope(ServiceAccount) },
        },
      },
      async (request) => {
        const { limit = 20, cursor } = request.query;
        const rows = await listServiceAccounts(db, accountScope(request.auth!), {
          limit,
          after: decodeCursor(cursor, 'sa'),
        });
        return pageOf(rows, limit, presentAccount);
      },
    );

    app.get(
      '/v1/service-accounts/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Get a service account',
          params: IdParams,
          response: { 200: ServiceAccount },
        },
      },
      async (request) => presentAccount(await requireAccount(request.auth!, request.params.id)),
    );

    app.delete(
      '/v1/service-accounts/:id',
      {
        config: { access },
        schema: { tags, summary: 'Delete a service account and disable all its keys', params: IdParams },
      },
      async (request, reply) => {
        requireIdShape('service_account', request.params.id, 'service account');
        const auth = request.auth!;
        const now = clock.now();
        await db.transaction().execute(async (trx) => {
          // `data` of service_account.deleted is the account as it was just before the delete.
          const before = await getServiceAccount(trx, accountScope(auth), request.params.id);
          const disabled = await deleteServiceAccount(trx, accountScope(auth), request.params.id, now);
          if (disabled === null || !before) throw notFound('service account');
          await emitChange(
            trx,
            { orgId: before.org_id, mode: before.mode },
            'service_account.deleted',
            presentAccount(before),
            now,
          );
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'service_account.deleted',
            target: { kind: 'service_account', id: request.params.id },
            metadata: { keys_disabled: disabled },
            request: requestOf(request),
          });
        });
        deps.webhooks.wake();
        await bus.publish({ kind: 'credential', credentialId: request.params.id });
        return reply.code(204).send();
      },
    );

    app.post(
      '/v1/service-accounts/:id/keys',
      {
        config: { access, secretFields: ['private_key'] },
        // An empty POST (no body, no content type) asks for a generated key pair.
        preValidation: (request, _reply, done) => {
          request.body ??= {};
          done();
        },
        schema: {
          tags,
          summary: 'Generate a key pair (returns service-account.json once) or register your public key',
          params: IdParams,
          body: KeyBody,
          response: { 201: Type.Union([ServiceAccountFile, ServiceAccountKey]) },
        },
      },
      async (request, reply) => {
        const auth = request.auth!;
        const account = await requireAccount(auth, request.params.id);
        const body = request.body;
        const now = clock.now();
        // The org's maximum key lifetime binds these keys as it binds API keys (one rule, grants.ts): under
        // it a key must ask for an expiry within the cap; without it, no expiry means the key never expires
        // (the security report's service_account_keys_without_expiry check then lists it).
        const expiresAt = requestedExpiry(body, now, await maxKeyLifetimeDays(db, account.org_id));
        if (body.algorithm !== undefined && body.public_key === undefined) {
          throw invalidField('body/algorithm', 'applies only with public_key (generated keys are ES256)');
        }
        // Validate (or generate) the key material first, then count and insert under one lock.
        const uploaded =
          body.public_key === undefined ? null : validatePublicKey(body.public_key, body.algorithm);
        const pair = uploaded ? null : generateServiceAccountKeyPair();
        const material = uploaded ?? (pair as GeneratedKeyPair);
        const row = await db.transaction().execute(async (trx) => {
          const inserted = await insertServiceAccountKeyWithinLimit(
            trx,
            {
              orgId: account.org_id,
              accountId: account.id,
              algorithm: material.algorithm,
              publicKeyPem: material.publicKeyPem,
              origin: uploaded ? 'uploaded' : 'generated',
              expiresAt,
            },
            now,
          );
          // Deleted since it was read above: a deleted account never gets a key made after its deletion.
          if (inserted === 'account_deleted') throw notFound('service account');
          if (inserted === 'limit_reached') {
            throw new ApiError(
              'conflict',
              `A service account has at most ${MAX_ACTIVE_KEYS} active keys; delete one first`,
            );
          }
          await audit.record(trx, {
            orgId: account.org_id,
            actor: actorOf(auth),
            action: 'service_account.key_added',
            target: { kind: 'service_account_key', id: inserted.id },
            metadata: {
              service_account_id: account.id,
              algorithm: inserted.algorithm,
              origin: inserted.origin,
              expires_at: inserted.expires_at,
            },
            request: requestOf(request),
          });
          // The public key object only: a generated private key is in this response and nowhere else.
          await emitChange(
            trx,
            { orgId: account.org_id, mode: account.mode },
            'service_account.key_created',
            presentKey(inserted),
            now,
          );
          return inserted;
        });
        deps.webhooks.wake();
        if (!pair) return reply.code(201).send(presentKey(row));
        return reply.code(201).send({
          type: 'service_account' as const,
          service_account_id: account.id,
          org_id: account.org_id,
          private_key_id: row.id,
          private_key: pair.privateKeyPem,
          algorithm: 'ES256' as const,
          issuer: config.issuer,
          audience: config.audience,
          api_base_url: config.publicUrl,
        });
      },
    );

    app.get(
      '/v1/service-accounts/:id/keys',
      {
        config: { access },
        schema: {
          tags,
          summary: 'List a service account’s keys (public material only)',
          params: IdParams,
          response: { 200: Type.Object({ data: Type.Array(ServiceAccountKey), next_cursor: Type.Null() }) },
        },
      },
      async (request) => {
        const account = await requireAccount(request.auth!, request.params.id);
        const rows = await listServiceAccountKeys(db, account.org_id, account.id);
        return { data: rows.map(presentKey), next_cursor: null };
      },
    );

    app.delete(
      '/v1/service-accounts/:id/keys/:key_id',
      {
        config: { access },
        schema: { tags, summary: 'Delete a key: tokens it signed stop working at once', params: KeyParams },
      },
      async (request, reply) => {
        const auth = request.auth!;
        const account = await requireAccount(auth, request.params.id);
        requireIdShape('service_account_key', request.params.key_id, 'service account key');
        const now = clock.now();
        await db.transaction().execute(async (trx) => {
          // `data` of key_deleted is the key as it was just before the delete.
          const before = (await listServiceAccountKeys(trx, account.org_id, account.id)).find(
            (key) => key.id === request.params.key_id,
          );
          const deleted = await deleteServiceAccountKey(
            trx,
            account.org_id,
            account.id,
            request.params.key_id,
            now,
          );
          if (!deleted || !before) throw notFound('service account key');
          await emitChange(
            trx,
            { orgId: account.org_id, mode: account.mode },
            'service_account.key_deleted',
            presentKey(before),
            now,
          );
          await audit.record(trx, {
            orgId: account.org_id,
            actor: actorOf(auth),
            action: 'service_account.key_removed',
            target: { kind: 'service_account_key', id: request.params.key_id },
            metadata: { service_account_id: account.id },
            request: requestOf(request),
          });
        });
        deps.webhooks.wake();
        await bus.publish({ kind: 'credential', credentialId: request.params.key_id });
        return reply.code(204).send();
      },
    );
  };
