/**
 * A real webhook receiver for tests: an HTTP server on 127.0.0.1 that records every request it gets
 * (headers and the exact body bytes) and answers as the test's handler says.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Receipt {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Answer = (receipt: Receipt, response: ServerResponse, index: number) => void;

export interface Receiver {
  url: string;
  receipts: Receipt[];
  /** Replaces how the receiver answers (default: 204). */
  answer: Answer;
  /** Waits until at least `count` requests arrived (fails after `ms`, never hangs the suite). */
  waitFor(count: number, ms?: number): Promise<Receipt[]>;
  close(): Promise<void>;
}

export async function startReceiver(
  answer: Answer = (_r, res) => res.writeHead(204).end(),
): Promise<Receiver> {
  const receipts: Receipt[] = [];
  const receiver = { answer } as Receiver;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const receipt = {
        path: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      receipts.push(receipt);
      receiver.answer(receipt, response, receipts.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hook`,
    receipts,
    async waitFor(count: number, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (receipts.length < count) {
        if (Date.now() > deadline)
          throw new Error(`expected ${count} webhook requests, got ${receipts.length}`);
        await sleep(20);
      }
      return receipts;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
