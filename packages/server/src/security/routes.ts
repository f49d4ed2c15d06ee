/**
 * `GET /v1/security/report` (DESIGN §4, §5.4): the key checklist of the reference, computed on request from
 * stored keys, the rotation policy and recorded scope use. Needs `admin`; a test-mode credential gets a report
 * on test keys only. The checks and their status rules are in report.ts and docs/security-report.md.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from 'typebox';
import type { AppDeps } from '../app-deps.ts';
import { manageableModes } from '../auth/grants.ts';
import { buildSecurityReport } from './report.ts';

const ModeSchema = Type.Union([Type.Literal('live'), Type.Literal('test')]);
const Status = Type.Union([Type.Literal('pass'), Type.Literal('warn'), Type.Literal('fail')], {
  description: '`pass` when the check found nothing; otherwise `warn` or `fail` (see the docs)',
});
const Time = Type.String({ format: 'date-time' });
const MaybeTime = Type.Union([Time, Type.Null()]);

const apiKeyFields = {
  key_id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The start of the key, e.g. `ck_live_Ab12`' }),
  last4: Type.String(),
  mode: ModeSchema,
  scopes: Type.Array(Type.String(), { description: 'The scopes the key holds' }),
  created_at: Time,
  age_days: Type.Integer({ minimum: 0 }),
  expires_at: MaybeTime,
  last_used_at: MaybeTime,
  days_since_last_use: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: 'Null when the key was never used',
  }),
  action: Type.String({ description: 'What to do about this key' }),
};

const ApiKeyItem = Type.Object(apiKeyFields, { additionalProperties: false });

const LeakedKeyItem = Type.Object(
  {
    ...apiKeyFields,
    leaked_at: Type.String({ format: 'date-time', description: 'When the leak was first reported' }),
  },
  { additionalProperties: false },
);

const UnusedScopesItem = Type.Object(
  {
    ...apiKeyFields,
    used: Type.Array(Type.String(), { description: 'Scopes its requests needed in the last 30 days' }),
    suggested_scopes: Type.Array(Type.String(), { description: 'The smallest scope list covering `used`' }),
    unused: Type.Array(Type.String(), { description: 'Scopes it holds that grant more than it used' }),
  },
  { additionalProperties: false },
);

const ServiceAccountKeyItem = Type.Object(
  {
    key_id: Type.String(),
    service_account_id: Type.String(),
    service_account_name: Type.String(),
    mode: ModeSchema,
    scopes: Type.Array(Type.String(), { description: 'The account’s scope ceiling' }),
    algorithm: Type.String(),
    origin: Type.Union([Type.Literal('generated'), Type.Literal('uploaded')]),
    created_at: Time,
    age_days: Type.Integer({ minimum: 0 }),
    expires_at: MaybeTime,
    last_used_at: MaybeTime,
    action: Type.String(),
  },
  { additionalProperties: false },
);

function check<Id extends string, Item extends TSchema>(id: Id, item: Item) {
  return Type.Object({
    id: Type.Literal(id),
    status: Status,
    title: Type.String(),
    suggested_action: Type.String(),
    items: Type.Array(item),
  });
}

const SecurityReport = Type.Object({
  object: Type.Literal('security_report'),
  generated_at: Time,
  modes: Type.Array(ModeSchema, { description: 'The modes whose keys the report covers' }),
  policy: Type.Object({
    key_rotation_days: Type.Integer({ description: 'The organization’s rotation age (default 90)' }),
    unused_days: Type.Integer({ description: 'How long without use counts as unused' }),
  }),
  checks: Type.Array(
    Type.Union([
      check('keys_without_expiry', ApiKeyItem),
      check('keys_older_than_policy', ApiKeyItem),
      check('unused_keys', ApiKeyItem),
      check('unused_scopes', UnusedScopesItem),
      check('admin_keys', ApiKeyItem),
      check('leaked_keys', LeakedKeyItem),
      check('service_account_keys_older_than_policy', ServiceAccountKeyItem),
      check('service_account_keys_without_expiry', ServiceAccountKeyItem),
    ]),
  ),
});

export const securityReportRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function securityReport(app) {
    const { db, clock, usage } = deps;

    app.get(
      '/v1/security/report',
      {
        config: { access: { scope: 'admin' } },
        schema: {
          tags: ['Security'],
          summary:
            'Security report: keys without expiry, due for rotation, unused, over-scoped, admin, leaked',
          response: { 200: SecurityReport },
        },
      },
      async (request) => {
        const auth = request.auth!;
        // Usage of the last seconds may still be in memory: write it first, so the report is current. A failed
        // flush (logged by the recorder, retried later) leaves the report only seconds stale.
        await usage.flush().catch(() => {});
        return buildSecurityReport(
          db,
          { orgId: auth.orgId, modes: manageableModes(auth) },
          clock.now(),
          auth.principal.kind === 'api_key' ? { inUse: { keyId: auth.principal.id, scope: 'admin' } } : {},
        );
      },
    );
  };
