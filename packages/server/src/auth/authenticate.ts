/**
 * The authentication step of the pipeline (DESIGN §2): one onRequest hook that finds the credential,
 * dispatches by its shape, and sets `request.auth`. It runs before the body is parsed, so an
 * unauthenticated request never costs a JSON parse. Credentials are read only from the Authorization
 * header or the session cookie, never from a query string; one found there is refused as exposed, and the
 * usual mistakes with a credential are named (credential-mistakes.ts).
 */
import { looksLikeApiKey, type Mode, parseApiKey } from '@cohera/shared';
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { type AuditLog, requestOf } from '../audit/log.ts';
import type { Clock } from '../clock.ts';
import { ApiError, invalidField } from '../http/errors.ts';
import { hasRepeatedAuthorization, REPEATED_AUTHORIZATION } from '../http/repeated-headers.ts';
import type { AuthFailureGuard } from '../ratelimit/abuse.ts';
import type { DB } from '../storage/schema.ts';
import type { ApiKeyVerifier } from './api-keys/verifier.ts';
import type { AuthContext } from './context.ts';
import { bearerCredential, credentialInQuery, malformedApiKey } from './credential-mistakes.ts';
import {
  CSRF_HEADER,
  type CsrfTokens,
  findSession,
  SESSION_COOKIE,
  scopesForRole,
} from './sessions/store.ts';
import { tokenCacheKey } from './verified-token-cache.ts';

/** A verifier for one kind of bearer credential (service-account JWTs and OAuth tokens plug in here). */
export interface BearerVerifier {
  name: string;
  matches(credential: string): boolean;
  verify(credential: string, request: FastifyRequest): AuthContext | Promise<AuthContext>;
  /** A credential it verified before and still trusts, by its `tokenCacheKey`: the request path's first look. */
  cached?(tokenHash: string, now: number): AuthContext | undefined;
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
  /** Failures with a known owner (a revoked or expired key) go to that org's audit log. */
  audit?: AuditLog;
}

/** Failures that count towards an IP's block: a credential was presented and did not work. */
function isCredentialFailure(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401 && error.code !== 'missing_credential';
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const BEARER = 'Bearer ';
/** `Bearer ` and the start every API key shares (`ck_live_`, `ck_test_`). */
const CACHED_KEY_PREFIX = 'Bearer ck_';

/** Dashboard sessions pick the data mode per request (the dashboard's live/test switch). */
export const MODE_HEADER = 'cohera-mode';

export type Done = (error?: Error) => void;

function repeatedAuthorization(): ApiError {
  return new ApiError('validation_failed', `header/authorization: ${REPEATED_AUTHORIZATION}`, {
    errors: [{ field: 'header/authorization', message: 'must be sent once, not repeated' }],
  });
}

/**
 * Builds the authentication step: `step(request, done)` resolves the request's credential into
 * `request.auth` (or leaves it null on public routes). Synchronous for a cached credential: the hot path
 * pays for no promise.
 */
export function createAuthenticationStep(deps: AuthenticationDeps) {
  const verifiers = deps.bearerVerifiers ?? [];
  const failures = deps.failures;

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
      throw invalidField(`header/${MODE_HEADER}`, 'must be "live" or "test"');
    }
    return {
      orgId: session.orgId,
      mode: (modeHeader as Mode | undefined) ?? 'live',
      principal: { kind: 'user', id: session.userId },
      scopes: scopesForRole(session.role),
      expiresAt: session.expiresAt,
      via: 'session',
      role: session.role,
      sessionId: session.id,
    };
  }

  /** Resolves the request's credential, or returns null when it carries none. */
  function authenticate(
    request: FastifyRequest,
    sessionOnly: boolean,
  ): AuthContext | Promise<AuthContext> | null {
    if (!sessionOnly) {
      const bearer = bearerCredential(request);
      if (bearer !== null) {
        if (looksLikeApiKey(bearer)) {
          try {
            return deps.apiKeys.verify(bearer);
          } catch (error) {
            // The verifier refuses a bad shape synchronously; say which mistake it was.
            throw parseApiKey(bearer) ? error : malformedApiKey(bearer);
          }
        }
        for (const verifier of verifiers) {
          if (verifier.matches(bearer)) return verifier.verify(bearer, request);
        }
        throw new ApiError('invalid_credential', 'The credential is not recognised');
      }
    }
    const sessionToken = sessionCookie(request);
    return sessionToken ? fromSession(request, sessionToken) : null;
  }

  /**
   * The hot path: an API key this node has already verified. A cache hit means the presented string hashes
   * to a key that passed the format and checksum checks when it was cached, so it is exactly a well-formed
   * key and the header is exactly `Bearer <key>`: none of the mistakes `bearerCredential` names (each a
   * regular expression) can apply. Anything else (a miss, another scheme or credential) takes the full path.
   */
  function cachedApiKey(authorization: string, request: FastifyRequest): AuthContext | undefined {
    if (!authorization.startsWith(CACHED_KEY_PREFIX)) return undefined;
    return deps.apiKeys.verifyCached(authorization.slice(7), request.receivedAt || deps.clock.now());
  }

  /**
   * The hot path for tokens (service-account and OAuth JWTs): one this node verified before and still
   * trusts. As for API keys, a hit means the string after `Bearer ` hashes to a token that passed every
   * check when it was verified, so none of the mistakes `bearerCredential` names can apply, and no
   * verifier needs to recognise its shape (each did so by decoding it). Anything else takes the full path.
   */
  function cachedToken(authorization: string, request: FastifyRequest): AuthContext | undefined {
    if (!authorization.startsWith(BEARER) || authorization.startsWith(CACHED_KEY_PREFIX)) return undefined;
    const tokenHash = tokenCacheKey(authorization.slice(BEARER.length));
    const now = request.receivedAt || deps.clock.now();
    for (const verifier of verifiers) {
      const known = verifier.cached?.(tokenHash, now);
      if (known !== undefined) return known;
    }
    return undefined;
  }

  const fail = (request: FastifyRequest, error: unknown, done: Done) => {
    if (isCredentialFailure(error)) {
      failures?.recordFailure(request.ip).catch(() => {});
      const subject = (error as ApiError).subject;
      if (subject && deps.audit) {
        deps.audit.enqueue({
          orgId: subject.orgId,
          actor: { kind: subject.kind, id: subject.id },
          action: 'auth.failed',
          target: { kind: subject.kind, id: subject.id },
          result: 'failure',
          metadata: { code: (error as ApiError).code, route: request.routeOptions.url ?? null },
          request: requestOf(request),
        });
      }
    }
    done(error as Error);
  };

  return function authenticationStep(request: FastifyRequest, done: Done) {
    const access = (request.routeConfig ?? request.routeOptions.config).access;
    // Before anything else, public routes included: a credential in the URL is exposed whatever happens next.
    const inQuery = credentialInQuery(request);
    if (inQuery) return done(inQuery);
    if (!access || ('public' in access && !access.optionalAuth)) return done();
    const authorization = request.headers.authorization;
    // Node keeps the first of several Authorization headers; a proxy may act on another (repeated-headers.ts).
    if (authorization !== undefined && hasRepeatedAuthorization(request.raw)) {
      return done(repeatedAuthorization());
    }
    if (failures && (authorization !== undefined || request.headers.cookie !== undefined)) {
      const blocked = failures.blocked(request.ip);
      if (blocked) return done(blocked);
    }
    let pending: AuthContext | Promise<AuthContext> | null;
    try {
      pending =
        (authorization !== undefined &&
          !('session' in access) &&
          (cachedApiKey(authorization, request) || cachedToken(authorization, request))) ||
        authenticate(request, 'session' in access);
    } catch (error) {
      return fail(request, error, done);
    }
    if (pending === null) {
      if ('public' in access) return done();
      // A session-only route ignores bearer credentials: say so, rather than ask for one that was sent.
      const detail =
        'session' in access
          ? 'This route needs a dashboard session: sign in at /auth/login (bearer credentials are not accepted here)'
          : 'Send a credential as "Authorization: Bearer <credential>"';
      return done(new ApiError('missing_credential', detail));
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
  };
}

/**
 * The session cookie, parsed only when a Cookie header is present. Parsing here instead of through
 * @fastify/cookie's global hooks keeps two hook calls off every API request; the cookie plugin itself is
 * registered only where cookies are set (sign-in).
 */
function sessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined || !header.includes(SESSION_COOKIE)) return undefined;
  return fastifyCookie.parse(header)[SESSION_COOKIE];
}
