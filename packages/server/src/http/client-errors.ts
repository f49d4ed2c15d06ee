/**
 * Answers for requests that never became requests: Node's HTTP parser rejected the bytes, or the request
 * did not arrive within COHERA_HEADERS_TIMEOUT_SECONDS / COHERA_REQUEST_TIMEOUT_SECONDS (client-limits.ts).
 * Fastify's own handler answers these in its JSON shape; this one answers in ours (problem+json with a
 * stable code and a request id), then closes the connection, as Node does. Passed to Fastify as
 * `clientErrorHandler`.
 */
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '@cohera/shared';
import { problemOf } from './errors.ts';
import { newRequestId } from './request-id.ts';

/** Node's record of the response in progress on a socket (see client-connections.ts); read only. */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

const DETAILS: Partial<Record<string, { code: ErrorCode; detail: string }>> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    code: 'request_timeout',
    detail: 'The request did not arrive in time; send the whole request, body included, at once',
  },
};
const MALFORMED = { code: 'validation_failed', detail: 'The request is not valid HTTP/1.1' } as const;
/** Headers over Node's size limit: a status of its own, which no problem code maps to. */
const HEADERS_TOO_LARGE = 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n';

export function clientErrorHandler(error: NodeJS.ErrnoException, socket: HttpSocket): void {
  // A connection the client reset, or one already closed: nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // Like Node: answer only when no response has started on this connection, or the bytes would corrupt it.
  if (socket.writable && !socket._httpMessage?.headersSent) {
    if (error.code === 'HPE_HEADER_OVERFLOW') socket.write(HEADERS_TOO_LARGE);
    else {
      const { code, detail } = DETAILS[error.code ?? ''] ?? MALFORMED;
      // No request was parsed, so no id came with one.
      const id = newRequestId();
      const problem = problemOf(code, id, detail);
      const body = JSON.stringify(problem);
      socket.write(
        `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n` +
          'Connection: close\r\n' +
          'Content-Type: application/problem+json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          `X-Request-Id: ${id}\r\n` +
          'X-Content-Type-Options: nosniff\r\n\r\n' +
          body,
      );
    }
  }
  socket.destroy(error);
}
