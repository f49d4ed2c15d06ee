/** `cohera`: the Cohera API client. OAuth and service-account helpers are in `cohera/auth`. */
export { Cohera, type CoheraOptions, DEFAULT_BASE_URL } from './client.ts';
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
export type { RequestOptions } from './transport.ts';
export type * from './types.ts';
export { VERSION } from './version.ts';
