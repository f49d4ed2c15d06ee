/**
 * Invalidation over Redis pub/sub: one connection publishes, a second one (in subscriber mode) listens.
 *
 * Publishing never blocks the caller (publish-queue.ts): this node applies the message at once, and the
 * queue sends it to Redis in the background with a bounded wait per attempt, retrying until it goes out.
 *
 * Health: a subscriber connection to a frozen Redis (SIGSTOP, a stalled VM, a black-holed network) stays
 * "connected" and simply receives nothing, so the bus PINGs it every `PROBE_INTERVAL_MS` and counts itself
 * unhealthy when a PING goes unanswered for `probeTimeoutMs`, when the connection is down, or while
 * publishes fail. When it becomes healthy again it clears this node's caches, as after a reconnect: a
 * message sent meanwhile may never have arrived.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  BusHealth,
  decodeInvalidation,
  HandlerSet,
  type Invalidation,
  type InvalidationBus,
} from './invalidation-bus.ts';
import { PublishQueue } from './publish-queue.ts';

const PROBE_INTERVAL_MS = 500;

export interface RedisBusOptions {
  /** How long one publish attempt or one health PING may take (default 1 s). */
  timeoutMs?: number;
}

export class RedisInvalidationBus implements InvalidationBus {
  readonly transport = 'redis' as const;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #handlers = new HandlerSet();
  readonly #log: Logger;
  readonly #ready: Promise<void>;
  /** Settles when the publisher first connects or fails: a publish before that would wait for a retry. */
  readonly #publisherSettled: Promise<void>;
  readonly #queue: PublishQueue;
  readonly #health = new BusHealth();
  readonly #probe: NodeJS.Timeout;
  #probing = false;
  /** The last PING on the subscriber connection was answered in time. */
  #probeOk = true;
  #connectedOnce = false;

  constructor(url: string, prefix: string, log: Logger, options: RedisBusOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 1_000;
    this.#channel = `${prefix}invalidate`;
    this.#log = log;
    // Fail fast instead of queueing inside ioredis: our queue retries with backoff and knows its depth.
    this.#publisher = new Redis(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: timeoutMs,
      lazyConnect: false,
    });
    this.#subscriber = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
    this.#queue = new PublishQueue({
      send: (payload) => this.#publisher.publish(this.#channel, payload),
      timeoutMs,
      transport: 'redis',
      log,
    });
    this.#publisher.on('error', () => {}); // reported through the subscriber's state and the queue
    this.#publisherSettled = new Promise((resolve) => {
      this.#publisher.once('ready', () => resolve());
      this.#publisher.once('error', () => resolve());
    });
    // ioredis reports every failed reconnect: an outage is logged when it begins (here and by #assess),
    // the attempts during it only at debug.
    this.#subscriber.on('error', (error: Error) => {
      if (this.#health.healthy) this.#log.warn({ err: error.message }, 'redis invalidation bus error');
      else this.#log.debug({ err: error.message }, 'redis invalidation bus still unreachable');
    });
    this.#subscriber.on('message', (channel: string, raw: string) => {
      if (channel === this.#channel) this.#emit(decodeInvalidation(raw));
    });
    this.#subscriber.on('close', () => this.#assess());
    this.#ready = new Promise((resolve) => {
      this.#subscriber.on('ready', () => {
        // ioredis re-subscribes by itself after a reconnect; messages sent meanwhile are lost, so drop caches.
        if (this.#connectedOnce) {
          this.#log.warn('redis invalidation bus reconnected; clearing credential caches');
          this.#emit({ kind: 'all' });
        }
        this.#connectedOnce = true;
        this.#assess();
      });
      this.#subscriber.subscribe(this.#channel).then(
        () => resolve(),
        (error: unknown) => {
          this.#log.warn({ err: (error as Error).message }, 'redis subscribe failed');
          resolve();
        },
      );
    });
    this.#probe = setInterval(() => this.#ping(timeoutMs), PROBE_INTERVAL_MS);
    this.#probe.unref();
  }

  get healthy(): boolean {
    return this.#health.healthy;
  }

  onHealthChange(handler: (healthy: boolean) => void): void {
    this.#health.onChange(handler);
  }

  /** Messages waiting to go out (a metric). */
  get queued(): number {
    return this.#queue.depth;
  }

  /** One PING at a time on the subscriber connection: the one that must hear the other nodes. */
  #ping(timeoutMs: number): void {
    if (this.#probing || this.#subscriber.status !== 'ready') {
      this.#assess();
      return;
    }
    this.#probing = true;
    const timer = setTimeout(() => {
      this.#probeOk = false;
      this.#assess();
    }, timeoutMs);
    this.#subscriber.ping().then(
      () => {
        clearTimeout(timer);
        this.#probing = false;
        this.#probeOk = true;
        this.#assess();
      },
      () => {
        clearTimeout(timer);
        this.#probing = false;
        this.#probeOk = false;
        this.#assess();
      },
    );
  }

  #assess(): void {
    const healthy = this.#subscriber.status === 'ready' && this.#probeOk && !this.#queue.failing;
    if (healthy === this.#health.healthy) return;
    if (healthy) {
      this.#log.warn('redis invalidation bus healthy again; clearing credential caches');
      this.#emit({ kind: 'all' });
    } else {
      this.#log.warn(
        'redis invalidation bus unhealthy: credential caches use their short TTL until it is back',
      );
    }
    this.#health.set(healthy);
  }

  #emit(message: Invalidation): void {
    this.#handlers.emit(message, (error) => this.#log.error({ err: error }, 'invalidation handler failed'));
  }

  async publish(message: Invalidation): Promise<void> {
    this.#emit(message); // this node at once, whatever Redis does
    this.broadcast(message);
  }

  /** Queues a message for the other nodes only (the fan-out bus applies it locally once itself). */
  broadcast(message: Invalidation): void {
    this.#queue.enqueue(message);
  }

  subscribe(handler: (message: Invalidation) => void): void {
    this.#handlers.add(handler);
  }

  ready(): Promise<void> {
    // Both connections: an operator command publishes once right after start-up and then exits.
    return Promise.all([this.#ready, this.#publisherSettled]).then(() => undefined);
  }

  flush(timeoutMs: number): Promise<boolean> {
    return this.#queue.flush(timeoutMs);
  }

  async close(): Promise<void> {
    clearInterval(this.#probe);
    // Whatever was announced just before shutdown still goes out, within a bound.
    await this.#queue.flush(2_000);
    this.#queue.close();
    await Promise.all([quitWithin(this.#subscriber, 1_000), quitWithin(this.#publisher, 1_000)]);
  }
}

/**
 * quit() lets a re-subscription ioredis sent after a reconnect settle; disconnect() mid-flight would reject
 * it unhandled. A connection that is down has nothing to settle, and a frozen Redis never answers QUIT, so
 * the wait is bounded.
 */
async function quitWithin(redis: Redis, ms: number): Promise<void> {
  if (redis.status !== 'ready') return redis.disconnect();
  let timer: NodeJS.Timeout | undefined;
  const quit = redis.quit().then(
    () => true,
    () => false,
  );
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const quitInTime = await Promise.race([quit, late]);
  clearTimeout(timer);
  if (!quitInTime) redis.disconnect();
}
