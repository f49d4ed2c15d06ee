/**
 * A TCP proxy on loopback in front of a real server (the test PostgreSQL), for injecting network faults
 * without touching the server other suites share: `freeze()` stops moving bytes either way (a peer that
 * accepts connections and never answers, as a frozen or partitioned database does), `thaw()` moves them
 * again, `refuse()` drops every connection and refuses new ones.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class FreezableProxy {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #frozen = false;
  #refusing = false;
  port = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = createServer((client) => this.#accept(client));
  }

  /** A proxy to `url`'s host and port; `urlThrough(url)` is the same URL pointed at the proxy. */
  static async start(url: string): Promise<FreezableProxy> {
    const parsed = new URL(url);
    const proxy = new FreezableProxy({ host: parsed.hostname, port: Number(parsed.port || 5432) });
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    const address = proxy.#server.address();
    proxy.port = typeof address === 'object' && address ? address.port : 0;
    return proxy;
  }

  urlThrough(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.href;
  }

  #accept(client: Socket): void {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection(this.#target);
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
    // After pipe(), which puts its source in flowing mode.
    if (this.#frozen) for (const socket of [client, upstream]) socket.pause();
  }

  freeze(): void {
    this.#frozen = true;
    for (const socket of this.#sockets) socket.pause();
  }

  thaw(): void {
    this.#frozen = false;
    this.#refusing = false;
    for (const socket of this.#sockets) socket.resume();
  }

  /** Drops every connection (both ends see a reset) and refuses new ones until `thaw()`. */
  refuse(): void {
    this.#refusing = true;
    for (const socket of this.#sockets) socket.resetAndDestroy();
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
