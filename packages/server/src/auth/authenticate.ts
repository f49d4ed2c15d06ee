/**
 * The authentication step of the pipeline (DESIGN §2): one onRequest hook that finds the credential,
 * dispatches by its shape, and sets `request.auth`. It runs before the body is parsed, so an
 * unauthenticated request never costs a JSON parse. Credentials are read only from the Authorization
 * header or the session cookie, never from a query string.
 */
import { looksLikeApiKey, type Mode } from '@cohera/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { ApiError } from '../http/errors.ts';
import type { AuthFailureGuard } from '../ratelimit/abuse.ts';
import type { DB } from '../storage/schema.ts';
import type { ApiKeyVerifier } from './api-keys/verifier.ts';
import type { AuthContext } from './context.ts';
import {
  CSRF_HEADER,
  type CsrfTokens,
  findSession,
  SESSION_COOKIE,
  scopesForRole,
} from './sessions/store.ts';

/** A verifier for one kind of bearer credential (service-account JWTs and OAuth tokens plug in here). */
export interface BearerVerifier {
  name: string;
  matches(credential: string): boolean;
  verify(credential: string, request: FastifyRequest): AuthContext | Promise<AuthContext>;
}

export interface AuthenticationDeps {
  db: Kysely<DB>;
  clock: Clock;
  apiKeys: ApiKeyVerifier;
  csrf: CsrfTokens;
  /** Further bearer verifiers, tried in order after API keys. */
  bearerVerifiers?: readonly BearerVerifier[];
  /** Per-IP throttling of failed authentication. */
  failures?: AuthFailureGuard;
}

/** Failures that count towards an IP's block: a credential was presented and did not work. */
function isCredentialFailure(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401 && error.code !== 'missing_credential';
}

const BEARER = /^Bearer ([\x21-\x7e]+)$/i;
const MAX_CREDENTIAL_LENGTH = 8192;
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Dashboard sessions pick the data mode per request (the dashboard's live/test switch). */
export const MODE_HEADER = 'cohera-mode';

function bearerCredential(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header === undefined) return null;
  const match = header.length <= MAX_CREDENTIAL_LENGTH + 7 ? BEARER.exec(header) : null;
  if (!match) {
    throw new ApiError('invalid_credential', 'The Authorization header must be "Bearer <credential>"');
  }
  return match[1] as string;
}

export function registerAuthentication(app: FastifyInstance, deps: AuthenticationDeps): void {
  app.decorateRequest('auth', null);
  const verifiers = deps.bearerVerifiers ?? [];

  async function fromSession(request: FastifyRequest, token: string): Promise<AuthContext> {
    const session = await findSession(deps.db, token, deps.clock.now());
    if (!session) throw new ApiError('invalid_credential', 'The session has expired or was signed out');
    // Cookies ride along on cross-site requests; a state change must prove it came from our pages.
    if (UNSAFE_METHODS.has(request.method)) {
      const presented = request.headers[CSRF_HEADER];
      if (!deps.csrf.verify(session.tokenHash, typeof presented === 'string' ? presented : undefined)) {
        throw new ApiError('csrf_failed', `Send the ${CSRF_HEADER} header from GET /auth/session`);
      }
    }
    const modeHeader = request.headers[MODE_HEADER];
    if (modeHeader !== undefined && modeHeader !== 'live' && modeHeader !== 'test') {
      throw new ApiError('validation_failed', `header ${MODE_HEADER} must be "live" or "test"`, {
        errors: [{ field: `header/${MODE_HEADER}`, message: 'must be "live" or "test"' }],
      });
    }
    return {
      orgId: session.orgId,
      mode: (modeHeader as Mode | undefined) ?? 'live',
      principal: { kind: 'user', id: session.userId },
      scopes: scopesForRole(session.role),
      expiresAt: session.expiresAt,
      via: 'session',
      role: session.role,
    };
  }

  /** Resolves the request's credential, or returns null when it carries none. */
  function authenticate(request: FastifyRequest): AuthContext | Promise<AuthContext> | null {
    const bearer = bearerCredential(request);
    if (bearer !== null) {
      if (looksLikeApiKey(bearer)) return deps.apiKeys.verify(bearer);
      for (const verifier of verifiers) {
        if (verifier.matches(bearer)) return verifier.verify(bearer, request);
      }
      throw new ApiError('invalid_credential', 'The credential is not recognised');
    }
    const sessionToken = request.cookies?.[SESSION_COOKIE];
    if (sessionToken) return fromSession(request, sessionToken);
    return null;
  }

  // Callback style on purpose: a cached API key resolves synchronously, and the hot path should not pay
  // for a promise per request.
  const failures = deps.failures;
  const fail = (request: FastifyRequest, error: unknown, done: (error?: Error) => void) => {
    if (failures && isCredentialFailure(error)) failures.recordFailure(request.ip).catch(() => {});
    done(error as Error);
  };

  app.addHook('onRequest', (request, _reply, done) => {
    const access = request.routeOptions.config.access;
    if (!access || ('public' in access && !access.optionalAuth)) return done();
    if (failures && (request.headers.authorization !== undefined || request.headers.cookie !== undefined)) {
      const blocked = failures.blocked(request.ip);
      if (blocked) return done(blocked);
    }
    let pending: AuthContext | Promise<AuthContext> | null;
    try {
      if ('session' in access) {
        const token = request.cookies?.[SESSION_COOKIE];
        pending = token ? fromSession(request, token) : null;
      } else {
        pending = authenticate(request);
      }
    } catch (error) {
      return fail(request, error, done);
    }
    if (pending === null) {
      if ('public' in access) return done();
      return done(
        new ApiError('missing_credential', 'Send a credential as "Authorization: Bearer <credential>"'),
      );
    }
    if (pending instanceof Promise) {
      pending.then(
        (auth) => {
          request.auth = auth;
          done();
        },
        (error: unknown) => fail(request, error, done),
      );
      return;
    }
    request.auth = pending;
    done();
  });
}
