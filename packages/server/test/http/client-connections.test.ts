/**
 * ClientConnections (http/client-connections.ts) on a real node:http server on loopback: which connection
 * the cap closes for a newcomer, and the shutdown drain (answers say `Connection: close`, idle connections
 * get a FIN after the idle bound, what is busy at the deadline is destroyed).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { ClientConnections } from '../../src/http/client-connections.ts';
import { openRawPeer, type RawPeer } from '../support/raw-peer.ts';

type Peer = RawPeer;

let server: Server | undefined;
const peers: Peer[] = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) peer.socket.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server whose handler parks each request until the test answers it. */
async function listen(max: number) {
  const pending: { req: IncomingMessage; res: ServerResponse }[] = [];
  const arrived: (() => void)[] = [];
  server = createServer((req, res) => {
    pending.push({ req, res });
    arrived.shift()?.();
  });
  const connections = new ClientConnections(server, max);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  /** Resolves when the server has received the next request's headers. */
  const nextRequest = () => new Promise<void>((resolve) => arrived.push(resolve));
  return { connections, port, pending, nextRequest };
}

const open = (port: number, text = ''): Promise<Peer> => openRawPeer(port, peers, { text });

const isOpen = (peer: Peer) => !peer.socket.destroyed && peer.socket.readyState === 'open';
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('the connection cap', () => {
  test('closes the oldest connection still sending its body first, then one waiting for its request', async () => {
    const { port, nextRequest, connections } = await listen(2);
    const idle = await open(port);
    const arrived = nextRequest();
    const slowBody = await open(port, 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{');
    await arrived;

    // Over the cap: the body still arriving goes, though the idle connection is older.
    const first = await open(port);
    await slowBody.whenClosed;
    await settle();
    assert.ok(isOpen(idle));
    assert.ok(isOpen(first));

    // Again: now the oldest connection with no request in progress goes.
    const second = await open(port);
    await idle.whenClosed;
    await settle();
    assert.ok(isOpen(first) && isOpen(second));
    assert.equal(connections.shed, 2);
    assert.equal(connections.open, 2);
  });

  test('never cuts off a request that has fully arrived: the newcomer is refused instead', async () => {
    const { port, nextRequest, pending, connections } = await listen(1);
    const arrived = nextRequest();
    const busy = await open(port, 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
    await arrived;
    const newcomer = await open(port);
    await newcomer.whenClosed;
    pending[0]?.res.end('done');
    await settle();
    assert.match(busy.received, /^HTTP\/1\.1 200 OK[\s\S]*done$/);
    assert.equal(connections.shed, 1);
  });
});

describe('the drain', () => {
  test('answers with Connection: close, closes idle connections after the bound, and then resolves', async () => {
    const { port, nextRequest, pending, connections } = await listen(10);
    const inFlightArrived = nextRequest();
    const inFlight = await open(port, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
    await inFlightArrived;
    const idle = await open(port);
    const reused = await open(port);
    assert.ok(server);

    const drained = connections.drain({ idleMs: 300, deadlineMs: 10_000 });
    // No new connections once the drain has begun.
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED');

    // A request arriving on a kept-alive connection during the drain is answered, and told to close.
    const reusedArrived = nextRequest();
    reused.socket.write('GET /b HTTP/1.1\r\nHost: a\r\n\r\n');
    await reusedArrived;
    for (const { res } of pending) res.end('ok');
    await Promise.all([inFlight.whenClosed, reused.whenClosed, idle.whenClosed]);
    for (const peer of [inFlight, reused]) {
      assert.match(peer.received, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(peer.received, /\r\nConnection: close\r\n/i);
    }
    assert.equal(idle.received, '', 'the idle connection was closed without a word: a FIN, no reset');
    assert.deepEqual(await drained, { answered: 2, idle: 1, destroyed: 0 });
  });

  test('destroys what is still busy at the deadline', async () => {
    const { port, nextRequest, connections } = await listen(10);
    const arrived = nextRequest();
    const stuck = await open(port, 'GET /never HTTP/1.1\r\nHost: a\r\n\r\n');
    await arrived;
    assert.ok(server);
    const result = await connections.drain({ idleMs: 100, deadlineMs: 300 });
    await stuck.whenClosed;
    assert.deepEqual(result, { answered: 0, idle: 0, destroyed: 1 });
  });
});
