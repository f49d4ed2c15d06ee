/**
 * Requests that never became requests (http/client-errors.ts) on a listening app: one too slow to arrive
 * is answered `408 request_timeout`, bytes that are not HTTP `400 validation_failed`, both as problem
 * documents with a request id, and the connection is closed; an answer given before the body was read
 * (a 401) closes the connection too, instead of reading a body that may never end.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { testConfig } from '../support/config.ts';

let app: FastifyInstance;
let port = 0;

before(async () => {
  app = await buildApp(
    testConfig({
      COHERA_REQUEST_TIMEOUT_SECONDS: '1',
      COHERA_HEADERS_TIMEOUT_SECONDS: '1',
      COHERA_LOG_LEVEL: 'silent',
    }),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
});
after(() => app.close());

/** Writes `text` and reads until the server closes; fails after a generous bound. */
function exchange(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server left the connection open: ${received}`));
    }, 10_000);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

function problemOf(response: string): Record<string, unknown> {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  assert.match(head, /\r\ncontent-type: application\/problem\+json; charset=utf-8\r\n/i);
  assert.match(head, /\r\nconnection: close\r\n/i);
  return JSON.parse(body) as Record<string, unknown>;
}

test('a body that does not arrive in time is answered 408 request_timeout, and closed', async () => {
  const response = await exchange(
    'POST /auth/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{',
  );
  assert.match(response, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  const problem = problemOf(response);
  assert.equal(problem.code, 'request_timeout');
  assert.equal(problem.status, 408);
  assert.match(String(problem.request_id), /^req_/);
  assert.match(response, new RegExp(`\\r\\nx-request-id: ${String(problem.request_id)}\\r\\n`, 'i'));
});

test('headers that do not arrive in time are answered 408 too', async () => {
  const response = await exchange('GET /health HTTP/1.1\r\nHost: a\r\n');
  assert.match(response, /^HTTP\/1\.1 408 /);
  assert.equal(problemOf(response).code, 'request_timeout');
});

test('bytes that are not HTTP are answered 400 validation_failed', async () => {
  const response = await exchange('HELLO THERE\r\n\r\n');
  assert.match(response, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.equal(problemOf(response).code, 'validation_failed');
});

test('a 401 answered before the body is read closes the connection at once', async () => {
  const response = await exchange(
    'POST /v1/suppliers HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{',
  );
  assert.match(response, /^HTTP\/1\.1 401 Unauthorized\r\n/);
  assert.equal(problemOf(response).code, 'missing_credential');
});

test('a 401 to a request without a body keeps the connection alive', async () => {
  const socket = connect(port, '127.0.0.1');
  const received = await new Promise<string>((resolve) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('GET /v1/suppliers HTTP/1.1\r\nHost: a\r\n\r\n'));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('"missing_credential"')) resolve(text);
    });
  });
  socket.destroy();
  assert.match(received, /^HTTP\/1\.1 401 /);
  assert.match(received, /\r\nconnection: keep-alive\r\n/i);
});
