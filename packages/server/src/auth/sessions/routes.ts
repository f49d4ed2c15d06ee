/**
 * Sign-in for people (dashboard and OAuth): `GET /auth/login` (the form), `POST /auth/login` (form or
 * JSON), `POST /auth/logout`, `GET /auth/session` (who is signed in, and the CSRF token for the SPA).
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../../app-deps.ts';
import { requestOf } from '../../audit/log.ts';
import { apiTime } from '../../clock.ts';
import { ApiError } from '../../http/errors.ts';
import { sendHtml } from '../../http/html-page.ts';
import { findOrg } from '../../orgs/repository.ts';
import { PasswordHashingBusy } from '../../users/password-hasher.ts';
import { findUserByEmail, primaryMembership } from '../../users/repository.ts';
import { interactionFormActions } from '../oauth/interaction-routes.ts';
import { loginPage, safeReturnTo } from './login-page.ts';
import {
  CSRF_COOKIE,
  createSession,
  deleteSession,
  findSession,
  SESSION_COOKIE,
  SESSION_TTL_MS,
} from './store.ts';

const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    return_to: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
);

const SessionInfo = Type.Object({
  user: Type.Object({ id: Type.String(), email: Type.String() }),
  org: Type.Object({ id: Type.String(), name: Type.String(), tier: Type.String() }),
  role: Type.String(),
  expires_at: Type.String(),
  csrf_token: Type.String(),
});

function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

export const sessionRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function sessions(app) {
    const { db, clock, config, csrf } = deps;
    const secure = config.publicUrl.startsWith('https://');
    const publicOrigin = new URL(config.publicUrl).origin;
    const cookieBase = { path: '/', sameSite: 'lax' as const, secure };
    const tags = ['Sessions'];
    // HTML forms post urlencoded bodies; only these routes accept them (the API itself is JSON-only).
    await app.register(formbody, { bodyLimit: 64 * 1024 });
    // Cookies are set and read here only; the API pipeline parses the session cookie itself (authenticate.ts).
    await app.register(cookie);

    app.get(
      '/auth/login',
      {
        config: { access: { public: true } },
        schema: {
          tags,
          summary: 'The sign-in page',
          querystring: Type.Object({ return_to: Type.Optional(Type.String({ maxLength: 2048 })) }),
        },
      },
      async (request, reply) => {
        const returnTo = safeReturnTo(request.query.return_to);
        return sendHtml(reply, 200, loginPage({ returnTo }), await interactionFormActions(deps, returnTo));
      },
    );

    app.post(
      '/auth/login',
      {
        config: { access: { public: true } },
        schema: { tags, summary: 'Sign in with email and password', body: LoginBody },
      },
      async (request, reply) => {
        // Login CSRF: a browser always sends Origin on a cross-site POST; refuse any that is not ours.
        const origin = request.headers.origin;
        if (origin !== undefined && origin !== publicOrigin) {
          throw new ApiError('csrf_failed', 'Sign-in must come from this server’s own page');
        }
        const { email, password } = request.body;
        const returnTo = safeReturnTo(request.body.return_to);
        const account = email.trim().toLowerCase();
        // Counted before anything is looked up or hashed, so concurrent guesses cannot outrun the limit.
        const attempt = await deps.loginThrottle.reserve(request.ip, account);
        const user = await findUserByEmail(db, email);
        let ok: boolean;
        try {
          // Unknown email and wrong password: same work (argon2 against a dummy hash, in the same bounded
          // queue), same answer.
          ok = await deps.passwords.verify(user?.password_hash ?? null, password);
        } catch (error) {
          if (!(error instanceof PasswordHashingBusy)) throw error;
          // No password was checked: the attempt is given back, and the client told when to come again.
          await attempt.release();
          throw new ApiError('service_unavailable', 'Too many sign-ins in progress; retry in 1 s', {
            headers: { 'retry-after': '1' },
          });
        }
        const membership = ok && user ? await primaryMembership(db, user.id) : null;
        // Only failures use up the sign-in limits: a success gives back its own attempt (and nothing more).
        if (ok && membership) await attempt.release();
        if (!user || !ok || !membership) {
          request.log.info({ event: 'login_failed' }, 'sign-in failed');
          // An org learns of failed sign-ins to its people's accounts; an unknown email belongs to no org.
          const target = user && !ok ? await primaryMembership(db, user.id) : null;
          if (user && target) {
            deps.audit.enqueue({
              orgId: target.org_id,
              actor: { kind: 'anonymous', id: request.ip },
              action: 'user.login_failed',
              target: { kind: 'user', id: user.id },
              result: 'failure',
              request: requestOf(request),
            });
          }
          if (wantsHtml(request)) {
            return sendHtml(
              reply,
              401,
              loginPage({ returnTo, email, error: 'Invalid email or password.' }),
              await interactionFormActions(deps, returnTo),
            );
          }
          throw new ApiError('invalid_login', 'Invalid email or password');
        }
        const previous = request.cookies[SESSION_COOKIE];
        if (previous) await deleteSession(db, previous); // rotate: never reuse a pre-login session
        const { token, record } = await db.transaction().execute(async (trx) => {
          const created = await createSession(
            trx,
            {
              userId: user.id,
              orgId: membership.org_id,
              ip: request.ip,
              userAgent: request.headers['user-agent'] ?? null,
            },
            clock.now(),
          );
          await deps.audit.record(trx, {
            orgId: membership.org_id,
            actor: { kind: 'user', id: user.id },
            action: 'user.login',
            target: { kind: 'session', id: created.record.id },
            request: requestOf(request),
          });
          return created;
        });
        const maxAge = Math.floor(SESSION_TTL_MS / 1000);
        reply.setCookie(SESSION_COOKIE, token, { ...cookieBase, httpOnly: true, maxAge });
        reply.setCookie(CSRF_COOKIE, csrf.tokenFor(record.tokenHash), {
          ...cookieBase,
          httpOnly: false,
          maxAge,
        });
        if (wantsHtml(request)) return reply.code(303).header('location', returnTo).send();
        const org = await findOrg(db, membership.org_id);
        return reply.code(200).send({
          user: { id: user.id, email: user.email },
          org: { id: membership.org_id, name: org?.name ?? '', tier: org?.tier ?? 'free' },
          role: membership.role,
          expires_at: apiTime(record.expiresAt),
          csrf_token: csrf.tokenFor(record.tokenHash),
        });
      },
    );

    app.post(
      '/auth/logout',
      {
        config: { access: { session: true } },
        schema: { tags, summary: 'Sign out (needs the CSRF header)' },
      },
      async (request, reply) => {
        const token = request.cookies[SESSION_COOKIE];
        if (token) await deleteSession(db, token);
        reply.clearCookie(SESSION_COOKIE, cookieBase).clearCookie(CSRF_COOKIE, cookieBase);
        return reply.code(204).send();
      },
    );

    app.get(
      '/auth/session',
      {
        config: { access: { session: true } },
        schema: { tags, summary: 'The signed-in user, org and CSRF token', response: { 200: SessionInfo } },
      },
      async (request) => {
        const token = request.cookies[SESSION_COOKIE] as string;
        const session = await findSession(db, token, clock.now());
        if (!session) throw new ApiError('invalid_credential', 'The session has expired or was signed out');
        const org = await findOrg(db, session.orgId);
        return {
          user: { id: session.userId, email: session.email },
          org: { id: session.orgId, name: org?.name ?? '', tier: session.tier },
          role: session.role,
          expires_at: apiTime(session.expiresAt),
          csrf_token: csrf.tokenFor(session.tokenHash),
        };
      },
    );
  };
