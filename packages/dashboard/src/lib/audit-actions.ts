/**
 * The audit actions the server records, for the Audit log's action filter (a `<datalist>`). A copy of the
 * keys of `AUDIT_ACTIONS` in packages/server/src/audit/actions.ts, so the dashboard bundles nothing of the
 * server: test/audit-actions.test.ts checks that the two are the same set, so this list cannot drift.
 */
export const AUDIT_ACTION_NAMES = [
  'org.created',
  'org.tier_changed',
  'org.policy_changed',
  'user.login',
  'user.login_failed',
  'auth.failed',
  'rate_limit.exceeded',
  'api_key.created',
  'api_key.rolled',
  'api_key.revoked',
  'api_key.leaked',
  'service_account.created',
  'service_account.deleted',
  'service_account.key_added',
  'service_account.key_removed',
  'oauth.client_created',
  'oauth.client_deleted',
  'oauth.client_secret_rotated',
  'oauth.client_updated',
  'oauth.consent_granted',
  'oauth.consent_denied',
  'oauth.consent_revoked',
  'oauth.token_issued',
  'oauth.token_revoked',
  'oauth.access_token_revoked',
  'oauth.refresh_reuse_detected',
  'oauth.code_replay_detected',
  'webhook_endpoint.created',
  'webhook_endpoint.updated',
  'webhook_endpoint.deleted',
  'webhook_endpoint.secret_rotated',
  'webhook_endpoint.disabled',
  'invitation.created',
  'invitation.revoked',
  'invitation.accepted',
  'member.role_changed',
  'member.removed',
  'api.request',
  'audit.events_dropped',
  'audit.chain_resealed',
] as const;

export type AuditActionName = (typeof AUDIT_ACTION_NAMES)[number];

/**
 * The prefixes the server also accepts as a filter (`api_key.` matches every action about API keys), in
 * the order their kinds first appear.
 */
export const AUDIT_ACTION_PREFIXES: string[] = [
  ...new Set(AUDIT_ACTION_NAMES.map((name) => `${name.slice(0, name.indexOf('.'))}.`)),
];
