/**
 * The outgoing side of a bus transport (issue 22, item 3). A change is committed before it is announced,
 * so the announcement must never hold the response: `enqueue` returns at once, and one background loop
 * sends the queue in order, each attempt bounded by `timeoutMs`, retrying a failed send with backoff
 * (100 ms doubling to 2 s) until it goes through or the bus closes. A frozen Redis or PostgreSQL therefore
 * delays the other nodes' evictions, never the request that caused them; meanwhile those nodes serve
 * their caches for the short TTL of a bus that is down (credential-freshness.ts).
 *
 * Bounded: past `maxPending` queued messages the queue collapses to one `{kind: 'all'}`, which subsumes
 * every eviction it replaces (each node empties its caches once, then reads storage afresh).
 */
import type { Logger } from 'pino';
import { encodeInvalidation, type Invalidation } from './invalidation-bus.ts';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2_000;

export interface PublishQueueOptions {
  /** Sends one encoded message to the other nodes; rejects (or never settles) when it cannot. */
  send(payload: string): Promise<unknown>;
  /** How long one attempt may take before it counts as failed and is retried. */
  timeoutMs: number;
  /** Names the transport in the log lines. */
  transport: string;
  log: Logger;
  maxPending?: number;
}

export class PublishQueue {
  readonly #options: PublishQueueOptions;
  readonly #maxPending: number;
  #pending: string[] = [];
  #draining: Promise<void> | null = null;
  /** True from a failed attempt until the next one that succeeds: the transport is not delivering. */
  #failing = false;
  #closed = false;
  /** Ends the backoff wait early (on close). */
  #wake: (() => void) | null = null;

  constructor(options: PublishQueueOptions) {
    this.#options = options;
    this.#maxPending = options.maxPending ?? 1_000;
  }

  /** Whether the last attempt failed (and messages are waiting for a retry). */
  get failing(): boolean {
    return this.#failing;
  }

  /** Messages not yet sent. */
  get depth(): number {
    return this.#pending.length;
  }

  /** Queues a message for the other nodes and returns at once; never throws. */
  enqueue(message: Invalidation): void {
    if (this.#closed) return;
    if (this.#pending.length >= this.#maxPending) {
      this.#options.log.warn(
        { transport: this.#options.transport, queued: this.#pending.length },
        'invalidation queue full; collapsing it to one "clear every cache" message',
      );
      this.#pending = [encodeInvalidation({ kind: 'all' })];
      return;
    }
    this.#pending.push(encodeInvalidation(message));
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
    });
  }

  /**
   * Waits until the queue is empty or `timeoutMs` passed; true when everything went out. For a process
   * about to exit (an operator command, a node shutting down) that should not take its messages with it.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.length > 0 && !this.#closed && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.#pending.length === 0;
  }

  /** Stops retrying; whatever is still queued is dropped (other nodes catch up by their cache TTL). */
  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  async #drain(): Promise<void> {
    let retryMs = FIRST_RETRY_MS;
    while (this.#pending.length > 0 && !this.#closed) {
      const payload = this.#pending[0] as string;
      try {
        await this.#attempt(payload);
        // The head may have been replaced by a collapse meanwhile; drop only what was sent.
        if (this.#pending[0] === payload) this.#pending.shift();
        retryMs = FIRST_RETRY_MS;
        if (this.#failing) {
          this.#failing = false;
          this.#options.log.warn(
            { transport: this.#options.transport, queued: this.#pending.length },
            'invalidation messages are going out again',
          );
        }
      } catch (error) {
        if (!this.#failing) {
          this.#failing = true;
          this.#options.log.warn(
            { transport: this.#options.transport, err: (error as Error).message },
            'invalidation publish failed; retrying in the background (other nodes use a short cache TTL meanwhile)',
          );
        }
        await this.#sleep(retryMs);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
    }
  }

  #attempt(payload: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer within ${this.#options.timeoutMs} ms`)),
        this.#options.timeoutMs,
      );
      this.#options.send(payload).then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      // A retry loop must not keep a finished process alive.
      timer.unref();
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }
}
