/**
 * `cohera`: the Cohera API client, and `Webhooks` to verify the webhooks it sends. OAuth and
 * service-account helpers are in `cohera/auth`.
 */
export { Cohera, type CoheraOptions } from './client.ts';
export {
  APIError,
  AuthenticationError,
  CoheraError,
  ConflictError,
  ConnectionError,
  type FieldError,
  NotFoundError,
  OAuthError,
  PermissionError,
  type Problem,
  RateLimitError,
  ValidationError,
} from './errors.ts';
export { type ListResponse, Page, PagePromise } from './pagination.ts';
export type { RateLimit } from './rate-limit.ts';
export {
  type Credentials,
  type CredentialsRevokeResult,
  REVOKE_BATCH_SIZE,
} from './resources/credentials.ts';
export type { Certificates, Products, Suppliers } from './resources/domain.ts';
export type {
  ApiKeys,
  AuditEvents,
  OAuthClients,
  OrganizationResource,
  Security,
  ServiceAccounts,
  Usage,
} from './resources/management.ts';
export type { Invitations, Members } from './resources/team.ts';
export type { Events, WebhookEndpoints } from './resources/webhooks.ts';
export type { RequestOptions } from './transport.ts';
export type * from './types.ts';
export { VERSION } from './version.ts';
export {
  type WebhookEvent,
  type WebhookHeaders,
  type WebhookPayload,
  Webhooks,
  type WebhookTestHeadersOptions,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
  type WebhookVerifyOptions,
} from './webhooks.ts';
