/**
 * `/v1/oauth/authorizations` (DESIGN §4): the apps the signed-in user authorized in their org, with the
 * scopes and when, and revoking one, which ends its refresh and access tokens on every node at once. Only a
 * dashboard session may call these: they are the user's own control, not something an app may do.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Transaction } from 'kysely';
import { Type } from 'typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, requestOf } from '../../audit/log.ts';
import { apiTime } from '../../clock.ts';
import { notFound } from '../../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../../http/pagination.ts';
import { IdParams, requireIdShape } from '../../resources/common.ts';
import type { DB } from '../../storage/schema.ts';
import { emitChange } from '../../webhooks/produce.ts';
import type { AuthContext } from '../context.ts';
import {
  type AuthorizationListing,
  getAuthorization,
  listAuthorizations,
  type UserScope,
} from './authorizations-repository.ts';
import { findClientById } from './clients-repository.ts';
import type { OAuthServer } from './provider.ts';

const Authorization = Type.Object({
  id: Type.String(),
  object: Type.Literal('oauth_authorization'),
  client: Type.Object({ id: Type.String(), name: Type.String() }),
  scopes: Type.Array(Type.String()),
  mode: Type.Union([Type.Literal('live'), Type.Literal('test')]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

function userScope(auth: AuthContext): UserScope {
  return { orgId: auth.orgId, userId: auth.principal.id };
}

function present(row: AuthorizationListing, lastUse: (id: string, stored: string | null) => string | null) {
  return {
    id: row.id,
    object: 'oauth_authorization' as const,
    client: { id: row.client_id, name: row.client_name },
    scopes: JSON.parse(row.scopes) as string[],
    mode: row.mode,
    created_at: apiTime(row.created_at),
    updated_at: apiTime(row.updated_at),
    last_used_at: apiTime(lastUse(row.id, row.last_used_at)),
  };
}

export const oauthAuthorizationRoutes = (deps: AppDeps, oauth: OAuthServer): FastifyPluginAsyncTypebox =>
  async function oauthAuthorizations(app) {
    const { db } = deps;
    const tags = ['OAuth authorizations'];
    const access = { session: true as const };

    app.get(
      '/v1/oauth/authorizations',
      {
        config: { access },
        schema: {
          tags,
          summary: 'The apps you authorized, newest first (dashboard session)',
          querystring: Type.Object(PaginationQuery, { additionalProperties: false }),
          response: { 200: ListEnvelope(Authorization) },
        },
      },
      async (request) => {
        const { limit = 20, cursor } = request.query;
        const rows = await listAuthorizations(db, userScope(request.auth!), {
          limit,
          after: decodeCursor(cursor, 'grt'),
        });
        return pageOf(rows, limit, (row) => present(row, (id, stored) => deps.usage.lastUseOf(id, stored)));
      },
    );

    app.delete(
      '/v1/oauth/authorizations/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Revoke an app’s access: its tokens stop working at once (dashboard session)',
          params: IdParams,
        },
      },
      async (request, reply) => {
        requireIdShape('oauth_authorization', request.params.id, 'authorization');
        const authorization = await getAuthorization(db, userScope(request.auth!), request.params.id);
        if (!authorization) throw notFound('authorization');
        const auth = request.auth!;
        const client = await findClientById(db, authorization.client_id);
        const now = deps.clock.now();
        await oauth.revokeGrant(authorization.grant_id, async (trx) => {
          // revokeGrant runs this inside its transaction (inTransaction), so `trx` is a Transaction.
          await emitChange(
            trx as Transaction<DB>,
            { orgId: auth.orgId, mode: authorization.mode },
            'oauth.authorization_revoked',
            present({ ...authorization, client_name: client?.name ?? '' }, (id, stored) =>
              deps.usage.lastUseOf(id, stored),
            ),
            now,
          );
          await deps.audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'oauth.consent_revoked',
            target: { kind: 'oauth_authorization', id: authorization.id },
            metadata: { client_id: authorization.client_id },
            request: requestOf(request),
          });
        });
        deps.webhooks.wake();
        return reply.code(204).send();
      },
    );
  };
