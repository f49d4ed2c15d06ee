/**
 * `GET /health`: public liveness; with a credential it also says who the credential is, and answers 401
 * when it is bad, which makes it the "verify the new key works" step of a key rotation.
 *
 * Liveness only: without a credential it never touches the database, so it stays 200 through a database
 * outage (a node that cannot reach its database is alive, and restarting it would not help). Whether the
 * node can serve is `GET /ready` (ready.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { apiTime } from '../clock.ts';

const Health = Type.Object({
  status: Type.Literal('ok'),
  auth: Type.Optional(
    Type.Object({
      kind: Type.String(),
      id: Type.String(),
      org_id: Type.String(),
      mode: Type.Union([Type.Literal('live'), Type.Literal('test')]),
      scopes: Type.Array(Type.String()),
      expires_at: Type.Union([Type.String(), Type.Null()]),
      client_id: Type.Optional(Type.String({ description: 'For OAuth access tokens: the app' })),
    }),
  ),
});

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    {
      config: { access: { public: true, optionalAuth: true } },
      schema: { tags: ['System'], summary: 'Liveness, and who a credential is', response: { 200: Health } },
    },
    async (request) => {
      const auth = request.auth;
      if (!auth) return { status: 'ok' as const };
      return {
        status: 'ok' as const,
        auth: {
          kind: auth.principal.kind,
          id: auth.principal.id,
          org_id: auth.orgId,
          mode: auth.mode,
          scopes: [...auth.scopes],
          expires_at: apiTime(auth.expiresAt),
          ...(auth.clientId ? { client_id: auth.clientId } : {}),
        },
      };
    },
  );
};
