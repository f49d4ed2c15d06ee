/**
 * The idle bound (COHERA_IDLE_TIMEOUT_SECONDS), swept by ClientConnections (http/client-connections.ts)
 * instead of Node's per-socket `server.timeout`, on real sockets on loopback: a request on which nothing
 * moves is closed, one that keeps moving is not, nor a kept-alive connection between requests, nor a slow
 * reader draining a large answer, while a client that stops reading altogether is closed. The sweep's timer
 * never keeps the process alive and stops with the app.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp } from '../../src/app.ts';
import { ClientConnections } from '../../src/http/client-connections.ts';
import { idleCheckIntervalMs } from '../../src/http/client-limits.ts';
import { testConfig } from '../support/config.ts';
import { openRawPeer, type RawPeer } from '../support/raw-peer.ts';

/** The idle bound of the plain servers below: swept every 250 ms, closed 300 to about 750 ms after the last movement. */
const IDLE_MS = 300;
/** Long enough for any idle connection to have been closed. */
const PAST_IDLE_MS = 1500;
/** A peer still open after this has not been closed by the sweep. */
const GUARD_MS = 10_000;

type Peer = RawPeer;

let server: Server | undefined;
let connections: ClientConnections | undefined;
const peers: Peer[] = [];

afterEach(async () => {
  connections?.stop();
  for (const peer of peers.splice(0)) peer.socket.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
  connections = undefined;
});

async function listen(handler: RequestListener, idleMs = IDLE_MS) {
  server = createServer(handler);
  connections = new ClientConnections(server, 100, { idleMs });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, connections, server };
}

const open = (port: number, options: { keepBody?: boolean } = {}): Promise<Peer> =>
  openRawPeer(port, peers, options);

/** Resolves when the peer is closed; fails if it is still open after the guard. */
async function closedWithin(peer: Peer, ms = GUARD_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<'open'>((resolve) => {
    timer = setTimeout(() => resolve('open'), ms);
  });
  const outcome = await Promise.race([peer.whenClosed.then(() => 'closed' as const), guard]);
  clearTimeout(timer);
  assert.equal(outcome, 'closed', 'the server left the connection open');
}

async function until(condition: () => boolean, what: string, ms = GUARD_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await sleep(10);
  assert.ok(condition(), what);
}

/** Answers once the whole body has arrived. */
const echoLength: RequestListener = (req, res) => {
  let length = 0;
  req.on('data', (chunk: Buffer) => {
    length += chunk.length;
  });
  req.on('end', () => res.end(`got ${length}`));
};

/** Writes `total` bytes in 64 KiB chunks, waiting for 'drain' whenever the socket's buffer is full. */
async function writeLarge(res: ServerResponse, total: number): Promise<{ stalls: number }> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let stalls = 0;
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (res.destroyed) return { stalls };
    if (!res.write(chunk)) {
      stalls += 1;
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  res.end();
  return { stalls };
}

const MiB = 1024 * 1024;

test('the sweep runs a tenth of the bound apart, from 250 ms to 5 s', () => {
  assert.equal(idleCheckIntervalMs(300), 250);
  assert.equal(idleCheckIntervalMs(1000), 250);
  assert.equal(idleCheckIntervalMs(30_000), 3000);
  assert.equal(idleCheckIntervalMs(120_000), 5000);
});

describe('a request under way', () => {
  test('on which nothing moves is closed after the idle bound, without an answer', async () => {
    const { port, connections } = await listen(echoLength);
    const peer = await open(port);
    peer.socket.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
    await closedWithin(peer);
    assert.equal(peer.received, '', 'closed without a word, as server.timeout did');
    assert.equal(connections.idleClosed, 1);
    await until(() => connections.open === 0, 'the server side closed too');
  });

  test('whose body keeps trickling in is not closed, and is answered', async () => {
    const { port, connections } = await listen(echoLength);
    const peer = await open(port);
    const length = 8;
    peer.socket.write(`POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: ${length}\r\n\r\n`);
    // One byte every third of the bound, for well over twice the bound.
    for (let i = 0; i < length; i++) {
      await sleep(IDLE_MS / 3);
      assert.ok(!peer.closed, `open after ${i} bytes`);
      peer.socket.write('x');
    }
    await until(() => peer.received.endsWith(`got ${length}`), 'answered');
    assert.match(peer.received, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(!peer.closed);
    assert.equal(connections.idleClosed, 0);
  });

  test('whose handler is silent but still working is closed after the bound, as any idle request', async () => {
    const { port, connections } = await listen(() => {});
    const peer = await open(port);
    peer.socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
    await closedWithin(peer);
    assert.equal(connections.idleClosed, 1);
  });
});

test('a kept-alive connection idle between requests is left to the keep-alive timeout', async () => {
  const { port, connections, server } = await listen((_req, res) => res.end('ok'));
  server.keepAliveTimeout = 5000;
  const peer = await open(port);
  peer.socket.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
  await until(() => peer.received.endsWith('ok'), 'first answer');
  await sleep(PAST_IDLE_MS);
  assert.ok(!peer.closed, 'still open between requests');
  peer.socket.write('GET /b HTTP/1.1\r\nHost: a\r\n\r\n');
  await until(
    () => peer.received.split('HTTP/1.1 200 OK').length === 3,
    'second answer on the same connection',
  );
  assert.equal(connections.idleClosed, 0);
});

describe('a large answer', () => {
  const TOTAL = 64 * MiB;

  /** A server answering with TOTAL bytes written as the reader takes them, and a client connected to it. */
  async function largeAnswer() {
    const answer: { response?: ServerResponse; written?: Promise<{ stalls: number }> } = {};
    const { port, connections } = await listen((_req, res) => {
      answer.response = res;
      answer.written = writeLarge(res, TOTAL);
    });
    const peer = await open(port, { keepBody: false });
    return { connections, peer, answer };
  }

  // Written as the reader takes it, as a stream is: each write the kernel accepts counts as movement. (One
  // write larger than the kernel takes at once shows no movement until it completes, as with server.timeout.)
  test('read by a slow reader that pauses for less than the bound is not closed', async () => {
    const { connections, peer, answer } = await largeAnswer();
    const { socket } = peer;
    let sincePause = 0;
    let pauses = 0;
    let stalledInPause = 0;
    socket.on('data', (chunk: Buffer) => {
      sincePause += chunk.length;
      if (sincePause < 4 * MiB) return;
      sincePause = 0;
      socket.pause();
      pauses += 1;
      setTimeout(() => {
        // The server has not been able to finish meanwhile: the pause held its writes up.
        if (answer.response && !answer.response.writableFinished) stalledInPause += 1;
        socket.resume();
      }, IDLE_MS / 2);
    });
    socket.write('GET /large HTTP/1.1\r\nHost: a\r\n\r\n');
    await until(() => peer.bytes > TOTAL || peer.closed, 'the whole answer read');
    assert.ok(peer.bytes > TOTAL, `the whole answer read: ${peer.bytes} bytes`);
    const { stalls } = (await answer.written) ?? { stalls: 0 };
    assert.ok(stalls > 0, 'the writes had to wait for the reader');
    // Pauses of half the bound kept the writes waiting for longer than twice the bound in all.
    assert.ok(
      stalledInPause * (IDLE_MS / 2) > 2 * IDLE_MS,
      `held up in ${stalledInPause} of ${pauses} pauses`,
    );
    assert.ok(!peer.closed);
    assert.equal(connections.idleClosed, 0);
  });

  test('to a client that stops reading is closed after the bound', async () => {
    const { connections, peer, answer } = await largeAnswer();
    peer.socket.pause();
    peer.socket.write('GET /large HTTP/1.1\r\nHost: a\r\n\r\n');
    // A paused client does not see the close until it reads: the server's side tells first.
    await until(() => connections.idleClosed === 1, 'closed by the sweep');
    assert.ok(((await answer.written)?.stalls ?? 0) > 0, 'the writes stalled, for good');
    assert.ok(answer.response && !answer.response.writableFinished, 'the answer was cut off');
    peer.socket.resume();
    await closedWithin(peer);
    assert.ok(peer.bytes < TOTAL, `only ${peer.bytes} bytes arrived`);
  });
});

describe('the sweep', () => {
  test('stops with stop(): a request on which nothing moves then stays open', async () => {
    const { port, connections } = await listen(echoLength);
    connections.stop();
    const peer = await open(port);
    peer.socket.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
    await sleep(PAST_IDLE_MS);
    assert.ok(!peer.closed);
    assert.equal(connections.idleClosed, 0);
  });

  test('never keeps the process alive', async () => {
    // A process that watches a server, listens, accepts a connection and closes it all, without stop().
    const script = `
      import { createServer } from 'node:http';
      import { connect } from 'node:net';
      import { ClientConnections } from ${JSON.stringify(new URL('../../src/http/client-connections.ts', import.meta.url).href)};
      const server = createServer((_req, res) => res.end('ok'));
      new ClientConnections(server, 10, { idleMs: 60_000 });
      server.listen(0, '127.0.0.1', () => {
        const socket = connect(server.address().port, '127.0.0.1', () => {
          socket.end('GET / HTTP/1.1\\r\\nHost: a\\r\\nConnection: close\\r\\n\\r\\n');
        });
        socket.resume();
        socket.on('close', () => server.close(() => console.log('closed')));
      });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      new Promise<number | null>((resolve) => child.on('exit', resolve)),
      new Promise<'alive'>((resolve) => {
        timer = setTimeout(() => resolve('alive'), GUARD_MS);
      }),
    ]);
    clearTimeout(timer);
    if (code === 'alive') child.kill();
    assert.equal(code, 0, output);
    assert.equal(output.trim(), 'closed');
  });
});

test('through the app: COHERA_IDLE_TIMEOUT_SECONDS closes a stalled request before the request timeout', async () => {
  const app = await buildApp(
    testConfig({
      COHERA_IDLE_TIMEOUT_SECONDS: '1',
      COHERA_REQUEST_TIMEOUT_SECONDS: '30',
      COHERA_LOG_LEVEL: 'silent',
    }),
  );
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    assert.equal(app.server.timeout, 0);
    const peer = await open((app.server.address() as AddressInfo).port);
    peer.socket.write(
      'POST /auth/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":',
    );
    await closedWithin(peer);
    assert.equal(peer.received, '', 'closed for idling, not answered 408');
    assert.equal(app.connections.idleClosed, 1);
    const metrics = await app.metrics.registry.metrics();
    assert.match(metrics, /^cohera_http_connections_idle_closed_total 1$/m);
  } finally {
    await app.close();
  }
});
