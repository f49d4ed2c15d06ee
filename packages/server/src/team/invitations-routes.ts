/**
 * `/v1/organization/invitations` (DESIGN §4 Team, docs/team.md#invitations): invite someone by e-mail with a
 * role, list the pending invitations, revoke one. The answer to an invitation carries its `accept_url` once
 * (the link is a credential: only its hash is kept), and the same link goes to the e-mail outbox, so a team
 * works whether or not SMTP is configured. Only an owner may invite an owner.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app-deps.ts';
import { actorOf, requestOf } from '../audit/log.ts';
import type { RouteAccess } from '../auth/context.ts';
import { isoAt } from '../clock.ts';
import { ApiError, invalidField, notFound } from '../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../http/pagination.ts';
import { findOrg } from '../orgs/repository.ts';
import { IdParams, requireIdShape } from '../resources/common.ts';
import { isUniqueViolation } from '../storage/database.ts';
import { normalizeEmail } from '../users/repository.ts';
import { createInvitation, listPendingInvitations, revokeInvitation } from './invitations-repository.ts';
import { queueInvitation } from './notices.ts';
import { Invitation, presentInvitation, RoleSchema } from './present.ts';
import { requireOwnerFor } from './roles.ts';

const ACCESS: RouteAccess = { scope: 'admin' };
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const CreateBody = Type.Object(
  { email: Type.String({ minLength: 3, maxLength: 254 }), role: RoleSchema },
  { additionalProperties: false },
);
const CreatedInvitation = Type.Intersect([
  Invitation,
  Type.Object({
    accept_url: Type.String({
      description:
        'The single-use link that accepts the invitation. Shown only in this answer (and e-mailed).',
    }),
  }),
]);

/** Where the invitee accepts: the token rides in the query, which the server never logs. */
export function acceptUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/$/, '')}/invitations/accept?token=${token}`;
}

export const invitationRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function invitations(app) {
    const { db, clock, audit, config } = deps;
    const tags = ['Team'];

    app.post(
      '/v1/organization/invitations',
      {
        config: { access: ACCESS, secretFields: ['accept_url'] },
        schema: {
          tags,
          summary: 'Invite a person by e-mail with a role (replaces a pending invitation to the same e-mail)',
          body: CreateBody,
          response: { 201: CreatedInvitation },
        },
      },
      async (request, reply) => {
        const auth = request.auth!;
        const email = normalizeEmail(request.body.email);
        if (!EMAIL.test(email)) throw invalidField('body/email', 'must be an e-mail address');
        const { role } = request.body;
        await requireOwnerFor(db, auth, role === 'owner', 'invite an owner');
        const member = await db
          .selectFrom('memberships')
          .innerJoin('users', 'users.id', 'memberships.user_id')
          .select('users.id')
          .where('memberships.org_id', '=', auth.orgId)
          .where('users.email', '=', email)
          .executeTakeFirst();
        if (member) {
          throw new ApiError(
            'already_member',
            `${email} is already a member of this organization: change their role instead`,
          );
        }
        const org = await findOrg(db, auth.orgId);
        const now = clock.now();
        let created: Awaited<ReturnType<typeof createInvitation>>;
        try {
          created = await db.transaction().execute(async (trx) => {
            const result = await createInvitation(
              trx,
              { orgId: auth.orgId, email, role, invitedBy: actorOf(auth) },
              now,
            );
            await audit.record(trx, {
              orgId: auth.orgId,
              actor: actorOf(auth),
              action: 'invitation.created',
              target: { kind: 'invitation', id: result.row.id },
              metadata: { email, role, expires_at: result.row.expires_at, replaced: result.replaced },
              request: requestOf(request),
            });
            await queueInvitation(
              {
                trx,
                now,
                log: request.log,
                smtpConfigured: deps.email.configured,
                orgId: auth.orgId,
                orgName: org?.name ?? 'an organization',
              },
              result.row,
              acceptUrl(config.publicUrl, result.token),
              result.token,
            );
            return result;
          });
        } catch (error) {
          // Two invitations to one e-mail at the same moment: the UNIQUE pending index lets one through.
          if (isUniqueViolation(error)) {
            throw new ApiError(
              'conflict',
              `An invitation to ${email} is being created right now; list them and retry`,
            );
          }
          throw error;
        }
        deps.email.wake();
        return reply.code(201).send({
          ...presentInvitation(created.row, isoAt(now)),
          accept_url: acceptUrl(config.publicUrl, created.token),
        });
      },
    );

    app.get(
      '/v1/organization/invitations',
      {
        config: { access: ACCESS },
        schema: {
          tags,
          summary: 'List pending invitations, newest first (expired ones until replaced or revoked)',
          querystring: Type.Object(PaginationQuery, { additionalProperties: false }),
          response: { 200: ListEnvelope(Invitation) },
        },
      },
      async (request) => {
        const { limit = 20, cursor } = request.query;
        const rows = await listPendingInvitations(db, request.auth!.orgId, {
          limit,
          after: decodeCursor(cursor, 'inv'),
        });
        const nowIso = isoAt(clock.now());
        return pageOf(rows, limit, (row) => presentInvitation(row, nowIso));
      },
    );

    app.delete(
      '/v1/organization/invitations/:id',
      {
        config: { access: ACCESS },
        schema: { tags, summary: 'Revoke a pending invitation: its link stops working', params: IdParams },
      },
      async (request, reply) => {
        const auth = request.auth!;
        requireIdShape('invitation', request.params.id, 'invitation');
        const now = clock.now();
        await db.transaction().execute(async (trx) => {
          const revoked = await revokeInvitation(trx, auth.orgId, request.params.id, now);
          if (!revoked) throw notFound('invitation');
          await audit.record(trx, {
            orgId: auth.orgId,
            actor: actorOf(auth),
            action: 'invitation.revoked',
            target: { kind: 'invitation', id: revoked.id },
            metadata: { email: revoked.email, role: revoked.role },
            request: requestOf(request),
          });
        });
        return reply.code(204).send();
      },
    );
  };
