/**
 * The one AuthContext every credential kind resolves to (DESIGN §2). Routes never read headers: they
 * declare the scope they need in their route config and read `request.auth`.
 */
import type { Mode, Scope } from '@cohera/shared';
import type { Role } from '../storage/schema.ts';

export type PrincipalKind = 'api_key' | 'user' | 'service_account' | 'oauth_client';

export interface Principal {
  kind: PrincipalKind;
  id: string;
}

export interface AuthContext {
  orgId: string;
  mode: Mode;
  principal: Principal;
  scopes: readonly Scope[];
  /** When the credential stops working (ISO, stored form), if it ever does. */
  expiresAt: string | null;
  /** How the credential arrived: a bearer header, or a dashboard session cookie (needs CSRF). */
  via: 'bearer' | 'session';
  /** For dashboard sessions: the user's role in the org. */
  role?: Role;
  /** For dashboard sessions: the session's id (`ses_…`), whose own rate-limit budget the requests use. */
  sessionId?: string;
  /** For OAuth access tokens: the app acting on the user's behalf. */
  clientId?: string;
  /**
   * The specific credential used, when the principal has several: a service account's `kid`, or the OAuth
   * authorization (`grt_…`) a token was issued under. Its last use is recorded.
   */
  credentialId?: string;
  /** The key's own per-minute limit, if lower than the org's (rate limiting). */
  rateLimitPerMinute?: number | null;
}

/** What a route requires. Every route declares one; a test enumerates the routes and checks. */
export type RouteAccess =
  | { public: true /** authenticate when a credential is sent (e.g. /health) */; optionalAuth?: boolean }
  /** Any signed-in dashboard session (sign-out, session info); bearer credentials are refused. */
  | { session: true }
  | {
      scope: Scope;
      /** Dashboard-session roles that may call the route even without the scope. */
      sessionRoles?: readonly Role[];
    };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    auth: AuthContext | null;
  }
}

/** The tenant every repository function takes: data of one org in one mode. */
export interface Tenant {
  orgId: string;
  mode: Mode;
}

export function tenantOf(auth: AuthContext): Tenant {
  return { orgId: auth.orgId, mode: auth.mode };
}
