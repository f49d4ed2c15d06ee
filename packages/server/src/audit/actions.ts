/**
 * The catalogue of audit actions (docs/audit.md lists the same, a test checks). An action, once published,
 * keeps its meaning; names are `<thing>.<what happened>`, past tense, so a prefix filter (`api_key.`) finds
 * everything about one kind of thing.
 */
export const AUDIT_ACTIONS = {
  'org.created': 'An organization and its owner were created (`cohera admin bootstrap`)',
  'org.tier_changed': 'The operator changed the tier or custom limits (`cohera admin set-tier`)',
  'org.policy_changed': 'The key policy (lifetime cap, rotation age) was changed',
  'user.login': 'A person signed in',
  'user.login_failed': 'A sign-in failed (unknown email or wrong password)',
  'auth.failed': 'A request presented a revoked or expired credential of the organization',
  'rate_limit.exceeded': 'A request was refused for being over a rate limit',
  'api_key.created': 'An API key was created',
  'api_key.rolled': 'An API key was rolled: a new key, the old one ending after the grace period',
  'api_key.revoked': 'An API key was revoked',
  'api_key.leaked':
    'A leak of an API key was reported (GitHub secret scanning or the public revoke endpoint); revoked by policy',
  'service_account.created': 'A service account was created',
  'service_account.deleted': 'A service account was deleted with all its keys',
  'service_account.key_added': 'A key was added to a service account (generated or uploaded)',
  'service_account.key_removed': 'A key of a service account was deleted',
  'oauth.client_created': 'An OAuth app was registered',
  'oauth.client_deleted': 'An OAuth app was deleted, revoking its authorizations',
  'oauth.client_secret_rotated': 'An OAuth app’s client secret was replaced',
  'oauth.client_updated':
    'An OAuth app’s name, redirect URIs or scopes were changed; narrowed scopes end the authorizations beyond them',
  'oauth.consent_granted': 'A person authorized an OAuth app (or widened its scopes)',
  'oauth.consent_denied': 'A person denied an OAuth app',
  'oauth.consent_revoked': 'A person revoked an OAuth app’s access',
  'oauth.token_issued': 'Tokens were issued to an OAuth app (code exchange or refresh)',
  'oauth.token_revoked': 'An OAuth app revoked its refresh token (RFC 7009), ending its authorization',
  'oauth.access_token_revoked': 'An OAuth app revoked one access token (RFC 7009); the API refuses it',
  'oauth.refresh_reuse_detected': 'A used refresh token was presented again; its authorization was revoked',
  'oauth.code_replay_detected': 'An authorization code was presented twice; what it issued was revoked',
  'webhook_endpoint.created': 'A webhook endpoint was created',
  'webhook_endpoint.updated': 'A webhook endpoint was changed (URL, events, description or status)',
  'webhook_endpoint.deleted': 'A webhook endpoint was deleted',
  'webhook_endpoint.secret_rotated': 'A webhook endpoint’s signing secret was replaced',
  'webhook_endpoint.disabled':
    'A webhook endpoint was disabled by the server: a 410 Gone, or deliveries failing for too long',
  'invitation.created':
    'A person was invited to join the organization with a role (replacing a pending invitation)',
  'invitation.revoked': 'A pending invitation was revoked',
  'invitation.accepted': 'A person accepted an invitation and joined the organization',
  'member.role_changed': 'A member’s role was changed',
  'member.removed': 'A member was removed: their sessions, app authorizations and API keys ended',
  'api.request': 'An API call (recorded according to COHERA_AUDIT_API_CALLS)',
  'audit.events_dropped': 'The audit buffer was full and events were dropped (their count is in metadata)',
  'audit.chain_resealed':
    'The operator resealed the chain’s head and purge marker (`cohera admin audit-reseal`), recording what was found',
} as const satisfies Record<string, string>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;
