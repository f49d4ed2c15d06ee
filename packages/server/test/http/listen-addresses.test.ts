/**
 * A node that listens on two addresses (COHERA_HOST=localhost where it resolves to 127.0.0.1 and ::1,
 * startup/listen-addresses.ts): the second address is served by the same app, its connections count
 * against the same cap (COHERA_MAX_CONNECTIONS), its early client errors get our problem answers, and the
 * shutdown drain covers it. A real app on 127.0.0.1 and [::1] (skipped where the machine has no IPv6
 * loopback).
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import type { Server } from 'node:http';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenAddresses, listenAlso } from '../../src/startup/listen-addresses.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';

const hasIpv6Loopback = await new Promise<boolean>((resolve) => {
  const probe = createServer();
  probe.once('error', () => resolve(false));
  probe.listen(0, '::1', () => probe.close(() => resolve(true)));
});

interface Peer {
  socket: Socket;
  received: string;
  ended: boolean;
  error: NodeJS.ErrnoException | null;
  closed: Promise<void>;
}

function open(host: string, port: number): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let markClosed: () => void = () => {};
    const peer: Peer = {
      socket,
      received: '',
      ended: false,
      error: null,
      closed: new Promise((done) => {
        markClosed = done;
      }),
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      peer.received += chunk;
    });
    socket.on('end', () => {
      peer.ended = true;
      socket.end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      peer.error = error;
    });
    socket.on('close', () => markClosed());
    socket.once('connect', () => resolve(peer));
    socket.once('error', reject);
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(10);
  assert.ok(condition(), what);
}

test('listenAddresses: an IP or a name is itself; localhost is every address it resolves to', async () => {
  assert.deepEqual(await listenAddresses('127.0.0.1'), ['127.0.0.1']);
  assert.deepEqual(await listenAddresses('::1'), ['::1']);
  assert.deepEqual(await listenAddresses('0.0.0.0'), ['0.0.0.0']);
  const resolved = [...new Set((await lookup('localhost', { all: true })).map((entry) => entry.address))];
  assert.deepEqual(await listenAddresses('localhost'), resolved);
});

describe('a second listening address', { skip: hasIpv6Loopback ? false : 'no IPv6 loopback' }, () => {
  let handle: EngineHandle;
  let t: TestApp;
  let port = 0;
  let also: Server | null = null;

  before(async () => {
    handle = await prepareEngine('sqlite');
    t = await startTestApp(handle, {
      env: { COHERA_MAX_CONNECTIONS: '4', COHERA_HEADERS_TIMEOUT_SECONDS: '1' },
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
    also = await listenAlso(t.app, '::1', port, t.config.clientLimits);
  });
  after(async () => {
    await new Promise<void>((resolve) => (also ? also.close(() => resolve()) : resolve()));
    await t?.close();
    await handle?.cleanup();
  });

  test('is served by the same app', async () => {
    assert.ok(also, 'listening on ::1');
    assert.equal(also.timeout, 0, "no per-socket idle timer: the app's ClientConnections sweeps");
    for (const host of ['127.0.0.1', '[::1]']) {
      const response = await fetch(`http://${host}:${port}/health`);
      assert.equal(response.status, 200, host);
      assert.ok(response.headers.get('x-request-id'), 'through the pipeline');
    }
  });

  test('an early client error on it gets our problem answer, not a bare one', async () => {
    const peer = await open('::1', port);
    peer.socket.write('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    await peer.closed;
    assert.match(peer.received, /^HTTP\/1\.1 400 /);
    assert.match(peer.received, /application\/problem\+json/);
  });

  test('its connections count against the one cap: the oldest idle ones go, on either address', async () => {
    const peers: Peer[] = [];
    for (const host of ['127.0.0.1', '127.0.0.1', '::1', '::1', '::1', '::1']) {
      peers.push(await open(host, port));
      await sleep(20);
    }
    // Six connections, a cap of four: the two oldest (on 127.0.0.1) were closed for the two newest (on ::1).
    await until(() => peers.filter((p) => p.socket.destroyed).length >= 2, 'two connections shed');
    await sleep(100);
    assert.deepEqual(
      peers.map((p) => p.socket.destroyed),
      [true, true, false, false, false, false],
    );
    assert.equal(t.app.connections.open, 4);
    for (const peer of peers) peer.socket.destroy();
    await until(() => t.app.connections.open === 0, 'all closed');
  });

  test('the drain covers it: an idle kept-alive connection on ::1 gets a FIN, counted as idle', async () => {
    const peer = await open('::1', port);
    peer.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => peer.received.includes('\r\n\r\n'), 'answered');
    assert.match(peer.received, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(peer.received, /connection: close/i);
    const drained = await t.app.drainConnections(5_000);
    await peer.closed;
    assert.equal(peer.ended, true, 'closed with a FIN');
    assert.equal(peer.error, null, 'not reset');
    assert.deepEqual(drained, { answered: 0, idle: 1, destroyed: 0 });
    // The drain closed its listener too: nothing new is accepted there.
    await assert.rejects(open('::1', port), { code: 'ECONNREFUSED' });
  });
});
