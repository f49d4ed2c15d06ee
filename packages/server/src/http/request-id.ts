/**
 * Request ids: every response carries `X-Request-Id`. A caller's own id is kept when it is sane (so traces
 * line up across services); anything else is replaced, so logs never carry attacker-shaped text.
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SANE = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  // randomUUID draws from a cached entropy pool: far cheaper per request than a time-sortable id.
  return typeof incoming === 'string' && SANE.test(incoming)
    ? incoming
    : `req_${randomUUID().replaceAll('-', '')}`;
}
