/**
 * Errors as data: routes throw `ApiError(code, detail)`; one handler turns every error, ours or
 * Fastify's, into an RFC 9457 problem document with a stable `code` and the request id. Unexpected
 * exceptions become a 500 that reveals nothing but the request id.
 */
import {
  ERROR_CODES,
  type ErrorCode,
  type FieldError,
  PROBLEM_TYPE_BASE,
  type Problem,
} from '@cohera/shared';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DATABASE_RETRY_AFTER_SECONDS } from '../storage/availability.ts';
import { constraintNameOf, constraintViolationOf } from '../storage/constraint-violations.ts';
import { isDatabaseUnavailable } from '../storage/unavailable.ts';
import {
  describeFieldErrors,
  fieldErrors,
  sentenceFor,
  type ValidationIssue,
} from './validation-messages.ts';

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly extra: Partial<Problem> | undefined;
  /**
   * Whose credential failed, when it is known (a revoked or expired key of an org): for the org's audit log
   * only, never sent to the client.
   */
  readonly subject: { orgId: string; kind: 'api_key' | 'service_account'; id: string } | undefined;
  constructor(
    code: ErrorCode,
    detail?: string,
    options: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      extra?: Partial<Problem>;
      subject?: ApiError['subject'];
    } = {},
  ) {
    super(detail ?? ERROR_CODES[code].title);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.errors = options.errors;
    this.headers = options.headers;
    this.extra = options.extra;
    this.subject = options.subject;
  }
}

/** A 400 naming the one field that is wrong, in a sentence that names it (`expires_at must be …`). */
export function invalidField(field: string, message: string): ApiError {
  const sentence = sentenceFor(field, message);
  return new ApiError('validation_failed', sentence, { errors: [{ field, message: sentence }] });
}

export function notFound(what: string): ApiError {
  return new ApiError('not_found', `No such ${what}`);
}

export function problemOf(code: ErrorCode, requestId: string, detail?: string): Problem {
  const { status, title } = ERROR_CODES[code];
  const problem: Problem = {
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title,
    status,
    code,
    request_id: requestId,
  };
  if (detail !== undefined) problem.detail = detail;
  return problem;
}

/**
 * True while the request's body is still arriving: the answer was given without reading it (a refused
 * credential, an unknown route). Node would otherwise read and discard the rest to keep the connection
 * alive, so a client sending a byte every few seconds would hold it as long as it likes.
 */
function bodyStillArriving(request: FastifyRequest): boolean {
  const raw = request.raw;
  // `!== false`: inject()'s requests have no `complete`, and no connection to close.
  if (raw.complete !== false) return false;
  const length = raw.headers['content-length'];
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function sendProblem(reply: FastifyReply, problem: Problem, headers?: Record<string, string>) {
  if (headers) reply.headers(headers);
  // Close the connection once the answer is out, instead of reading the unread body (see above).
  if (bodyStillArriving(reply.request)) reply.header('connection', 'close');
  return reply.code(problem.status).type('application/problem+json; charset=utf-8').send(problem);
}

/** Fastify's own error codes, mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'validation_failed',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'validation_failed',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_BAD_URL: 'validation_failed',
  FST_ERR_ASYNC_CONSTRAINT: 'validation_failed',
};

/**
 * A constraint the database enforced (storage/constraint-violations.ts) is the request's conflict with data
 * that changed meanwhile, never a 500, on any route. The repositories check references in the transaction
 * that writes them (resources/references.ts) and answer as they always have; this is the net under every
 * path that does not. A delete that would orphan rows answers as the repositories' own "in use" check does.
 * A reference that vanished is a 409 rather than the 400 a repository gives, because which field it was is
 * not known here — and a retry then gets that 400, naming the field.
 */
function constraintError(error: unknown, method: string): ApiError | null {
  const inUse = () =>
    new ApiError('resource_in_use', 'Other objects still refer to this one; delete or change them first');
  const vanished = () =>
    new ApiError('conflict', 'An object this request refers to was deleted meanwhile; check the references');
  switch (constraintViolationOf(error)) {
    case 'unique':
      return new ApiError('conflict', 'An object with one of these unique values already exists');
    case 'still_referenced':
      return inUse();
    case 'missing_reference':
      return vanished();
    case 'foreign_key':
      return method === 'DELETE' ? inUse() : vanished();
    case 'concurrent_change':
      return new ApiError(
        'conflict',
        'A concurrent change to the same data got in the way; retry the request',
      );
    default:
      return null;
  }
}

/** An outage of the database (storage/unavailable.ts): the request can succeed later, so say when to retry. */
export function databaseUnavailable(): ApiError {
  return new ApiError(
    'service_unavailable',
    `The database is unreachable or too slow right now; retry in ${DATABASE_RETRY_AFTER_SECONDS} s`,
    { headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) } },
  );
}

export interface ErrorHandlingOptions {
  /**
   * Told of every error that looks like a database outage (storage/availability.ts `suspect`): it probes,
   * and logs the outage's start and end once each, so the handler logs nothing per request.
   */
  onDatabaseUnavailable?: (error: unknown) => void;
}

export function registerErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions = {}): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError) {
      if (error.code.endsWith('_credential') && !error.headers) {
        // RFC 6750 §3: name the scheme; say the token did not work — but send no error code when the
        // request carried no credential at all (§3.1).
        reply.header(
          'www-authenticate',
          error.code === 'missing_credential'
            ? 'Bearer realm="cohera"'
            : 'Bearer realm="cohera", error="invalid_token"',
        );
      }
      const problem = problemOf(error.code, request.id, error.message);
      if (error.errors) problem.errors = error.errors;
      if (error.extra) Object.assign(problem, error.extra);
      return sendProblem(reply, problem, error.headers);
    }
    if (error.validation) {
      // Sentences, not Ajv's messages: no regex, no raw keyword (validation-messages.ts).
      const errors = fieldErrors(error.validationContext, error.validation as ValidationIssue[]);
      const problem = problemOf('validation_failed', request.id, describeFieldErrors(errors));
      problem.errors = errors;
      return sendProblem(reply, problem);
    }
    const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (mapped) {
      // Fastify's messages for these name the problem without echoing input values.
      const detail =
        mapped === 'validation_failed' && error.code?.startsWith('FST_ERR_CTP_')
          ? `body: ${error.message}`
          : error.message;
      return sendProblem(reply, problemOf(mapped, request.id, detail));
    }
    const constraint = constraintError(error, request.method);
    if (constraint) {
      // No stack: bad luck or an unchecked path, not a crash. The name says which check is missing.
      request.log.warn(
        { constraint: constraintNameOf(error), code: constraint.code },
        'database constraint answered as a conflict',
      );
      return sendProblem(reply, problemOf(constraint.code, request.id, constraint.message));
    }
    if (isDatabaseUnavailable(error)) {
      // Not a bug, and the same for every request while it lasts: one log line for the outage (from
      // onDatabaseUnavailable), none per request at info or above.
      options.onDatabaseUnavailable?.(error);
      request.log.debug({ err: error }, 'database unavailable: answered 503');
      const unavailable = databaseUnavailable();
      return sendProblem(
        reply,
        problemOf(unavailable.code, request.id, unavailable.message),
        unavailable.headers,
      );
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      const code: ErrorCode =
        status === 404
          ? 'not_found'
          : status === 413
            ? 'payload_too_large'
            : status === 415
              ? 'unsupported_media_type'
              : 'validation_failed';
      return sendProblem(reply, problemOf(code, request.id, error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, problemOf('internal_error', request.id, 'An unexpected error occurred'));
  });

  app.setNotFoundHandler((request, reply) => {
    sendProblem(
      reply,
      problemOf('route_not_found', request.id, `No route for ${request.method} ${request.url.split('?')[0]}`),
    );
  });
}

/**
 * Errors Fastify raises while routing (a malformed percent-encoding in the path, a path parameter over
 * `maxParamLength`) skip every hook and the error handler, and would otherwise answer Fastify's own JSON
 * with no request id. Passed to Fastify as `frameworkErrors`. The detail is ours: Fastify's echoes the path.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header('x-request-id', request.id);
  reply.header('x-content-type-options', 'nosniff');
  const detail =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'path: a path segment is too long'
      : error.code === 'FST_ERR_BAD_URL'
        ? 'path: the URL is not validly encoded'
        : 'The request could not be routed';
  return sendProblem(reply, problemOf('validation_failed', request.id, detail));
}
