/**
 * Security invariant 6 (DESIGN §6) as an assertion, shared by the fuzz suites: bad input of any shape gets
 * a 4xx answer in the shape the route promises, never a 5xx.
 */
import assert from 'node:assert/strict';
import { ERROR_CODES, isErrorCode } from '@cohera/shared';
import type { LightMyRequestResponse } from 'fastify';

/**
 * OAuth protocol endpoints and the sign-in/consent pages may also answer as RFC 6749 says (`{error}` JSON)
 * or with an HTML page for a person; input our own route schemas reject is a problem document as anywhere.
 */
export function isProtocolRoute(url: string): boolean {
  return url.startsWith('/oauth/') || url.startsWith('/.well-known/');
}

/** Pages that answer people in HTML whatever they are sent: a bad invitation link is a page, not JSON. */
export function isPageForPeople(url: string): boolean {
  return url.split('?')[0] === '/invitations/accept';
}

/**
 * The invariant: never a 5xx; every 4xx is a problem document whose code and status agree. `pageForPeople`:
 * the request was a browser's form post to a page that answers people in HTML (sign-in).
 */
export function assertHandled(
  response: LightMyRequestResponse,
  request: string,
  url: string,
  options: { pageForPeople?: boolean; method?: string } = {},
): void {
  const context = `${request} → ${response.statusCode} ${response.body.slice(0, 300)}`;
  assert.ok(response.statusCode < 500, context);
  if (response.statusCode < 400) return;
  const type = String(response.headers['content-type']);
  if ((isProtocolRoute(url) || options.pageForPeople) && !type.startsWith('application/problem+json')) {
    if (type.startsWith('text/html')) return;
    assert.match(type, /^application\/json/, context);
    if (options.method === 'HEAD') return;
    assert.equal(typeof (response.json() as { error?: unknown }).error, 'string', context);
    return;
  }
  assert.match(type, /^application\/problem\+json/, context);
  // A HEAD answer has the headers of the GET's problem document and no body to read.
  if (options.method === 'HEAD') return;
  const problem = response.json() as Record<string, unknown>;
  assert.ok(isErrorCode(problem.code), context);
  assert.equal(ERROR_CODES[problem.code].status, response.statusCode, context);
  assert.equal(problem.status, response.statusCode, context);
  assert.equal(problem.request_id, response.headers['x-request-id'], context);
}
