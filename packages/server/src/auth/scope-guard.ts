/**
 * The scope guard (DESIGN §2): after authentication (and rate limiting), a route's declared scope is
 * checked against the credential's. A dashboard session may also pass by role where the route allows it.
 */

import { hasScope } from '@cohera/shared';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../http/errors.ts';

export function registerScopeGuard(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const access = request.routeOptions.config.access;
    if (!access || 'public' in access || 'session' in access) return done();
    const auth = request.auth;
    if (!auth) return done(new ApiError('missing_credential')); // unreachable: authentication ran first
    if (hasScope(auth.scopes, access.scope)) return done();
    if (auth.role && access.sessionRoles?.includes(auth.role)) return done();
    done(
      new ApiError('insufficient_scope', `This request needs the "${access.scope}" scope`, {
        headers: {
          'www-authenticate': `Bearer realm="cohera", error="insufficient_scope", scope="${access.scope}"`,
        },
        extra: { required_scope: access.scope },
      }),
    );
  });
}
