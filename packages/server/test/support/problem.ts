/** Assertions shared by the HTTP tests: every error is an RFC 9457 problem that names what is wrong. */
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  request_id: string;
  detail?: string;
  errors?: { field: string; message: string }[];
  required_scope?: string;
}

/**
 * Asserts a problem response: the status (also in the body), the `application/problem+json` type, the code,
 * the request id matching `X-Request-Id`, and, when given, an error naming `field`.
 */
export function assertProblem(
  res: LightMyRequestResponse,
  status: number,
  code: string,
  field?: string,
): ProblemBody {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const problem = res.json<ProblemBody>();
  assert.equal(problem.code, code, res.body);
  assert.equal(problem.status, status);
  assert.equal(problem.request_id, res.headers['x-request-id']);
  if (field !== undefined) {
    assert.ok(
      problem.errors?.some((e) => e.field === field),
      `expected an error naming ${field}: ${res.body}`,
    );
  }
  return problem;
}

/** The API form of a clock reading, derived independently of the code under test: ISO 8601 UTC to the second. */
export const apiTimeOf = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;
