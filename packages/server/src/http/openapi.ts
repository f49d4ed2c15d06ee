/**
 * OpenAPI 3.1 from the route schemas (one schema: validation, types and docs). Routes that need a scope
 * are marked with the bearer security scheme and the scope they need.
 */
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import type { RouteAccess } from '../auth/context.ts';
import type { Config } from '../config.ts';
import { IdempotencyKeyHeaderSchema, idempotentRoute } from '../idempotency/key.ts';

/** The route's header schema with the optional `Idempotency-Key` added. */
function withIdempotencyKey(headers: unknown): Record<string, unknown> {
  const own = (headers ?? {}) as { properties?: Record<string, unknown> };
  return {
    type: 'object',
    ...own,
    properties: { ...own.properties, 'Idempotency-Key': IdempotencyKeyHeaderSchema },
  };
}

export function openApiOptions(config: Readonly<Config>): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Cohera API',
        version: '1.0.0',
        description: 'Supply-chain compliance data (suppliers, products, certificates) with scoped access.',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'An API key (`ck_live_…`/`ck_test_…`), an OAuth access token or a service-account JWT',
          },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'cohera_session',
            description:
              'A dashboard session from `POST /auth/login`; state changes also need `x-csrf-token`',
          },
        },
      },
    },
    transform: ({ schema: declared, url, route }) => {
      // A route may declare no schema at all (Fastify allows it); describe it from its access alone.
      const schema = declared ?? {};
      const access = (route.config as { access?: RouteAccess } | undefined)?.access;
      if (!access || 'public' in access) return { schema, url };
      const scope = 'scope' in access ? access.scope : null;
      const note = scope ? `Requires the \`${scope}\` scope.` : 'Requires a dashboard session.';
      const idempotent = idempotentRoute(route.method, url, access);
      return {
        schema: {
          ...schema,
          security: scope ? [{ bearer: [scope] }] : [{ session: [] }],
          description: [schema.description, note].filter(Boolean).join('\n\n'),
          ...(idempotent ? { headers: withIdempotencyKey(schema.headers) } : {}),
        },
        url,
      };
    },
  };
}

export const openApiRoutes: FastifyPluginAsync = async (app) => {
  app.get('/openapi.json', { config: { access: { public: true } }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
};
