/**
 * `/v1/organization/members` (DESIGN §4 Team, docs/team.md): list the org's people, change a role, remove
 * someone. Owners and admins (sessions), or credentials with `admin`. Only an owner touches the owner role,
 * and the last owner can be neither demoted nor removed (`last_owner`). The effects on sessions, OAuth tokens
 * and API keys on every node are users/memberships.ts's; this file adds the checks, the audit events and
 * the notices.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app-deps.ts';
import { actorOf, requestOf } from '../audit/log.ts';
import { presentApiKey } from '../auth/api-keys/present.ts';
import type { RouteAccess } from '../auth/context.ts';
import { ApiError, notFound } from '../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../http/pagination.ts';
import { findOrg } from '../orgs/repository.ts';
import { requireIdShape } from '../resources/common.ts';
import { changeMemberRole, LastOwnerError, removeMember } from '../users/memberships.ts';
import { emitChange } from '../webhooks/produce.ts';
import { findMember, listMembers } from './members-repository.ts';
import { type NoticeContext, queueRemoved, queueRoleChanged } from './notices.ts';
import { Member, presentMember, RoleSchema } from './present.ts';
import { requireOwnerFor } from './roles.ts';

const ACCESS: RouteAccess = { scope: 'admin' };
const UserParams = Type.Object({ user_id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
const PatchBody = Type.Object({ role: RoleSchema }, { additionalProperties: false });

function lastOwner(action: 'demoted' | 'removed'): ApiError {
  return new ApiError(
    'last_owner',
    `The organization's only owner cannot be ${action}: make another member an owner first, then try again`,
  );
}

export const memberRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function members(app) {
    const { db, clock, audit } = deps;
    const tags = ['Team'];

    /** Read before the change's transaction: on SQLite a read outside it would wait for it (one connection). */
    async function noticeContext(orgId: string): Promise<(trx: NoticeContext['trx']) => NoticeContext> {
      const org = await findOrg(db, orgId);
      return (trx) => ({
        trx,
        now: clock.now(),
        log: app.log,
        smtpConfigured: deps.email.configured,
        orgId,
        orgName: org?.name ?? 'your organization',
      });
    }

    app.get(
      '/v1/organization/members',
      {
        config: { access: ACCESS },
        schema: {
          tags,
          summary: 'List the members of the organization, newest account first',
          querystring: Type.Object(PaginationQuery, { additionalProperties: false }),
          response: { 200: ListEnvelope(Member) },
        },
      },
      async (request) => {
        const { limit = 20, cursor } = request.query;
        const rows = await listMembers(db, request.auth!.orgId, {
          limit,
          after: decodeCursor(cursor, 'usr'),
        });
        return pageOf(
          rows.map((row) => ({ ...row, id: row.user_id })),
          limit,
          presentMember,
        );
      },
    );

    app.patch(
      '/v1/organization/members/:user_id',
      {
        config: { access: ACCESS },
        schema: {
          tags,
          summary: "Change a member's role",
          params: UserParams,
          body: PatchBody,
          response: { 200: Member },
        },
      },
      async (request) => {
        const auth = request.auth!;
        const userId = request.params.user_id;
        requireIdShape('user', userId, 'member');
        const target = await findMember(db, auth.orgId, userId);
        if (!target) throw notFound('member');
        const role = request.body.role;
        const notice = await noticeContext(auth.orgId);
        await requireOwnerFor(
          db,
          auth,
          target.role === 'owner' || role === 'owner',
          'give or take the owner role',
        );
        try {
          const change = await changeMemberRole(
            deps,
            { orgId: auth.orgId, userId, role },
            async (trx, change) => {
              if (change.previousRole === change.role) return;
              await audit.record(trx, {
                orgId: auth.orgId,
                actor: actorOf(auth),
                action: 'member.role_changed',
                target: { kind: 'user', id: userId },
                metadata: { from: change.previousRole, to: change.role },
                request: requestOf(request),
              });
              await queueRoleChanged(notice(trx), target.email, change.previousRole, change.role);
            },
          );
          if (!change) throw notFound('member');
        } catch (error) {
          if (error instanceof LastOwnerError) throw lastOwner('demoted');
          throw error;
        }
        deps.email.wake();
        const updated = await findMember(db, auth.orgId, userId);
        if (!updated) throw notFound('member');
        return presentMember(updated);
      },
    );

    app.delete(
      '/v1/organization/members/:user_id',
      {
        config: { access: ACCESS },
        schema: {
          tags,
          summary: 'Remove a member: their sessions, app authorizations and API keys end on every node',
          params: UserParams,
        },
      },
      async (request, reply) => {
        const auth = request.auth!;
        const userId = request.params.user_id;
        requireIdShape('user', userId, 'member');
        const target = await findMember(db, auth.orgId, userId);
        if (!target) throw notFound('member');
        await requireOwnerFor(db, auth, target.role === 'owner', 'remove an owner');
        const notice = await noticeContext(auth.orgId);
        try {
          const removal = await removeMember(deps, { orgId: auth.orgId, userId }, async (trx, removal) => {
            const now = clock.now();
            await audit.record(trx, {
              orgId: auth.orgId,
              actor: actorOf(auth),
              action: 'member.removed',
              target: { kind: 'user', id: userId },
              metadata: {
                role: removal.role,
                sessions_ended: removal.sessionsEnded,
                authorizations_revoked: removal.authorizationsRevoked,
                api_keys_revoked: removal.apiKeysRevoked.length,
              },
              request: requestOf(request),
            });
            for (const key of removal.apiKeysRevoked) {
              await audit.record(trx, {
                orgId: auth.orgId,
                actor: actorOf(auth),
                action: 'api_key.revoked',
                target: { kind: 'api_key', id: key.id },
                metadata: { name: key.name, prefix: key.prefix, reason: 'creator_removed', user_id: userId },
                request: requestOf(request),
              });
              const presented = presentApiKey(key, now, (id, stored) => deps.usage.lastUseOf(id, stored));
              await emitChange(
                trx,
                { orgId: key.org_id, mode: key.mode },
                'api_key.revoked',
                presented,
                now,
                `api_key.revoked:${key.id}`,
              );
            }
            await queueRemoved(notice(trx), target.email);
          });
          if (!removal) throw notFound('member');
          if (removal.apiKeysRevoked.length > 0) deps.webhooks.wake();
        } catch (error) {
          if (error instanceof LastOwnerError) throw lastOwner('removed');
          throw error;
        }
        deps.email.wake();
        return reply.code(204).send();
      },
    );
  };
