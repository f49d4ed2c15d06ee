/**
 * Stable error codes: the one table from code to HTTP status and title. A code, once published, keeps its
 * meaning; a retired code is never reused. Every code is documented in docs/errors.md (a test checks).
 */
export const ERROR_CODES = {
  validation_failed: { status: 400, title: 'The request is invalid' },
  invalid_audit_digest: { status: 400, title: 'The audit digest is not one this server signed for you' },
  missing_credential: { status: 401, title: 'A credential is required' },
  invalid_credential: { status: 401, title: 'The credential is invalid' },
  expired_credential: { status: 401, title: 'The credential has expired' },
  revoked_credential: { status: 401, title: 'The credential has been revoked' },
  invalid_login: { status: 401, title: 'Invalid email or password' },
  invalid_signature: { status: 401, title: 'The request signature is missing or invalid' },
  insufficient_scope: { status: 403, title: 'The credential lacks the required scope' },
  forbidden: { status: 403, title: 'This action is not allowed' },
  csrf_failed: { status: 403, title: 'The CSRF token is missing or invalid' },
  not_found: { status: 404, title: 'Not found' },
  route_not_found: { status: 404, title: 'No such route' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  resource_in_use: { status: 409, title: 'The resource is still referenced' },
  idempotency_key_in_use: {
    status: 409,
    title: 'A request with this idempotency key is still in progress',
  },
  key_revoked: { status: 409, title: 'The key is revoked' },
  key_expired: { status: 409, title: 'The key has expired' },
  key_already_rolled: { status: 409, title: 'The key has already been rolled' },
  last_owner: {
    status: 409,
    title: 'The organization must keep at least one owner',
  },
  already_member: { status: 409, title: 'The person is already a member of the organization' },
  secret_already_shown: {
    status: 409,
    title: 'The secret in the answer to this request was shown once and is not kept',
  },
  request_timeout: { status: 408, title: 'The request took too long to arrive' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  idempotency_key_reused: {
    status: 422,
    title: 'The idempotency key was already used for a different request',
  },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'The service is unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** One field-level problem inside a `validation_failed` response. */
export interface FieldError {
  /** JSON-pointer-like path of the offending input, e.g. `body/expires_at` or `query/limit`. */
  field: string;
  message: string;
}

/** The RFC 9457 problem document every Cohera error response carries. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: ErrorCode;
  request_id: string;
  errors?: FieldError[];
  /** For `insufficient_scope`: the scope the route needs. */
  required_scope?: string;
}

export const PROBLEM_TYPE_BASE = 'https://docs.cohera.io/errors#';
