/**
 * Headers a request may carry only once. Node keeps the first `Authorization` header of a request in
 * `request.headers` and silently drops the others (it does so for every header that cannot be a list), so
 * `Authorization: Bearer A` followed by `Authorization: Bearer B` would authenticate as A — while a proxy or
 * gateway in front of us that reads the last one authenticates, rate-limits or logs B. Two parties acting
 * on different credentials of one request is how request-smuggling-style confusions start; the request is
 * refused instead. Only the raw header list still shows the repetition.
 */
import type { IncomingMessage } from 'node:http';

const AUTHORIZATION = 'authorization';

/**
 * Whether the raw header list names `authorization` more than once, in any letter case (`Authorization` and
 * `authorization` are one header). A request carries ~10 headers, so this is a loop over ~20 strings, with
 * a length test before any lower-casing; called only for requests that do carry an Authorization header.
 */
export function hasRepeatedAuthorization(raw: Pick<IncomingMessage, 'rawHeaders'>): boolean {
  const headers = raw.rawHeaders;
  let seen = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length !== AUTHORIZATION.length || name.toLowerCase() !== AUTHORIZATION) continue;
    if (seen) return true;
    seen = true;
  }
  return false;
}

/** The detail of the 400, the same wherever the check runs. */
export const REPEATED_AUTHORIZATION = 'send exactly one Authorization header; this request has several';
