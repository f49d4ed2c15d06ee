/**
 * The database schema as Kysely sees it. Timestamps are ISO 8601 UTC strings with milliseconds
 * (`2026-11-22T10:00:00.000Z`) on both engines: they sort as text, compare in SQL, and need no
 * per-dialect conversion. Scope lists are JSON text.
 */
import type { Mode } from '@cohera/shared';

export type Tier = 'free' | 'pro' | 'enterprise';
/** docs/team.md says what each role may do; `member` is the developer role (data read and write). */
export type Role = 'owner' | 'admin' | 'member' | 'viewer';

export interface OrgsTable {
  id: string;
  name: string;
  tier: Tier;
  /** Enterprise custom limits (operator-set); null means the tier's default. */
  rate_limit_per_minute: number | null;
  rate_limit_per_day: number | null;
  max_key_lifetime_days: number | null;
  key_rotation_days: number | null;
  /** What a reported leak of one of the org's keys does (migration 0012, DESIGN §5.6). */
  leaked_key_action: LeakedKeyAction;
  created_at: string;
  updated_at: string;
}

export interface UsersTable {
  id: string;
  /** Stored lower-cased; unique across the installation. */
  email: string;
  /** argon2id PHC string. */
  password_hash: string;
  created_at: string;
}

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: Role;
  created_at: string;
}

export interface SessionsTable {
  /** SHA-256 (hex) of the session token; the token itself lives only in the user's cookie. */
  token_hash: string;
  id: string;
  user_id: string;
  org_id: string;
  created_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
}

export interface ApiKeysTable {
  id: string;
  org_id: string;
  mode: Mode;
  name: string;
  /** SHA-256 (hex) of the whole key. The key itself is never stored. */
  key_hash: string;
  prefix: string;
  last4: string;
  scopes: string;
  created_by_kind: string;
  created_by_id: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
  rate_limit_per_minute: number | null;
  /** The key this one replaced in a roll. */
  rolled_from_id: string | null;
  /** The key a roll made from this one; set once, by the roll that claims this key (at most one). */
  replaced_by_id: string | null;
  /** When a leak of the key was first reported (migration 0012); later reports keep the first time. */
  leaked_at: string | null;
  /** Why the key was revoked; null while it is not. */
  revoked_reason: RevokedReason | null;
}

/**
 * Why an API key was revoked: `requested` by someone who manages it (`POST /v1/api-keys/:id/revoke`), or
 * `leaked`: the server revoked it when a leak was reported (DESIGN §5.6).
 */
export type RevokedReason = 'requested' | 'leaked';
export type LeakedKeyAction = 'revoke' | 'notify';

/** A reported leak waiting for the leak worker: only the SHA-256 of the candidate, never the string. */
export interface LeakReportsTable {
  key_hash: string;
  /** Who reported it: `public` (`POST /v1/credentials/revoke`). */
  source: string;
  /** The reporter's address and request id, for the audit event. */
  ip: string | null;
  request_id: string | null;
  received_at: string;
}

export interface ApiKeyUsageTable {
  key_id: string;
  org_id: string;
  /** UTC day, `YYYY-MM-DD`. */
  date: string;
  requests: number;
  /** Responses ≥ 400 other than 429. */
  errors: number;
  rate_limited: number;
}

/** Every authenticated request of an org in one mode, whatever the credential, per UTC day. */
export interface OrgUsageTable {
  org_id: string;
  mode: Mode;
  /** UTC day, `YYYY-MM-DD`. */
  date: string;
  requests: number;
  /** Responses ≥ 400 other than 429. */
  errors: number;
  rate_limited: number;
}

export interface ServiceAccountsTable {
  id: string;
  org_id: string;
  mode: Mode;
  name: string;
  /** The scope ceiling (JSON array): no token of this account may claim more. */
  scopes: string;
  created_by_kind: string;
  created_by_id: string;
  created_at: string;
  deleted_at: string | null;
}

export type ServiceAccountKeyAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

export interface ServiceAccountKeysTable {
  /** `sak_…`: the JWT `kid`. */
  id: string;
  org_id: string;
  service_account_id: string;
  algorithm: ServiceAccountKeyAlgorithm;
  /** SPKI PEM. */
  public_key: string;
  origin: 'generated' | 'uploaded';
  created_at: string;
  expires_at: string | null;
  deleted_at: string | null;
  last_used_at: string | null;
}

export interface SuppliersTable {
  id: string;
  org_id: string;
  mode: Mode;
  name: string;
  country: string;
  contact_email: string | null;
  status: 'active' | 'suspended';
  created_at: string;
  updated_at: string;
}

export interface ProductsTable {
  id: string;
  org_id: string;
  mode: Mode;
  name: string;
  sku: string;
  supplier_id: string;
  created_at: string;
  updated_at: string;
}

export interface CertificatesTable {
  id: string;
  org_id: string;
  mode: Mode;
  standard: string;
  number: string;
  issuer: string;
  supplier_id: string;
  issued_at: string;
  expires_at: string;
  /** Stored `valid` or `revoked`; `expired` is derived from `expires_at` when read. */
  status: 'valid' | 'revoked';
  created_at: string;
  updated_at: string;
}

export interface CertificateProductsTable {
  org_id: string;
  mode: Mode;
  certificate_id: string;
  product_id: string;
  position: number;
}

export type OAuthClientType = 'confidential' | 'public';

export interface OAuthClientsTable {
  /** `cli_…`: the OAuth `client_id`. */
  id: string;
  org_id: string;
  mode: Mode;
  name: string;
  client_type: OAuthClientType;
  /** JSON array of absolute URIs, matched exactly. */
  redirect_uris: string;
  /**
   * JSON `[{redirect_uri, problem}]`: registered URIs that break today's rules (migration 0008 checked the
   * apps registered before them); `[]` for every app registered since, whose URIs were checked on the way in.
   */
  redirect_uri_problems: string;
  /** The scope ceiling (JSON array): no grant to this client may hold more. */
  scopes: string;
  /** SHA-256 (hex) of the client secret; null for public clients. */
  secret_hash: string | null;
  secret_last4: string | null;
  /** After a rotation, the replaced secret keeps working until `previous_secret_expires_at`. */
  previous_secret_hash: string | null;
  previous_secret_expires_at: string | null;
  created_by_kind: string;
  created_by_id: string;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

/** One oidc-provider artefact (code, token, grant, session, interaction…), as its adapter stores it. */
export interface OAuthArtifactsTable {
  model: string;
  id: string;
  /** The engine's payload, JSON. */
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: string | null;
  consumed_at: string | null;
  /** A device code's last poll at the token endpoint (migration 0013): `slow_down` below the interval. */
  polled_at: string | null;
}

/** An access token revoked at `/oauth/revoke` (migration 0013): its `jti`, kept until the token expires. */
export interface OAuthRevokedTokensTable {
  jti: string;
  org_id: string;
  client_id: string;
  revoked_at: string;
  expires_at: string;
}

/** A user's consent to one client in one org: the engine's Grant plus who, where and what. */
export interface OAuthAuthorizationsTable {
  /** `grt_…`. */
  id: string;
  org_id: string;
  user_id: string;
  client_id: string;
  mode: Mode;
  /** The engine's Grant id. */
  grant_id: string;
  /** The scopes granted (JSON array). */
  scopes: string;
  created_at: string;
  updated_at: string;
  /** When a token of it was last used at the API (batched; may lag by a few seconds). */
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface OAuthSigningKeysTable {
  kid: string;
  algorithm: 'ES256';
  /** The public JWK (JSON), published at /.well-known/jwks.json. */
  public_jwk: string;
  /** The private JWK, AES-256-GCM encrypted under the master key. */
  private_jwk_encrypted: string;
  created_at: string;
  /** When a newer key replaced it for signing; it stays published while tokens it signed may live. */
  retired_at: string | null;
}

export type AuditResult = 'success' | 'failure';

export interface AuditEventsTable {
  /** `evt_…`. */
  id: string;
  org_id: string;
  /** Position in the org's chain, from 1. */
  seq: number;
  at: string;
  actor_kind: string;
  actor_id: string;
  action: string;
  target_kind: string | null;
  target_id: string | null;
  result: AuditResult;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  /** JSON object; never a secret. */
  metadata: string;
  /** The previous event's `hash` (or the chain's genesis value). */
  prev_hash: string;
  /** HMAC-SHA256 (hex) under a key derived from the master key, of `prev_hash` and this event's fields. */
  hash: string;
}

/**
 * One link of an org's chain holding a run of API-call events (`api.request`, COHERA_AUDIT_API_CALLS): what
 * one flush wrote for the org. Its events have the sequence numbers `seq_first`…`seq_last`, in order.
 */
export interface AuditSegmentsTable {
  org_id: string;
  seq_first: number;
  seq_last: number;
  /** The first and last event's id and time (events are in the order they were recorded). */
  id_first: string;
  id_last: string;
  at_first: string;
  at_last: string;
  /** How many of its events have `result: failure`. */
  failures: number;
  /** The distinct actor ids of its events, space-separated (for listing's filter). */
  actor_ids: string;
  /** The events: a JSON array of arrays (audit/segments.ts), UTF-8, compressed with raw DEFLATE (RFC 1951). */
  events: Uint8Array;
  /** The previous link's hash. */
  prev_hash: string;
  /** HMAC-SHA256 (hex), under the chain's key, of `prev_hash` and every other column. */
  hash: string;
}

export interface AuditChainHeadsTable {
  org_id: string;
  seq: number;
  hash: string;
  /** Retention deletes events from the oldest; this is the last deleted one, where verification starts. */
  purged_through_seq: number;
  purged_through_hash: string;
  /** HMAC of (org, seq, hash) under the anchors' key (audit/head-seal.ts), or `unauthenticated`. */
  head_mac: string;
  /** HMAC of (org, purged_through_seq, purged_through_hash), or `unauthenticated`. */
  purged_mac: string;
  /** The `seq` of the last signed digest any node made of this head; a digest is due when it differs. */
  digested_seq: number;
}

export interface ApiKeyScopeUsageTable {
  key_id: string;
  org_id: string;
  /** The scope a route required, which the key's scopes satisfied. */
  scope: string;
  last_used_at: string;
}

/**
 * One `Idempotency-Key` of one credential (DESIGN §4, docs/idempotency.md): claimed before the handler
 * runs (`status_code` null: in progress), then completed with the response to replay. Expires 24 h after
 * creation.
 */
export interface IdempotencyKeysTable {
  org_id: string;
  mode: Mode;
  /** Whose key it is: the principal the credential resolved to (`api_key`, `user`, …) and its id. */
  actor_kind: string;
  actor_id: string;
  /** SHA-256 (hex) of the header value; the key itself is never stored. */
  key_hash: string;
  /** SHA-256 (hex) of method, URL and raw body: a reuse of the key for another request is refused. */
  fingerprint: string;
  created_at: string;
  expires_at: string;
  /** Who holds the claim (random, never shown): completing or releasing the key must name it. Null on rows
   * claimed before migration 0015. */
  claim_token: string | null;
  /** When the current holder claimed the key: past its lease a retry may take it over (idempotency/lease.ts). */
  claimed_at: string | null;
  /** Null while the first request is in progress. */
  status_code: number | null;
  content_type: string | null;
  /** The response body, AES-256-GCM sealed under the master key (it may hold a new credential). */
  response_body: string | null;
}

export type WebhookEndpointStatus = 'enabled' | 'disabled';
/** Why an endpoint is disabled: by a person, by a `410 Gone`, or after failing for the configured hours. */
export type WebhookDisabledReason = 'manual' | 'gone' | 'failing';

/** A URL that receives signed webhooks of one org in one mode (DESIGN §5.5). */
export interface WebhookEndpointsTable {
  /** `whe_…`. */
  id: string;
  org_id: string;
  mode: Mode;
  url: string;
  description: string;
  /** JSON array of event types, or `["*"]`. */
  events: string;
  status: WebhookEndpointStatus;
  disabled_reason: WebhookDisabledReason | null;
  /** The signing secret (`whsec_…`), AES-256-GCM sealed under the master key, bound to the endpoint id. */
  secret_sealed: string;
  /** After a rotation, the replaced secret also signs until `previous_secret_expires_at`. */
  previous_secret_sealed: string | null;
  previous_secret_expires_at: string | null;
  /** The first failed attempt of the current unbroken failure streak; a success clears it. */
  failing_since: string | null;
  created_at: string;
  updated_at: string;
}

/** The outbox: one row per event, written in the transaction of the change that caused it. */
export interface WebhookMessagesTable {
  /** `msg_…`: also the `webhook-id` header, the receiver's idempotency key. */
  id: string;
  org_id: string;
  mode: Mode;
  type: string;
  /** The exact minified JSON body sent: `{"id","type","timestamp","data"}`. */
  body: string;
  created_at: string;
  /** Makes an event idempotent: UNIQUE (org_id, dedupe_key); null for ordinary events. */
  dedupe_key: string | null;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** One message to one endpoint: its state, its last attempt, and the lease of the worker sending it. */
export interface WebhookDeliveriesTable {
  endpoint_id: string;
  message_id: string;
  org_id: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  /** When the next attempt is due; null when not pending. */
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_response_status: number | null;
  /** The first 1 KB of the last response body. */
  last_response_body: string | null;
  last_duration_ms: number | null;
  last_error: string | null;
  /** A worker's claim; once past, the delivery is claimable again (nothing is lost on kill -9). */
  lease_until: string | null;
  created_at: string;
}

/** An invitation to join an org with a role (migration 0014, docs/team.md). */
export interface InvitationsTable {
  /** `inv_…`. */
  id: string;
  org_id: string;
  /** Lower-cased, like users.email. */
  email: string;
  role: Role;
  /** SHA-256 (hex) of the accept token; the token itself is only in the link. */
  token_hash: string;
  /** The e-mail while pending (one pending invitation per org and e-mail), the id once settled. */
  pending_key: string;
  invited_by_kind: string;
  invited_by_id: string;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  /** The user who accepted. */
  accepted_by: string | null;
  /** Revoked by a person, or replaced by a newer invitation to the same e-mail. */
  revoked_at: string | null;
}

/** One e-mail the server would send (migration 0014): kept until an SMTP sender delivers it. */
export interface EmailOutboxTable {
  /** `eml_…`. */
  id: string;
  /** The org the message is about, if any. */
  org_id: string | null;
  to: string;
  subject: string;
  text: string;
  created_at: string;
  sent_at: string | null;
  attempts: number;
  /** When the next attempt is due (after a failure, with backoff); null means at once. */
  next_attempt_at: string | null;
  last_error: string | null;
  /** A sender's claim, so two nodes never send one message at once. */
  lease_until: string | null;
}

export interface DB {
  orgs: OrgsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  api_key_usage: ApiKeyUsageTable;
  service_accounts: ServiceAccountsTable;
  service_account_keys: ServiceAccountKeysTable;
  suppliers: SuppliersTable;
  products: ProductsTable;
  certificates: CertificatesTable;
  certificate_products: CertificateProductsTable;
  oauth_clients: OAuthClientsTable;
  oauth_artifacts: OAuthArtifactsTable;
  oauth_authorizations: OAuthAuthorizationsTable;
  oauth_signing_keys: OAuthSigningKeysTable;
  oauth_revoked_tokens: OAuthRevokedTokensTable;
  audit_events: AuditEventsTable;
  audit_chain_heads: AuditChainHeadsTable;
  audit_segments: AuditSegmentsTable;
  api_key_scope_usage: ApiKeyScopeUsageTable;
  idempotency_keys: IdempotencyKeysTable;
  org_usage: OrgUsageTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_messages: WebhookMessagesTable;
  webhook_deliveries: WebhookDeliveriesTable;
  leak_reports: LeakReportsTable;
  invitations: InvitationsTable;
  email_outbox: EmailOutboxTable;
}
