/**
 * Two transports at once, for a fleet on PostgreSQL with Redis: every message goes out over Redis pub/sub
 * AND PostgreSQL NOTIFY, and every node listens on both. Why both rather than Redis with PostgreSQL as a
 * fallback: a fallback needs a node to decide that Redis is gone before it switches, and a revocation sent
 * in that moment (or by a node cut off from Redis while the others still reach it) is lost for the cache
 * TTL; sending on both needs no decision, and the database that just committed the change is the one path
 * certain to be up. The cost is small: changes are rare next to requests, and a message arriving twice
 * evicts twice (evictions are idempotent).
 *
 * Healthy while either transport delivers: caches keep their normal TTL as long as one path can still tell
 * them about a change.
 */
import { BusHealth, HandlerSet, type Invalidation, type InvalidationBus } from './invalidation-bus.ts';

/** A transport the fan-out can send on without it also applying the message locally. */
export interface BroadcastingBus extends InvalidationBus {
  broadcast(message: Invalidation): void;
}

export class FanOutInvalidationBus implements InvalidationBus {
  readonly #transports: readonly BroadcastingBus[];
  readonly #handlers = new HandlerSet();
  readonly #health = new BusHealth();
  readonly #onError: (error: unknown) => void;

  constructor(
    transports: readonly [BroadcastingBus, ...BroadcastingBus[]],
    onError: (error: unknown) => void,
  ) {
    this.#transports = transports;
    this.#onError = onError;
    for (const transport of transports) {
      transport.subscribe((message) => this.#handlers.emit(message, onError));
      transport.onHealthChange(() => this.#health.set(transports.some((t) => t.healthy)));
    }
    this.#health.set(transports.some((t) => t.healthy));
  }

  get transport(): InvalidationBus['transport'] {
    return (this.#transports[0] as BroadcastingBus).transport;
  }

  get healthy(): boolean {
    return this.#health.healthy;
  }

  onHealthChange(handler: (healthy: boolean) => void): void {
    this.#health.onChange(handler);
  }

  async publish(message: Invalidation): Promise<void> {
    this.#handlers.emit(message, this.#onError); // this node once, at once
    for (const transport of this.#transports) transport.broadcast(message);
  }

  subscribe(handler: (message: Invalidation) => void): void {
    this.#handlers.add(handler);
  }

  async ready(): Promise<void> {
    await Promise.all(this.#transports.map((t) => t.ready()));
  }

  /** True when any transport sent everything: every node listens on all of them. */
  async flush(timeoutMs: number): Promise<boolean> {
    const sent = await Promise.all(this.#transports.map((t) => t.flush(timeoutMs)));
    return sent.some(Boolean);
  }

  async close(): Promise<void> {
    await Promise.all(this.#transports.map((t) => t.close()));
  }
}
