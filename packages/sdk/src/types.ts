/**
 * The API's objects and parameters, named and documented. Field names are the API's own (snake_case), so
 * what you read here is what the HTTP reference and the JSON say. A contract test compares every type
 * with the server's OpenAPI document, so these cannot drift from what the server sends.
 */

export type Scope =
  | 'read:certificates'
  | 'write:certificates'
  | 'read:suppliers'
  | 'write:suppliers'
  | 'read:products'
  | 'write:products'
  | 'read:*'
  | 'write:*'
  | 'admin';

export type Mode = 'live' | 'test';

/** An ISO 8601 timestamp in UTC, e.g. `2026-11-22T10:00:00Z`. */
export type Timestamp = string;

/** Inputs that mean a moment accept a `Date`, an ISO 8601 date-time, or a plain date (`2027-01-31`). */
export type TimestampInput = string | Date;

export interface ListParams {
  /** 1–100, default 20. */
  limit?: number;
  /** The `next_cursor` of the previous page. */
  cursor?: string;
}

export interface Actor {
  kind: string;
  id: string;
}

// ---- Domain resources -------------------------------------------------------------------------------

export type SupplierStatus = 'active' | 'suspended';

export interface Supplier {
  id: string;
  object: 'supplier';
  name: string;
  /** ISO 3166-1 alpha-2, e.g. `DE`. */
  country: string;
  contact_email: string | null;
  status: SupplierStatus;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SupplierCreateParams {
  name: string;
  country: string;
  contact_email?: string | null;
  status?: SupplierStatus;
}

export type SupplierUpdateParams = Partial<SupplierCreateParams>;

export interface SupplierListParams extends ListParams {
  status?: SupplierStatus;
}

export interface Product {
  id: string;
  object: 'product';
  name: string;
  sku: string;
  supplier_id: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ProductCreateParams {
  name: string;
  sku: string;
  supplier_id: string;
}

export type ProductUpdateParams = Partial<ProductCreateParams>;

export interface ProductListParams extends ListParams {
  supplier_id?: string;
}

/** `expired` is derived from `expires_at`; only `valid` and `revoked` can be set. */
export type CertificateStatus = 'valid' | 'expired' | 'revoked';

export interface Certificate {
  id: string;
  object: 'certificate';
  /** e.g. `ISO 9001`. */
  standard: string;
  number: string;
  issuer: string;
  supplier_id: string;
  product_ids: string[];
  issued_at: Timestamp;
  expires_at: Timestamp;
  status: CertificateStatus;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CertificateCreateParams {
  standard: string;
  number: string;
  issuer: string;
  supplier_id: string;
  product_ids?: string[];
  issued_at: TimestampInput;
  /** A plain date means the end of that day (UTC). */
  expires_at: TimestampInput;
  status?: 'valid' | 'revoked';
}

export type CertificateUpdateParams = Partial<CertificateCreateParams>;

export interface CertificateListParams extends ListParams {
  supplier_id?: string;
  status?: CertificateStatus;
  expires_before?: TimestampInput;
}

// ---- API keys -----------------------------------------------------------------------------------------

export type ApiKeyStatus = 'active' | 'expired' | 'revoked';
export type ApiKeyRevokedReason = 'requested' | 'leaked';

export interface ApiKey {
  id: string;
  object: 'api_key';
  name: string;
  /** The start of the key, e.g. `ck_live_Ab12`. */
  prefix: string;
  last4: string;
  scopes: string[];
  mode: Mode;
  status: ApiKeyStatus;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  /** Why it was revoked: by someone who manages it (`requested`), or by the server on a reported leak. */
  revoked_reason: ApiKeyRevokedReason | null;
  /** When a leak of the key was first reported (GitHub secret scanning or `/v1/credentials/revoke`). */
  leaked_at: Timestamp | null;
  rate_limit_per_minute: number | null;
  /** The key this one replaced by a roll. */
  rolled_from: string | null;
  /** The key a roll replaced this one with (a key is rolled at most once). */
  replaced_by: string | null;
  created_by: Actor;
}

/** A new key: the only time the API returns the key itself. Store it now. */
export interface ApiKeyWithSecret extends ApiKey {
  key: string;
}

export interface ApiKeyCreateParams {
  name: string;
  scopes: Scope[];
  mode?: Mode;
  /** Give one of `expires_at` and `expires_in_days`, or neither for a key that never expires. */
  expires_at?: TimestampInput;
  expires_in_days?: number;
  /** A per-key limit below the organization's. */
  rate_limit_per_minute?: number;
}

export interface ApiKeyListParams extends ListParams {
  mode?: Mode;
}

export interface ApiKeyRollParams {
  /** How long the old key keeps working, 0 allowed. Default 24 h. */
  grace_period_seconds?: number;
  /** The new key's scopes: a subset of the old key's (a roll never widens). Default: the same. */
  scopes?: Scope[];
  /** The new key's expiry (one of the two); default: the old key's lifetime length. */
  expires_at?: TimestampInput;
  expires_in_days?: number;
}

export interface UsageDay {
  /** `YYYY-MM-DD` (UTC). */
  date: string;
  requests: number;
  /** Responses ≥ 400 other than 429. */
  errors: number;
  rate_limited: number;
}

export interface ApiKeyUsage {
  data: UsageDay[];
}

/** One rate-limit window of the organization, as it stood after the request that asked. */
export interface UsageWindow {
  limit: number;
  /** Requests left in the window. */
  remaining: number;
  /** When the window starts again. */
  reset: Timestamp;
}

/** `GET /v1/usage`: the organization's daily traffic in one mode (every credential), and its standing now. */
export interface OrganizationUsage {
  object: 'usage';
  mode: Mode;
  /** One entry per UTC day, oldest first, today last. */
  data: UsageDay[];
  rate_limits: { per_minute: number; per_day: number };
  current: { minute: UsageWindow; day: UsageWindow };
}

// ---- Service accounts ---------------------------------------------------------------------------------

export interface ServiceAccountObject {
  id: string;
  object: 'service_account';
  name: string;
  /** The ceiling: a token of this account can claim these scopes and no more. */
  scopes: string[];
  mode: Mode;
  created_at: Timestamp;
  created_by: Actor;
}

export interface ServiceAccountCreateParams {
  name: string;
  scopes: Scope[];
  mode?: Mode;
}

export type ServiceAccountKeyAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

export interface ServiceAccountKey {
  id: string;
  object: 'service_account_key';
  service_account_id: string;
  algorithm: ServiceAccountKeyAlgorithm;
  origin: 'generated' | 'uploaded';
  /** SPKI PEM. */
  public_key: string;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

/** `service-account.json`: returned once when the server generates a key pair. Keep it secret. */
export interface ServiceAccountFile {
  type: 'service_account';
  service_account_id: string;
  org_id: string;
  private_key_id: string;
  /** PKCS#8 PEM. */
  private_key: string;
  algorithm: ServiceAccountKeyAlgorithm;
  issuer: string;
  audience: string;
  api_base_url: string;
}

/**
 * A service-account key's lifetime, as for API keys: one of the two, or neither for a key that never expires
 * (the security report's `service_account_keys_without_expiry` lists it). Under the organization's
 * `max_key_lifetime_days` an expiry within it is required (a `ValidationError` otherwise).
 */
export interface ServiceAccountKeyExpiry {
  expires_at?: TimestampInput;
  expires_in_days?: number;
}

/** Register a public key you generated yourself (the private key never leaves your side). */
export interface ServiceAccountKeyUploadParams extends ServiceAccountKeyExpiry {
  /** SPKI PEM. */
  public_key: string;
  algorithm?: ServiceAccountKeyAlgorithm;
}

// ---- OAuth clients ------------------------------------------------------------------------------------

export type OAuthClientType = 'confidential' | 'public';

export interface OAuthClient {
  id: string;
  object: 'oauth_client';
  /** The `client_id` of the authorization flow. */
  client_id: string;
  name: string;
  client_type: OAuthClientType;
  redirect_uris: string[];
  /**
   * Registered redirect URIs that break the rules (apps registered before them): authorization requests
   * that use them are refused. Empty for a healthy app.
   */
  redirect_uri_problems: OAuthRedirectUriProblem[];
  scopes: string[];
  mode: Mode;
  secret_last4: string | null;
  /** After a rotation, when the previous secret stops working. */
  previous_secret_expires_at: Timestamp | null;
  created_at: Timestamp;
  created_by: Actor;
}

/** One registered redirect URI the server refuses, and why, in words (with what to do). */
export interface OAuthRedirectUriProblem {
  redirect_uri: string;
  problem: string;
}

/** A client as created or after a secret rotation: `client_secret` is shown this once (null for public). */
export interface OAuthClientWithSecret extends OAuthClient {
  client_secret: string | null;
}

export interface OAuthClientCreateParams {
  name: string;
  redirect_uris: string[];
  client_type: OAuthClientType;
  scopes: Scope[];
  mode?: Mode;
}

/**
 * What `oauthClients.update` may change; give at least one. `redirect_uris` and `scopes` replace the lists.
 * Narrowing `scopes` ends every authorization that holds a scope beyond the new ones (its tokens stop
 * working); those users are asked for consent again.
 */
export interface OAuthClientUpdateParams {
  name?: string;
  redirect_uris?: string[];
  scopes?: Scope[];
}

export interface OAuthClientRotateSecretParams {
  /** How long the previous secret keeps working. */
  grace_period_seconds?: number;
}

// ---- Audit --------------------------------------------------------------------------------------------

export interface AuditEvent {
  id: string;
  object: 'audit_event';
  at: Timestamp;
  org_id: string;
  actor: Actor;
  /** e.g. `api_key.created`; the catalogue is in docs/audit.md. */
  action: string;
  target: Actor | null;
  result: 'success' | 'failure';
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  metadata: Record<string, unknown>;
  /** Position in the organization's tamper-evident chain. */
  seq: number;
}

export interface AuditEventFilters {
  action?: string;
  actor_id?: string;
  target_id?: string;
  result?: 'success' | 'failure';
  since?: TimestampInput;
  /** Inclusive, to the second. */
  until?: TimestampInput;
}

export interface AuditEventListParams extends ListParams, AuditEventFilters {}

/** Why a verification failed (docs/audit.md, Tamper evidence). */
export type AuditVerificationReason =
  | 'head_missing'
  | 'head_unauthenticated'
  | 'purge_marker_unauthenticated'
  | 'head_behind_digest'
  | 'event_before_purge_marker'
  | 'event_invalid'
  | 'digest_hash_mismatch'
  | 'head_mismatch';

export interface AuditVerifyParams {
  /**
   * A signed digest you kept (an `audit_digest` log line's `digest`): the log must still hold everything
   * it covers. One that this server did not sign for your organization is a `ValidationError`
   * (`invalid_audit_digest`).
   */
  digest?: string;
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  /** The first event that fails verification, or `head` when the chain's head row is at fault. */
  first_bad: string | null;
  /** Why `ok` is false; null when it is true. */
  reason: AuditVerificationReason | null;
  /** Where the chain ends: the newest `seq` (0 when there are no events). It never goes down. */
  head_seq: number;
  /** The digest checked against, when one was given. */
  digest: { seq: number; issued_at: string } | null;
}

// ---- Organization and security ------------------------------------------------------------------------

export interface OrganizationPolicy {
  max_key_lifetime_days: number | null;
  key_rotation_days: number | null;
  /** What a reported leak of a key does: revoke it at once (default), or only flag it. */
  leaked_key_action: 'revoke' | 'notify';
}

export interface Organization {
  id: string;
  object: 'organization';
  name: string;
  tier: 'free' | 'pro' | 'enterprise';
  rate_limits: { per_minute: number; per_day: number };
  policy: OrganizationPolicy;
  created_at: Timestamp;
}

export interface OrganizationUpdateParams {
  policy: Partial<OrganizationPolicy>;
}

// ---- Team (docs/team.md) -------------------------------------------------------------------------------

/** owner and admin hold `admin` (only owners manage owners); member: `read:*` `write:*`; viewer: `read:*`. */
export type Role = 'owner' | 'admin' | 'member' | 'viewer';

export interface Member {
  object: 'member';
  user_id: string;
  email: string;
  role: Role;
  joined_at: Timestamp;
}

export interface MemberUpdateParams {
  role: Role;
}

export interface Invitation {
  id: string;
  object: 'invitation';
  email: string;
  role: Role;
  created_at: Timestamp;
  expires_at: Timestamp;
  /** `expired` once past `expires_at`: it can no longer be accepted. */
  status: 'pending' | 'expired';
  invited_by: { kind: string; id: string };
}

export interface InvitationCreateParams {
  email: string;
  role: Role;
}

/** The answer of `invitations.create`: the single-use link is in it once. */
export interface InvitationWithLink extends Invitation {
  accept_url: string;
}

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface SecurityKeyItem {
  key_id: string;
  name: string;
  prefix: string;
  last4: string;
  mode: Mode;
  scopes: string[];
  created_at: Timestamp;
  age_days: number;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  days_since_last_use: number | null;
  /** What to do about it, in words. */
  action: string;
}

export interface LeakedKeyItem extends SecurityKeyItem {
  /** When a leak of the key was first reported. */
  leaked_at: Timestamp;
}

export interface UnusedScopesItem extends SecurityKeyItem {
  used: string[];
  unused: string[];
  /** The smaller set the key could have. */
  suggested_scopes: string[];
}

export interface ServiceAccountKeyItem {
  key_id: string;
  service_account_id: string;
  service_account_name: string;
  mode: Mode;
  scopes: string[];
  algorithm: string;
  origin: 'generated' | 'uploaded';
  created_at: Timestamp;
  age_days: number;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  action: string;
}

interface Check<Id extends string, Item> {
  id: Id;
  status: CheckStatus;
  title: string;
  suggested_action: string;
  items: Item[];
}

/** One member per check id (distributed), so `check.id` narrows `check.items`. */
type KeyCheck<Id extends string> = Id extends string ? Check<Id, SecurityKeyItem> : never;
type ServiceAccountKeyCheck<Id extends string> = Id extends string ? Check<Id, ServiceAccountKeyItem> : never;

export type SecurityCheck =
  | KeyCheck<'keys_without_expiry' | 'keys_older_than_policy' | 'unused_keys' | 'admin_keys'>
  | Check<'unused_scopes', UnusedScopesItem>
  | Check<'leaked_keys', LeakedKeyItem>
  | ServiceAccountKeyCheck<'service_account_keys_older_than_policy' | 'service_account_keys_without_expiry'>;

export interface SecurityReport {
  object: 'security_report';
  generated_at: Timestamp;
  modes: Mode[];
  policy: { key_rotation_days: number; unused_days: number };
  checks: SecurityCheck[];
}

/** `GET /health` with a credential: who the credential is. */
export interface CredentialInfo {
  kind: string;
  id: string;
  org_id: string;
  mode: Mode;
  scopes: string[];
  expires_at: Timestamp | null;
  /** For an OAuth access token: the app. */
  client_id?: string;
}

// ---- Webhooks -----------------------------------------------------------------------------------------

/** Every event Cohera sends (docs/webhooks.md describes each); a test keeps this list equal to the server's. */
export type WebhookEventType =
  | 'certificate.created'
  | 'certificate.updated'
  | 'certificate.revoked'
  | 'certificate.deleted'
  | 'certificate.expiring'
  | 'certificate.expired'
  | 'supplier.created'
  | 'supplier.updated'
  | 'supplier.deleted'
  | 'product.created'
  | 'product.updated'
  | 'product.deleted'
  | 'api_key.created'
  | 'api_key.rolled'
  | 'api_key.revoked'
  | 'api_key.expired'
  | 'api_key.leaked'
  | 'api_key.expiring'
  | 'service_account.created'
  | 'service_account.deleted'
  | 'service_account.key_created'
  | 'service_account.key_deleted'
  | 'oauth_client.created'
  | 'oauth_client.deleted'
  | 'oauth_client.secret_rotated'
  | 'oauth.authorization_revoked'
  | 'rate_limit.exceeded'
  | 'webhook_endpoint.disabled'
  | 'webhook.test';

/** What an endpoint subscribes to: event types, or `'*'` for every event of its mode. */
export type WebhookEventFilter = WebhookEventType | '*';

/** Why an endpoint is disabled: by hand, the receiver answered 410 Gone, or its deliveries failed for 5 days. */
export type WebhookEndpointDisabledReason = 'manual' | 'gone' | 'failing';

export interface WebhookEndpoint {
  id: string;
  object: 'webhook_endpoint';
  url: string;
  events: WebhookEventFilter[];
  description: string;
  /** An endpoint receives the events of its own mode only. */
  mode: Mode;
  status: 'enabled' | 'disabled';
  disabled_reason: WebhookEndpointDisabledReason | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** An endpoint as created: `secret` (`whsec_…`, for `new Webhooks(secret)`) is shown this once. */
export interface WebhookEndpointWithSecret extends WebhookEndpoint {
  secret: string;
}

export interface WebhookEndpointCreateParams {
  /** `https://` (plain `http://` and private addresses only on a server that allows them, for development). */
  url: string;
  events: WebhookEventFilter[];
  description?: string;
}

export interface WebhookEndpointUpdateParams {
  url?: string;
  events?: WebhookEventFilter[];
  description?: string;
  /** `enabled` on a disabled endpoint also replays its failed deliveries, oldest first. */
  status?: 'enabled' | 'disabled';
}

export interface WebhookEndpointRotateSecretParams {
  /** How long the previous secret keeps signing too (both signatures are sent): default 86 400, at most 604 800, 0 ends it now. */
  grace_period_seconds?: number;
}

/** The new secret, shown this once. */
export interface WebhookEndpointSecret {
  secret: string;
}

/** A message queued for sending (`test`). */
export interface WebhookMessageQueued {
  message_id: string;
}

/** One message's delivery to one endpoint. */
export interface WebhookDelivery {
  /** The message id (`msg_…`), also the `webhook-id` header: the same on every attempt. */
  id: string;
  event_type: WebhookEventType;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  last_attempt_at: Timestamp | null;
  next_attempt_at: Timestamp | null;
  last_response_status: number | null;
  /** The first 1 KB of the last response's body. */
  last_response_body: string | null;
  last_duration_ms: number | null;
  /** Why the last attempt failed when there was no response (a timeout, a refused address, …). */
  last_error: string | null;
  created_at: Timestamp;
}

export interface WebhookRecoverParams {
  /** Replays the endpoint's failed deliveries of messages created since then, oldest first. */
  since: TimestampInput;
}

export interface WebhookRecoverResult {
  requeued: number;
}

/**
 * An event as `GET /v1/events` lists it: the organization's events of the last 30 days. A union over the
 * types, so checking `event.type` narrows `event.data`.
 */
export type CoheraEvent<T extends WebhookEventType = WebhookEventType> = T extends WebhookEventType
  ? {
      /** The message id (`msg_…`), the `id` and `webhook-id` of its deliveries. */
      id: string;
      object: 'event';
      type: T;
      mode: Mode;
      data: WebhookEventDataMap[T];
      created_at: Timestamp;
    }
  : never;

export interface CoheraEventListParams extends ListParams {
  type?: WebhookEventType;
}

/** The `data` of `rate_limit.exceeded`. */
export interface RateLimitExceeded {
  object: 'rate_limit';
  mode: Mode;
  /** `minute` or `day` (the organization's limits), or `key-minute` (an API key's own limit). */
  window: string;
  /** The API key whose own limit it is (`key-minute`), else null. */
  key_id: string | null;
  limit: number;
  window_start: Timestamp;
  resets_at: Timestamp;
}

/** An API key reported as leaked, and who reported it. */
export interface LeakedApiKey extends ApiKey {
  leak: { source: string; url: string | null };
}

/**
 * The `data` of each event type: the object as the API shows it (never with a secret). Types whose data
 * has no SDK model yet are plain records.
 */
export interface WebhookEventDataMap {
  'certificate.created': Certificate;
  'certificate.updated': Certificate;
  'certificate.revoked': Certificate;
  'certificate.deleted': Certificate;
  'certificate.expiring': Certificate;
  'certificate.expired': Certificate;
  'supplier.created': Supplier;
  'supplier.updated': Supplier;
  'supplier.deleted': Supplier;
  'product.created': Product;
  'product.updated': Product;
  'product.deleted': Product;
  'api_key.created': ApiKey;
  'api_key.rolled': ApiKey;
  'api_key.revoked': ApiKey;
  'api_key.expired': ApiKey;
  'api_key.leaked': LeakedApiKey;
  'api_key.expiring': ApiKey;
  'service_account.created': ServiceAccountObject;
  'service_account.deleted': ServiceAccountObject;
  'service_account.key_created': ServiceAccountKey;
  'service_account.key_deleted': ServiceAccountKey;
  'oauth_client.created': OAuthClient;
  'oauth_client.deleted': OAuthClient;
  'oauth_client.secret_rotated': OAuthClient;
  'oauth.authorization_revoked': Record<string, unknown>;
  'rate_limit.exceeded': RateLimitExceeded;
  'webhook_endpoint.disabled': WebhookEndpoint;
  'webhook.test': WebhookTestData;
}

/** The `data` of `webhook.test`. */
export interface WebhookTestData {
  message: string;
  webhook_endpoint_id: string;
}
