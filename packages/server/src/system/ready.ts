/**
 * `GET /ready`: public readiness, for load balancers and orchestrators (DESIGN §4). 200 while this node can
 * serve, which means its database answers a `SELECT 1` within two seconds; 503 `service_unavailable` with
 * `Retry-After` while it cannot, and while the node shuts down (the pipeline answers that one). `/health`
 * stays liveness and never touches the database: a node whose database is down is alive and must not be
 * restarted for it, only taken out of rotation until the database is back.
 *
 * The verdict is cached for a second (storage/availability.ts), so however often it is polled the database
 * sees at most one probe per node per second.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { databaseUnavailable } from '../http/errors.ts';
import type { DatabaseAvailability } from '../storage/availability.ts';

const Ready = Type.Object({ status: Type.Literal('ready') });

const NotReady = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Literal(503),
    code: Type.Literal('service_unavailable'),
    detail: Type.Optional(Type.String()),
    request_id: Type.String(),
  },
  { description: 'Not ready: the database is unreachable or too slow, or the node is shutting down' },
);

export function readyRoutes(availability: DatabaseAvailability): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/ready',
      {
        config: { access: { public: true } },
        schema: {
          tags: ['System'],
          summary: 'Readiness: whether this node can serve (its database answers)',
          description:
            '200 while the database answers; 503 `service_unavailable` with `Retry-After` while it does ' +
            'not, or while the node shuts down. Take a node out of rotation on 503; restart it only if ' +
            '`GET /health` fails.',
          response: { 200: Ready, 503: NotReady },
        },
      },
      async () => {
        if (!(await availability.check())) throw databaseUnavailable();
        return { status: 'ready' as const };
      },
    );
  };
}
