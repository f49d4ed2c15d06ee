/**
 * Request ids: every response carries `X-Request-Id`. A caller's own id is kept when it is sane (so traces
 * line up across services); anything else is replaced, so logs never carry attacker-shaped text.
 */

import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SANE = /^[A-Za-z0-9._:-]{1,128}$/;

/** A random prefix per process and a counter: unique across nodes, and cheap enough for every request. */
const PREFIX = `req_${randomBytes(6).toString('hex')}`;
let counter = 0;

export function requestIdOf(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  if (typeof incoming === 'string' && SANE.test(incoming)) return incoming;
  return newRequestId();
}

/** A fresh id, for an answer to bytes that never became a request (http/client-errors.ts). */
export function newRequestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PREFIX}${counter.toString(36).padStart(8, '0')}`;
}
