/**
 * A raw TCP client of a loopback server, for tests of what happens to connections (caps, drains, idle
 * bounds): what it received, how many bytes, and whether and when the connection closed. Each peer is kept
 * in the list given, so the test's cleanup can destroy what is left.
 */
import { connect, type Socket } from 'node:net';

export interface RawPeer {
  socket: Socket;
  /** What arrived, as latin1 (one character a byte); only the first 4 KiB when `keepBody` is false. */
  received: string;
  bytes: number;
  closed: boolean;
  /** Resolves when the connection has closed, either side first. */
  whenClosed: Promise<void>;
}

export interface RawPeerOptions {
  /** Sent once connected (a request, or the start of one). */
  text?: string;
  /** False for large answers: they are counted, and only their start is kept. */
  keepBody?: boolean;
}

export function openRawPeer(port: number, peers: RawPeer[], options: RawPeerOptions = {}): Promise<RawPeer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let markClosed: () => void = () => {};
    const peer: RawPeer = {
      socket,
      received: '',
      bytes: 0,
      closed: false,
      whenClosed: new Promise((done) => {
        markClosed = done;
      }),
    };
    peers.push(peer);
    socket.on('data', (chunk: Buffer) => {
      peer.bytes += chunk.length;
      if (options.keepBody !== false || peer.received.length < 4096)
        peer.received += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      peer.closed = true;
      markClosed();
    });
    socket.on('connect', () => {
      if (options.text) socket.write(options.text);
      resolve(peer);
    });
  });
}
