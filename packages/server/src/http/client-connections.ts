/**
 * The client connections of one node: a cap that keeps file descriptors for the node's own use, and a
 * graceful drain for shutdown that resets no connection a client may be using (docs/operations.md).
 *
 * The cap sheds the connection least likely to be a client being served: one more than the cap closes the
 * oldest connection whose request body is still arriving, else the oldest with no request in progress (its
 * next request's headers have not come, or it idles kept alive), else the newcomer. A slow-body or
 * slow-header attack so makes room for new clients instead of locking them out, and a request that has
 * fully arrived is never cut off. Node's `server.maxConnections` would refuse the newcomer instead, and
 * leave the node to whoever connected first.
 *
 * The drain replaces Node's `server.close()`, which destroys every connection idle at that instant: a
 * kept-alive client may be writing its next request on one just then, and gets a reset (ECONNRESET) for a
 * request that reached the node. HTTP/1.1 cannot tell a client that an idle connection is going away, so
 * the drain waits for the client to speak: every request arriving during the drain is answered (the
 * pipeline answers 503 `service_unavailable`) with `Connection: close`, which closes the connection after
 * it; a response already in progress gets `Connection: close` too when its headers are not yet out. A
 * connection on which nothing arrives for `idleMs` is then idle, not in use, and is closed with a FIN.
 *
 * The idle bound (COHERA_IDLE_TIMEOUT_SECONDS) closes a connection on which nothing moves either way while a
 * request is under way: a client that stops sending its body, or stops reading its answer. Node's
 * `server.timeout` would do it with a timer per socket, refreshed on every read and every write; here one
 * timer per node sweeps the open connections every `idleCheckIntervalMs` instead, and compares each busy
 * one's byte counters with what it saw before, so the request path does no work for it. A request is under
 * way from its headers' arrival until its response has finished (Node's `_httpMessage`); before the headers
 * the headers timeout governs, between requests the keep-alive timeout. A connection is destroyed, as Node
 * does on `server.timeout`, once its counters have not changed for `idleMs`: from `idleMs` to about
 * `idleMs` plus one sweep interval after anything last moved (up to two when the interval does not divide
 * `idleMs`). Progress within one write that the kernel takes long to accept is invisible, as it was to
 * `server.timeout`: a write counts when it is handed to the socket and when it completes.
 *
 * A node may listen on more than one address (COHERA_HOST=localhost: 127.0.0.1 and ::1, startup/listen.ts):
 * every server it listens with is watched, so the cap counts all of its connections and the drain closes
 * them all.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { idleCheckIntervalMs } from './client-limits.ts';

/**
 * A server-side socket and the response Node is writing on it. `_httpMessage` is Node's own record
 * (ServerResponse.assignSocket / detachSocket), what its closeIdleConnections() reads; it is only read here.
 */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

export interface ClientConnectionsOptions {
  /**
   * A connection with a request under way on which nothing moves either way for this long is destroyed
   * (COHERA_IDLE_TIMEOUT_SECONDS). Unset, connections are never closed for idling.
   */
  idleMs?: number;
}

/**
 * What the idle sweep last saw of a connection with a request under way (its signature), and when that
 * last changed (performance.now()).
 */
interface Movement {
  /** Bytes read from the client. */
  read: number;
  /** Bytes the app has written, flushed or not. */
  written: number;
  /** Bytes written and not yet handed to the kernel: falls as a slow reader drains a large answer. */
  unflushed: number;
  since: number;
}

export interface DrainOptions {
  /** A connection on which no request is in progress and nothing arrives for this long is closed. */
  idleMs: number;
  /** Connections still open after this long are destroyed, so the process can flush and exit. */
  deadlineMs: number;
}

export interface DrainResult {
  /** Connections closed after a response that said `Connection: close`, or by their client. */
  answered: number;
  /** Idle connections closed by the node. */
  idle: number;
  /** Connections still busy at the deadline, destroyed. */
  destroyed: number;
}

export class ClientConnections {
  /** Open connections, oldest first (a Set iterates in insertion order). */
  readonly #sockets = new Set<HttpSocket>();
  readonly #servers: Server[] = [];
  readonly #maxConnections: number;
  /** The idle sweep's record of the connections with a request under way; deleted when they close. */
  readonly #movements = new Map<HttpSocket, Movement>();
  readonly #idleMs: number;
  #sweep: NodeJS.Timeout | null = null;
  #stopped = false;
  #shed = 0;
  #idleClosed = 0;
  #drain: Drain | null = null;

  constructor(server: Server, maxConnections: number, options: ClientConnectionsOptions = {}) {
    this.#maxConnections = maxConnections;
    this.#idleMs = options.idleMs ?? 0;
    this.watch(server);
  }

  /** Counts and drains the connections of another server of this node (one more listening address). */
  watch(server: Server): void {
    this.#servers.push(server);
    // After Node's own 'connection' listener (added by http.Server), so the parser is in place.
    server.on('connection', (socket: HttpSocket) => this.#accept(socket));
    // A server watched while a drain runs (a listener that came up late) stops at once too.
    if (this.#drain) this.#drain.add(server);
    this.#startSweep();
  }

  /** Connections open now. */
  get open(): number {
    return this.#sockets.size;
  }

  /** Connections closed to stay within the cap since start. */
  get shed(): number {
    return this.#shed;
  }

  /** The idle bound in milliseconds; 0 for none. */
  get idleMs(): number {
    return this.#idleMs;
  }

  /** Connections closed since start because nothing moved on them for the idle bound during a request. */
  get idleClosed(): number {
    return this.#idleClosed;
  }

  /** Stops the idle sweep (the app's close; a finished drain stops it too). Open connections stay open. */
  stop(): void {
    this.#stopped = true;
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = null;
    this.#movements.clear();
  }

  /** One timer for all the servers watched, which never keeps the process alive. */
  #startSweep(): void {
    if (this.#sweep || this.#stopped || !(this.#idleMs > 0)) return;
    this.#sweep = setInterval(() => this.#sweepIdle(), idleCheckIntervalMs(this.#idleMs));
    this.#sweep.unref();
  }

  /** Destroys each connection whose request has seen nothing move for the idle bound (the file's comment). */
  #sweepIdle(): void {
    const now = performance.now();
    for (const socket of this.#sockets) {
      const movement = this.#movements.get(socket);
      if (!socket._httpMessage || socket.destroyed) {
        // No request under way: the headers or keep-alive timeout governs. The next one starts afresh.
        if (movement) this.#movements.delete(socket);
        continue;
      }
      const read = socket.bytesRead;
      const written = socket.bytesWritten;
      const unflushed = socket.writableLength;
      if (!movement) {
        this.#movements.set(socket, { read, written, unflushed, since: now });
      } else if (movement.read !== read || movement.written !== written || movement.unflushed !== unflushed) {
        movement.read = read;
        movement.written = written;
        movement.unflushed = unflushed;
        movement.since = now;
      } else if (now - movement.since >= this.#idleMs) {
        this.#idleClosed += 1;
        this.#movements.delete(socket);
        // What Node does on `server.timeout` when nothing listens for 'timeout'.
        socket.destroy();
      }
    }
  }

  #accept(socket: HttpSocket): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#movements.delete(socket);
      this.#drain?.closed(socket);
    });
    if (this.#sockets.size > this.#maxConnections) {
      this.#shed += 1;
      const victim = this.#victim(socket) ?? socket;
      // Out of the count at once: its 'close' comes later, and the next newcomer must not pay for it too.
      this.#sockets.delete(victim);
      victim.destroy();
      if (victim === socket) return;
    }
    this.#drain?.settle(socket);
  }

  /** The connection to close for a newcomer over the cap, or undefined to refuse the newcomer. */
  #victim(newcomer: HttpSocket): HttpSocket | undefined {
    let waiting: HttpSocket | undefined;
    for (const socket of this.#sockets) {
      if (socket === newcomer || socket.destroyed) continue;
      const response = socket._httpMessage;
      if (!response) waiting ??= socket;
      else if (!response.req.complete) return socket;
    }
    return waiting;
  }

  /**
   * Stops accepting connections and closes each open one once it is done with (see the file's comment).
   * Resolves when none is left. Call once; the pipeline should already answer new requests with 503.
   */
  drain(options: DrainOptions): Promise<DrainResult> {
    if (this.#drain) return this.#drain.done;
    const drain = new Drain(options, this.#sockets);
    for (const server of this.#servers) drain.add(server);
    this.#drain = drain;
    // No connection is left to sweep once the drain is done.
    void drain.done.then(() => this.stop());
    for (const socket of this.#sockets) drain.settle(socket);
    drain.check();
    return drain.done;
  }
}

/** One shutdown's drain: a timer per idle connection, a listener for requests arriving, one deadline. */
class Drain {
  readonly done: Promise<DrainResult>;
  readonly #servers: Server[] = [];
  readonly #options: DrainOptions;
  readonly #sockets: ReadonlySet<HttpSocket>;
  readonly #idleTimers = new Map<HttpSocket, NodeJS.Timeout>();
  readonly #result: DrainResult = { answered: 0, idle: 0, destroyed: 0 };
  readonly #closedIdle = new WeakSet<HttpSocket>();
  readonly #deadline: NodeJS.Timeout;
  #finish: (result: DrainResult) => void = () => {};
  #finished = false;

  constructor(options: DrainOptions, sockets: ReadonlySet<HttpSocket>) {
    this.#options = options;
    this.#sockets = sockets;
    this.done = new Promise((resolve) => {
      this.#finish = resolve;
    });
    this.#deadline = setTimeout(() => this.#expire(), options.deadlineMs);
  }

  /** Stops `server` accepting connections and says `Connection: close` on every request it still gets. */
  add(server: Server): void {
    if (this.#finished) return;
    this.#servers.push(server);
    // net.Server's close, not http.Server's: that one first destroys the idle connections (the race above).
    // Fastify's own server.close() later finds none left. A server that is not listening yet (or no longer)
    // only reports ERR_SERVER_NOT_RUNNING to this callback.
    NetServer.prototype.close.call(server, () => {});
    // First, before the app's listener: the response is not started yet, so it can still say close.
    server.prependListener('request', this.#onRequest);
  }

  readonly #onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    response.setHeader('connection', 'close');
    const socket = request.socket as HttpSocket;
    this.#clearIdle(socket);
    // A response that goes out without closing (its headers were replaced) leaves the connection idle.
    response.once('close', () => setImmediate(() => this.settle(socket)));
  };

  /** Decides what a connection waits for: its response to end, or a request within the idle bound. */
  settle(socket: HttpSocket): void {
    if (this.#finished || socket.destroyed || this.#closedIdle.has(socket)) return;
    const response = socket._httpMessage;
    if (response) {
      if (!response.headersSent) response.setHeader('connection', 'close');
      response.once('close', () => setImmediate(() => this.settle(socket)));
      return;
    }
    this.#armIdle(socket, socket.bytesRead);
  }

  #armIdle(socket: HttpSocket, bytesRead: number): void {
    this.#clearIdle(socket);
    const timer = setTimeout(() => {
      this.#idleTimers.delete(socket);
      if (socket.destroyed) return;
      // A request arrived (settled by #onRequest), or the headers of one are arriving: not idle.
      if (socket._httpMessage) return;
      if (socket.bytesRead !== bytesRead) return this.#armIdle(socket, socket.bytesRead);
      this.#closedIdle.add(socket);
      // A FIN: a client that reads it drops the connection from its pool; Node destroys the socket when
      // the client answers with its own, or the deadline does.
      socket.end();
    }, this.#options.idleMs);
    this.#idleTimers.set(socket, timer);
  }

  #clearIdle(socket: HttpSocket): void {
    const timer = this.#idleTimers.get(socket);
    if (timer) clearTimeout(timer);
    this.#idleTimers.delete(socket);
  }

  /** Told by ClientConnections when a connection has closed. */
  closed(socket: HttpSocket): void {
    this.#clearIdle(socket);
    if (this.#finished) return;
    if (this.#closedIdle.has(socket)) this.#result.idle += 1;
    else this.#result.answered += 1;
    this.check();
  }

  /** Finishes once no connection is left. */
  check(): void {
    if (this.#finished || this.#sockets.size > 0) return;
    this.#end();
  }

  #expire(): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const [socket] of this.#idleTimers) this.#clearIdle(socket);
    // What is still open is a request running past the deadline (or a client ignoring our FIN).
    this.#result.destroyed = this.#sockets.size;
    for (const socket of this.#sockets) socket.destroy();
    this.#end();
  }

  #end(): void {
    this.#finished = true;
    clearTimeout(this.#deadline);
    for (const server of this.#servers) server.removeListener('request', this.#onRequest);
    this.#finish({ ...this.#result });
  }
}
