/**
 * A loopback HTTP server that answers from a script, for the failures a healthy Cohera server cannot be
 * made to produce on demand (a 502 from a proxy, a 503 during a deploy, a hang, a dropped connection).
 * The client under test is the real SDK over real HTTP; only the far end is scripted.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait this long before answering (ms). */
  delay?: number;
  /** Drop the connection without answering. */
  destroy?: boolean;
}

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export async function scriptedServer(script: ScriptedReply[]): Promise<{
  baseUrl: string;
  received: Received[];
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      const reply = script[Math.min(received.length - 1, script.length - 1)] ?? { status: 500 };
      const answer = () => {
        if (reply.destroy) {
          request.socket.destroy();
          return;
        }
        const status = reply.status ?? 200;
        const json = reply.body === undefined ? '' : JSON.stringify(reply.body);
        response.writeHead(status, {
          'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
          'x-request-id': `req_scripted_${received.length}`,
          ...reply.headers,
        });
        response.end(json);
      };
      if (reply.delay) setTimeout(answer, reply.delay);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function problem(status: number, code: string): ScriptedReply['body'] {
  return {
    type: `https://docs.cohera.io/errors#${code}`,
    title: code,
    status,
    code,
    request_id: 'req_scripted',
  };
}
