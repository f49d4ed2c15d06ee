/**
 * Accepting an invitation (docs/team.md#accepting-an-invitation): `GET /invitations/accept?token=…` shows
 * the page, `POST /invitations/accept` (a form post from it) joins the org and signs the person in to that
 * org, then sends them to the dashboard.
 *
 * The checks, in order: the post comes from our own page (Origin, like sign-in: no login CSRF); the IP is not
 * blocked for guessing (an unknown token counts as a failed authentication, so links cannot be guessed at
 * speed — they are 256-bit anyway); the invitation is pending and unexpired; the person proves who they are
 * (an existing account's password, through the sign-in throttle; or a new password); then one transaction
 * claims the invitation (a conditional UPDATE: single use even under concurrent accepts), creates the user
 * if new, adds the membership, records `invitation.accepted` and starts the session.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app-deps.ts';
import { requestOf } from '../audit/log.ts';
import {
  CSRF_COOKIE,
  createSession,
  deleteSession,
  SESSION_COOKIE,
  SESSION_TTL_MS,
} from '../auth/sessions/store.ts';
import { ApiError } from '../http/errors.ts';
import { sendHtml } from '../http/html-page.ts';
import { findOrg } from '../orgs/repository.ts';
import { isUniqueViolation } from '../storage/database.ts';
import type { InvitationsTable } from '../storage/schema.ts';
import { PasswordHashingBusy } from '../users/password-hasher.ts';
import { addMembership, findUserByEmail, insertUser } from '../users/repository.ts';
import { acceptPage, acceptProblemPage, MAX_PASSWORD_LENGTH, passwordProblem } from './accept-page.ts';
import { claimInvitation, findInvitationByToken, invitationProblem } from './invitations-repository.ts';

const AcceptBody = Type.Object(
  {
    token: Type.String({ maxLength: 128 }),
    email: Type.Optional(Type.String({ maxLength: 254 })),
    password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }),
    password_confirmation: Type.Optional(Type.String({ maxLength: MAX_PASSWORD_LENGTH })),
  },
  { additionalProperties: false },
);

/** Where a person lands once they joined. */
const DASHBOARD = '/dashboard/';

export const invitationAcceptRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function invitationAccept(app) {
    const { db, clock, config, csrf } = deps;
    const secure = config.publicUrl.startsWith('https://');
    const publicOrigin = new URL(config.publicUrl).origin;
    const cookieBase = { path: '/', sameSite: 'lax' as const, secure };
    const tags = ['Team'];
    await app.register(formbody, { bodyLimit: 64 * 1024 });
    await app.register(cookie);

    /**
     * Every page here: the link's token is in this URL, so no Referer may carry it to another site.
     * `same-origin` rather than `no-referrer`: under `no-referrer` the browser sends `Origin: null` with the
     * page's own form post, which the Origin check below must refuse.
     */
    function page(reply: FastifyReply, status: number, html: string) {
      reply.header('referrer-policy', 'same-origin');
      return sendHtml(reply, status, html);
    }

    /** A dead-end page; an unknown token is a failed authentication of this IP (guessing is throttled). */
    async function problem(request: FastifyRequest, reply: FastifyReply, row: InvitationsTable | null) {
      const message = invitationProblem(row, clock.now()) ?? 'This invitation cannot be used.';
      if (!row) {
        await deps.authFailures.recordFailure(request.ip);
        request.log.info({ event: 'invitation_unknown' }, 'an unknown invitation link was presented');
      }
      return page(reply, row ? 410 : 404, acceptProblemPage(message));
    }

    function blocked(request: FastifyRequest, reply: FastifyReply) {
      const refusal = deps.authFailures.blocked(request.ip);
      if (!refusal) return null;
      reply.headers(refusal.headers ?? {});
      return page(
        reply,
        429,
        acceptProblemPage(
          'Too many invalid invitation links from your network. Wait a minute and try again.',
        ),
      );
    }

    async function form(
      reply: FastifyReply,
      status: number,
      row: InvitationsTable,
      token: string,
      error?: string,
    ) {
      const org = await findOrg(db, row.org_id);
      const existing = await findUserByEmail(db, row.email);
      return page(
        reply,
        status,
        acceptPage({
          token,
          email: row.email,
          orgName: org?.name ?? 'the organization',
          role: row.role,
          existingUser: existing !== null,
          ...(error ? { error } : {}),
        }),
      );
    }

    app.get(
      '/invitations/accept',
      {
        config: { access: { public: true } },
        schema: {
          tags,
          summary: 'The page of an invitation link',
          querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 128 })) }),
        },
      },
      async (request, reply) => {
        const stop = blocked(request, reply);
        if (stop) return stop;
        const token = request.query.token ?? '';
        const row = await findInvitationByToken(db, token);
        if (invitationProblem(row, clock.now()) || !row) return problem(request, reply, row);
        return form(reply, 200, row, token);
      },
    );

    app.post(
      '/invitations/accept',
      {
        config: { access: { public: true } },
        schema: { tags, summary: 'Accept an invitation (the form of its page)', body: AcceptBody },
      },
      async (request, reply) => {
        // Like sign-in: a browser always sends Origin on a cross-site POST; refuse any that is not ours.
        const origin = request.headers.origin;
        if (origin !== undefined && origin !== publicOrigin) {
          throw new ApiError('csrf_failed', 'An invitation must be accepted from this server’s own page');
        }
        const stop = blocked(request, reply);
        if (stop) return stop;
        const { token, password, password_confirmation: confirmation } = request.body;
        const row = await findInvitationByToken(db, token);
        if (invitationProblem(row, clock.now()) || !row) return problem(request, reply, row);

        const existing = await findUserByEmail(db, row.email);
        let passwordHash: string | null = null;
        try {
          if (existing) {
            const attempt = await deps.loginThrottle.reserve(request.ip, row.email);
            if (!(await deps.passwords.verify(existing.password_hash, password))) {
              return form(reply, 401, row, token, 'That is not the password of this account.');
            }
            await attempt.release();
          } else {
            const refused = passwordProblem(password, confirmation, row.email);
            if (refused) return form(reply, 400, row, token, refused);
            passwordHash = await deps.passwords.hash(password);
          }
        } catch (error) {
          if (error instanceof PasswordHashingBusy) {
            reply.header('retry-after', '1');
            return form(reply, 503, row, token, 'The server is busy; try again in a second.');
          }
          if (error instanceof ApiError && error.code === 'rate_limited') {
            reply.headers(error.headers ?? {});
            return form(reply, 429, row, token, 'Too many attempts. Wait a few minutes and try again.');
          }
          throw error;
        }

        const now = clock.now();
        let joined: { userId: string; session: Awaited<ReturnType<typeof createSession>> } | null;
        try {
          joined = await db.transaction().execute(async (trx) => {
            if (!(await claimInvitation(trx, row.id, existing?.id ?? '', now))) return null;
            const userId =
              existing?.id ??
              (await insertUser(trx, { email: row.email, passwordHash: passwordHash ?? '' }, now)).id;
            await trx
              .updateTable('invitations')
              .set({ accepted_by: userId })
              .where('id', '=', row.id)
              .execute();
            await addMembership(trx, { orgId: row.org_id, userId, role: row.role }, now);
            const session = await createSession(
              trx,
              { userId, orgId: row.org_id, ip: request.ip, userAgent: request.headers['user-agent'] ?? null },
              now,
            );
            await deps.audit.record(trx, {
              orgId: row.org_id,
              actor: { kind: 'user', id: userId },
              action: 'invitation.accepted',
              target: { kind: 'invitation', id: row.id },
              metadata: { email: row.email, role: row.role, new_user: existing === null },
              request: requestOf(request),
            });
            return { userId, session };
          });
        } catch (error) {
          // The account was created, or the person added to the org, by another request meanwhile.
          if (!isUniqueViolation(error)) throw error;
          joined = null;
        }
        if (!joined) {
          return page(
            reply,
            410,
            acceptProblemPage('This invitation has already been used. Sign in to continue.'),
          );
        }
        const previous = request.cookies[SESSION_COOKIE];
        if (previous) await deleteSession(db, previous); // never keep a session from before this sign-in
        const maxAge = Math.floor(SESSION_TTL_MS / 1000);
        reply.setCookie(SESSION_COOKIE, joined.session.token, { ...cookieBase, httpOnly: true, maxAge });
        reply.setCookie(CSRF_COOKIE, csrf.tokenFor(joined.session.record.tokenHash), {
          ...cookieBase,
          httpOnly: false,
          maxAge,
        });
        reply.header('referrer-policy', 'same-origin');
        return reply.code(303).header('location', DASHBOARD).send();
      },
    );
  };
