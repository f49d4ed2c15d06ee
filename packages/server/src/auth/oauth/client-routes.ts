/**
 * The developer console's API, `/v1/oauth/clients` (DESIGN §4): register an app with its redirect URIs and
 * the scopes it may ever be granted, read it back, change its name, redirect URIs or scopes, rotate a
 * confidential client's secret with a grace period, delete it (which revokes every authorization users gave
 * it). The secret is in the creation and rotation responses only; Cohera keeps its SHA-256.
 *
 * Narrowing an app's scopes ends every authorization that holds a scope beyond the new ones (and with it
 * its refresh and access tokens, on every node within a second): a grant never exceeds its client's
 * ceiling (DESIGN §3). Ending rather than trimming them means each person sees the consent page again and
 * decides about the app as it now is; the API also caps every token by the client's current scopes, so
 * nothing beyond them works even in the moment before the ends are announced.
 */
import { normalizeScopes, SCOPES } from '@cohera/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, requestOf } from '../../audit/log.ts';
import { apiTime } from '../../clock.ts';
import { ApiError, invalidField, notFound } from '../../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../../http/pagination.ts';
import { IdParams, requireIdShape } from '../../resources/common.ts';
import type { OAuthClientsTable } from '../../storage/schema.ts';
import { emitChange } from '../../webhooks/produce.ts';
import type { AuthContext } from '../context.ts';
import { manageableModes, modeToCreate, requireGrantable } from '../grants.ts';
import { activeGrantsOfClient, authorizationsBeyond } from './authorizations-repository.ts';
import {
  type ClientScope,
  deleteClient,
  getClient,
  insertClient,
  listClients,
  rotateClientSecret,
  updateClient,
} from './clients-repository.ts';
import type { OAuthServer } from './provider.ts';
import {
  explainRedirectUriProblem,
  MAX_REDIRECT_URIS,
  redirectUriProblemsOf,
  requireValidRedirectUris,
} from './redirect-uris.ts';

/** How long a replaced secret keeps working by default: a day, as for a rolled API key. */
export const DEFAULT_SECRET_GRACE_SECONDS = 86_400;
export const MAX_SECRET_GRACE_SECONDS = 7 * 86_400;

const ModeSchema = Type.Union([Type.Literal('live'), Type.Literal('test')]);
const ScopeSchema = Type.Union(SCOPES.map((s) => Type.Literal(s)));
const ClientType = Type.Union([Type.Literal('confidential'), Type.Literal('public')]);

const OAuthClient = Type.Object({
  id: Type.String(),
  object: Type.Literal('oauth_client'),
  client_id: Type.String({ description: 'The OAuth `client_id` (the same as `id`)' }),
  name: Type.String(),
  client_type: ClientType,
  redirect_uris: Type.Array(Type.String()),
  redirect_uri_problems: Type.Array(
    Type.Object({
      redirect_uri: Type.String(),
      problem: Type.String({ description: 'What is wrong with it and what to do, in words' }),
    }),
    {
      description:
        'Registered redirect URIs that break the rules (apps registered before them): authorization requests that use them are refused. Empty for a healthy app.',
    },
  ),
  scopes: Type.Array(Type.String()),
  mode: ModeSchema,
  secret_last4: Type.Union([Type.String(), Type.Null()]),
  previous_secret_expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  created_by: Type.Object({ kind: Type.String(), id: Type.String() }),
});

const OAuthClientWithSecret = Type.Object({
  ...OAuthClient.properties,
  client_secret: Type.Union([
    Type.String({ description: 'Shown only in this response: store it now.' }),
    Type.Null(),
  ]),
});

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    redirect_uris: Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
      minItems: 1,
      maxItems: MAX_REDIRECT_URIS,
    }),
    client_type: ClientType,
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: SCOPES.length, uniqueItems: true }),
    mode: Type.Optional(ModeSchema),
  },
  { additionalProperties: false },
);

const UpdateBody = Type.Object(
  {
    name: Type.Optional(CreateBody.properties.name),
    redirect_uris: Type.Optional(CreateBody.properties.redirect_uris),
    scopes: Type.Optional(CreateBody.properties.scopes),
  },
  { additionalProperties: false, minProperties: 1 },
);

const RotateBody = Type.Object(
  {
    grace_period_seconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_SECRET_GRACE_SECONDS,
        description: 'How long the old secret keeps working (default 86400; 0 ends it at once)',
      }),
    ),
  },
  { additionalProperties: false },
);

function clientScope(auth: AuthContext): ClientScope {
  return { orgId: auth.orgId, modes: manageableModes(auth) };
}

function presentClient(row: OAuthClientsTable) {
  return {
    id: row.id,
    object: 'oauth_client' as const,
    client_id: row.id,
    name: row.name,
    client_type: row.client_type,
    redirect_uris: JSON.parse(row.redirect_uris) as string[],
    redirect_uri_problems: redirectUriProblemsOf(row).map((problem) => ({
      redirect_uri: problem.redirect_uri,
      problem: explainRedirectUriProblem(problem),
    })),
    scopes: JSON.parse(row.scopes) as string[],
    mode: row.mode,
    secret_last4: row.secret_last4,
    previous_secret_expires_at: apiTime(row.previous_secret_expires_at),
    created_at: apiTime(row.created_at),
    created_by: { kind: row.created_by_kind, id: row.created_by_id },
  };
}

export const oauthClientRoutes = (deps: AppDeps, oauth: OAuthServer): FastifyPluginAsyncTypebox =>
  async function oauthClients(app) {
    const { db, clock, audit } = deps;
    const tags = ['OAuth clients'];
    const access = { scope: 'admin' as const };

    async function requireClient(auth: AuthContext, id: string) {
      requireIdShape('oauth_client', id, 'OAuth client');
      const client = await getClient(db, clientScope(auth), id);
      if (!client) throw notFound('OAuth client');
      return client;
    }

    app.post(
      '/v1/oauth/clients',
      {
        config: { access, secretFields: ['client_secret'] },
        schema: {
          tags,
          summary: 'Register an OAuth app (returns the client secret once)',
          body: CreateBody,
          response: { 201: OAuthClientWithSecret },
        },
      },
      async (request, reply) => {
        const auth = request.auth!;
        const name = request.body.name.trim();
        if (!name) throw invalidField('body/name', 'must not be blank');
        const mode = modeToCreate(auth, request.body.mode, 'live OAuth apps');
        const redirectUris = requireValidRedirectUris(request.body.redirect_uris);
        const scopes = normalizeScopes(request.body.scopes);
        requireGrantable(auth, scopes);
        const { row, secret } = await db.transaction().execute(async (trx) => {
          const created = await insertClient(
            trx,
            {
              orgId: auth.orgId,
              mode,
              name,
              clientType: request.body.client_type,
              redirectUris,
              scopes,
              createdBy: auth.principal,
            },
            clock.now(),
          );
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'oauth.client_created',
            target: { kind: 'oauth_client', id: created.row.id },
            metadata: {
              name,
              client_type: request.body.client_type,
              redirect_uris: redirectUris,
              scopes,
              mode,
            },
            request: requestOf(request),
          });
          // The client object without `client_secret`: an event never carries the secret.
          await emitChange(
            trx,
            { orgId: auth.orgId, mode },
            'oauth_client.created',
            presentClient(created.row),
            Date.parse(created.row.created_at),
          );
          return created;
        });
        deps.webhooks.wake();
        return reply.code(201).send({ ...presentClient(row), client_secret: secret });
      },
    );

    app.get(
      '/v1/oauth/clients',
      {
        config: { access },
        schema: {
          tags,
          summary: 'List OAuth apps, newest first',
          querystring: Type.Object(PaginationQuery, { additionalProperties: false }),
          response: { 200: ListEnvelope(OAuthClient) },
        },
      },
      async (request) => {
        const { limit = 20, cursor } = request.query;
        const rows = await listClients(db, clientScope(request.auth!), {
          limit,
          after: decodeCursor(cursor, 'cli'),
        });
        return pageOf(rows, limit, presentClient);
      },
    );

    app.get(
      '/v1/oauth/clients/:id',
      {
        config: { access },
        schema: { tags, summary: 'Get an OAuth app', params: IdParams, response: { 200: OAuthClient } },
      },
      async (request) => presentClient(await requireClient(request.auth!, request.params.id)),
    );

    app.patch(
      '/v1/oauth/clients/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Change an OAuth app: name, redirect URIs, scopes (narrowing ends the grants beyond them)',
          params: IdParams,
          body: UpdateBody,
          response: { 200: OAuthClient },
        },
      },
      async (request) => {
        const auth = request.auth!;
        const client = await requireClient(auth, request.params.id);
        const { body } = request;
        const name = body.name?.trim();
        if (name !== undefined && !name) throw invalidField('body/name', 'must not be blank');
        const redirectUris = body.redirect_uris && requireValidRedirectUris(body.redirect_uris);
        const scopes = body.scopes && normalizeScopes(body.scopes);
        // No escalation: an admin cannot raise an app above what they hold, as at registration.
        if (scopes) requireGrantable(auth, scopes);
        const now = clock.now();
        const { row, ended } = await db.transaction().execute(async (trx) => {
          const updated = await updateClient(
            trx,
            clientScope(auth),
            client,
            {
              ...(name !== undefined ? { name } : {}),
              ...(redirectUris ? { redirectUris } : {}),
              ...(scopes ? { scopes } : {}),
            },
            now,
          );
          if (!updated) throw notFound('OAuth client');
          const beyond = scopes ? await authorizationsBeyond(trx, client.id, scopes) : [];
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'oauth.client_updated',
            target: { kind: 'oauth_client', id: client.id },
            metadata: {
              changes: {
                ...(name !== undefined ? { name } : {}),
                ...(redirectUris ? { redirect_uris: redirectUris } : {}),
                ...(scopes ? { scopes } : {}),
              },
              ended_authorizations: beyond.length,
            },
            request: requestOf(request),
          });
          return { row: updated, ended: beyond };
        });
        // After the commit, as for a deleted client: each grant, its tokens, and every node's cache of them.
        for (const authorization of ended) await oauth.revokeGrant(authorization.grant_id);
        return presentClient(row);
      },
    );

    app.delete(
      '/v1/oauth/clients/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Delete an OAuth app and revoke every authorization and token it holds',
          params: IdParams,
        },
      },
      async (request, reply) => {
        requireIdShape('oauth_client', request.params.id, 'OAuth client');
        const auth = request.auth!;
        const now = clock.now();
        await db.transaction().execute(async (trx) => {
          // `data` of oauth_client.deleted is the client as it was just before the delete.
          const before = await getClient(trx, clientScope(auth), request.params.id);
          const deleted = await deleteClient(trx, clientScope(auth), request.params.id, now);
          if (!deleted || !before) throw notFound('OAuth client');
          await emitChange(
            trx,
            { orgId: before.org_id, mode: before.mode },
            'oauth_client.deleted',
            presentClient(before),
            now,
          );
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'oauth.client_deleted',
            target: { kind: 'oauth_client', id: request.params.id },
            request: requestOf(request),
          });
        });
        deps.webhooks.wake();
        // After the deletion committed: the engine no longer finds the client, then its grants end.
        for (const grantId of await activeGrantsOfClient(db, request.params.id)) {
          await oauth.revokeGrant(grantId);
        }
        return reply.code(204).send();
      },
    );

    app.post(
      '/v1/oauth/clients/:id/rotate-secret',
      {
        config: { access, secretFields: ['client_secret'] },
        // An empty POST (no body, no content type) rotates with the default grace period.
        preValidation: (request, _reply, done) => {
          request.body ??= {};
          done();
        },
        schema: {
          tags,
          summary: 'Replace the client secret; the old one works for the grace period',
          params: IdParams,
          body: RotateBody,
          response: { 200: OAuthClientWithSecret },
        },
      },
      async (request) => {
        const auth = request.auth!;
        const client = await requireClient(auth, request.params.id);
        if (client.client_type !== 'confidential') {
          throw new ApiError('conflict', 'A public client has no secret to rotate');
        }
        const grace = request.body.grace_period_seconds ?? DEFAULT_SECRET_GRACE_SECONDS;
        const now = clock.now();
        const rotated = await db.transaction().execute(async (trx) => {
          const done = await rotateClientSecret(trx, clientScope(auth), client, grace, now);
          if (!done) throw new ApiError('conflict', 'The secret was rotated at the same time; try again');
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'oauth.client_secret_rotated',
            target: { kind: 'oauth_client', id: client.id },
            metadata: { grace_period_seconds: grace, secret_last4: done.row.secret_last4 },
            request: requestOf(request),
          });
          await emitChange(
            trx,
            { orgId: done.row.org_id, mode: done.row.mode },
            'oauth_client.secret_rotated',
            presentClient(done.row),
            now,
          );
          return done;
        });
        deps.webhooks.wake();
        return { ...presentClient(rotated.row), client_secret: rotated.secret };
      },
    );
  };
