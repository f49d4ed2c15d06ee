/**
 * The scope guard (DESIGN §2): after authentication and rate limiting, a route's declared scope is checked
 * against the credential's. A dashboard session may also pass by role where the route allows it.
 */
import { hasScope } from '@cohera/shared';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http/errors.ts';
import type { RouteAccess } from './context.ts';

/**
 * Returns the 403 for a request whose credential lacks the route's scope, or undefined. `access` is the
 * route's, when the caller has already read it (the pipeline does, once per request).
 */
export function scopeError(
  request: FastifyRequest,
  access: RouteAccess | undefined = request.routeOptions.config.access,
): ApiError | undefined {
  if (!access || 'public' in access || 'session' in access) return undefined;
  const auth = request.auth;
  if (!auth) return new ApiError('missing_credential'); // unreachable: authentication ran first
  if (hasScope(auth.scopes, access.scope)) return undefined;
  if (auth.role && access.sessionRoles?.includes(auth.role)) return undefined;
  return new ApiError('insufficient_scope', `This request needs the "${access.scope}" scope`, {
    headers: {
      'www-authenticate': `Bearer realm="cohera", error="insufficient_scope", scope="${access.scope}"`,
    },
    extra: { required_scope: access.scope },
  });
}
