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

export type SecurityCheck =
  | KeyCheck<'keys_without_expiry' | 'keys_older_than_policy' | 'unused_keys' | 'admin_keys'>
  | Check<'unused_scopes', UnusedScopesItem>
  | Check<'service_account_keys_older_than_policy', ServiceAccountKeyItem>;

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
