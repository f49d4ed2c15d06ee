/**
 * `/v1/organization`: the caller's org, its tier and effective rate limits, and its key policy. The policy
 * (maximum key lifetime, rotation age) is set by owners and admins; tiers only by the operator CLI.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app-deps.ts';
import { actorOf, requestOf } from '../audit/log.ts';
import { ApiError, notFound } from '../http/errors.ts';
import type { OrgsTable } from '../storage/schema.ts';
import { findOrg, rateLimitsOf, setPolicy } from './repository.ts';

const Days = Type.Union([Type.Integer({ minimum: 1, maximum: 3650 }), Type.Null()]);

/** What a reported leak of a key does (DESIGN §5.6): revoke it at once (default), or only flag it. */
const LeakedKeyAction = Type.Union([Type.Literal('revoke'), Type.Literal('notify')], {
  description:
    'What a reported leak of one of the organization’s keys does: `revoke` it at once (default), or ' +
    '`notify` only (the key is marked leaked, audited and announced, and keeps working)',
});

const Organization = Type.Object({
  id: Type.String(),
  object: Type.Literal('organization'),
  name: Type.String(),
  tier: Type.Union([Type.Literal('free'), Type.Literal('pro'), Type.Literal('enterprise')]),
  rate_limits: Type.Object({ per_minute: Type.Integer(), per_day: Type.Integer() }),
  policy: Type.Object({
    max_key_lifetime_days: Days,
    key_rotation_days: Days,
    leaked_key_action: LeakedKeyAction,
  }),
  created_at: Type.String({ format: 'date-time' }),
});

const PatchBody = Type.Object(
  {
    policy: Type.Object(
      {
        max_key_lifetime_days: Type.Optional(Days),
        key_rotation_days: Type.Optional(Days),
        leaked_key_action: Type.Optional(LeakedKeyAction),
      },
      { additionalProperties: false, minProperties: 1 },
    ),
  },
  { additionalProperties: false },
);

function present(org: OrgsTable) {
  return {
    id: org.id,
    object: 'organization' as const,
    name: org.name,
    tier: org.tier,
    rate_limits: rateLimitsOf(org),
    policy: {
      max_key_lifetime_days: org.max_key_lifetime_days,
      key_rotation_days: org.key_rotation_days,
      leaked_key_action: org.leaked_key_action,
    },
    created_at: `${org.created_at.slice(0, 19)}Z`,
  };
}

export const organizationRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function organization(app) {
    const { db, clock } = deps;
    const tags = ['Organization'];

    app.get(
      '/v1/organization',
      {
        // Every member may read their org's tier and limits; only admins change the policy.
        config: { access: { scope: 'admin', sessionRoles: ['member', 'viewer'] } },
        schema: {
          tags,
          summary: 'The organization, its tier, limits and key policy',
          response: { 200: Organization },
        },
      },
      async (request) => {
        const org = await findOrg(db, request.auth!.orgId);
        if (!org) throw notFound('organization');
        return present(org);
      },
    );

    app.patch(
      '/v1/organization',
      {
        config: { access: { scope: 'admin' } },
        schema: {
          tags,
          summary: 'Change the key policy (lifetime cap, rotation age, what a leak does)',
          body: PatchBody,
          response: { 200: Organization },
        },
      },
      async (request) => {
        const auth = request.auth!;
        // The policy governs live keys too: a sandbox (test-mode) credential must not be able to change it.
        if (auth.mode === 'test')
          throw new ApiError('forbidden', 'A test-mode credential cannot change the organization');
        const orgId = auth.orgId;
        const { policy } = request.body;
        const org = await db.transaction().execute(async (trx) => {
          const changed = await setPolicy(trx, orgId, policy, clock.now());
          if (!changed) throw notFound('organization');
          await deps.audit.record(trx, {
            orgId,
            actor: actorOf(auth),
            action: 'org.policy_changed',
            target: { kind: 'org', id: orgId },
            metadata: { policy },
            request: requestOf(request),
          });
          return changed;
        });
        return present(org);
      },
    );
  };
