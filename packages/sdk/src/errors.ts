/**
 * Typed errors. Every error the client throws is a `CoheraError`; an HTTP error response is an `APIError`
 * (or the subclass for its status), carrying the RFC 9457 problem document the server sent. Nothing here
 * ever holds the credential: errors are built from the response alone, never from the request.
 */

/** One field-level problem of a `validation_failed` response, e.g. `{field: "body/expires_at", …}`. */
export interface FieldError {
  field: string;
  message: string;
}

/** The problem document of an error response (RFC 9457 plus Cohera's `code` and `request_id`). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  request_id: string;
  errors?: FieldError[];
  required_scope?: string;
  [extension: string]: unknown;
}

export interface CoheraErrorOptions {
  status?: number | null;
  code?: string;
  requestId?: string | null;
  problem?: Problem | null;
  headers?: Headers | null;
  cause?: unknown;
}

export class CoheraError extends Error {
  /** The HTTP status, or `null` when no response arrived. */
  readonly status: number | null;
  /** Stable, machine-readable: the server's problem `code`, or the client's own (`connection_error`, …). */
  readonly code: string;
  /** The server's `X-Request-Id`: quote it to support. */
  readonly requestId: string | null;
  /** The problem document as the server sent it. */
  readonly problem: Problem | null;

  constructor(message: string, options: CoheraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status ?? null;
    this.code = options.code ?? 'cohera_error';
    this.requestId = options.requestId ?? null;
    this.problem = options.problem ?? null;
  }
}

/** The server answered with an error status. Subclasses narrow it by status. */
export class APIError extends CoheraError {
  declare readonly status: number;
  /** Field-level problems of a `validation_failed` response (empty otherwise). */
  readonly errors: FieldError[];
  /** The response headers (they never contain the credential, which travels only in the request). */
  declare readonly headers: Headers;

  constructor(message: string, options: CoheraErrorOptions & { status: number; headers: Headers }) {
    super(message, options);
    this.errors = options.problem?.errors ?? [];
    // Not enumerable: keeps `console.log(error)` and JSON serialization short.
    Object.defineProperty(this, 'headers', { value: options.headers, enumerable: false });
  }
}

/** 401: missing, malformed, unknown, expired or revoked credential. */
export class AuthenticationError extends APIError {}

/** 403: a valid credential without the scope (`requiredScope`), or an action the role does not allow. */
export class PermissionError extends APIError {
  get requiredScope(): string | null {
    return typeof this.problem?.required_scope === 'string' ? this.problem.required_scope : null;
  }
}

/** 404: no such object, or it belongs to another organization or mode (the API never says which). */
export class NotFoundError extends APIError {}

/** 400: the request is invalid; `errors` names each field. */
export class ValidationError extends APIError {}

/** 409: conflicts with the current state (e.g. a supplier still referenced by products). */
export class ConflictError extends APIError {}

/** 429: over a rate limit. `retryAfter` is in seconds. */
export class RateLimitError extends APIError {
  readonly retryAfter: number | null;
  constructor(
    message: string,
    options: CoheraErrorOptions & { status: number; headers: Headers; retryAfter: number | null },
  ) {
    super(message, options);
    this.retryAfter = options.retryAfter;
  }
}

/** No response: the network failed or the request timed out (`code` `timeout`). */
export class ConnectionError extends CoheraError {}

/**
 * An OAuth 2.0 error (RFC 6749 §5.2): a refused token request, or an error in the authorization callback.
 * `code` is the OAuth `error` (`invalid_grant`, `access_denied`, …).
 */
export class OAuthError extends CoheraError {
  readonly errorDescription: string | null;
  constructor(message: string, options: CoheraErrorOptions & { errorDescription?: string | null } = {}) {
    super(message, options);
    this.errorDescription = options.errorDescription ?? null;
  }
}

type APIErrorClass = new (
  message: string,
  options: CoheraErrorOptions & { status: number; headers: Headers },
) => APIError;

const BY_STATUS: Record<number, APIErrorClass> = {
  400: ValidationError,
  401: AuthenticationError,
  403: PermissionError,
  404: NotFoundError,
  409: ConflictError,
};

function isProblem(value: unknown): value is Problem {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Problem).code === 'string' &&
    typeof (value as Problem).status === 'number'
  );
}

/** Builds the error for an error response; `body` is its parsed JSON (or text) if any. */
export function errorFromResponse(response: Response, body: unknown, retryAfter: number | null): APIError {
  const problem = isProblem(body) ? body : null;
  const requestId = problem?.request_id ?? response.headers.get('x-request-id');
  const code = problem?.code ?? `http_${response.status}`;
  const summary = problem ? (problem.detail ?? problem.title) : response.statusText || 'request failed';
  const message = `${response.status} ${code}: ${summary}${requestId ? ` (request ${requestId})` : ''}`;
  const options = { status: response.status, code, requestId, problem, headers: response.headers };
  if (response.status === 429) return new RateLimitError(message, { ...options, retryAfter });
  const ErrorClass = BY_STATUS[response.status] ?? APIError;
  return new ErrorClass(message, options);
}
