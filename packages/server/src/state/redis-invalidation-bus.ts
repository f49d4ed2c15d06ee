/** Invalidation over Redis pub/sub: one connection publishes, a second one (in subscriber mode) listens. */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  decodeInvalidation,
  encodeInvalidation,
  HandlerSet,
  type Invalidation,
  type InvalidationBus,
} from './invalidation-bus.ts';

export class RedisInvalidationBus implements InvalidationBus {
  readonly transport = 'redis' as const;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #handlers = new HandlerSet();
  readonly #log: Logger;
  readonly #ready: Promise<void>;
  /** Settles when the publisher first connects or fails: a publish before that would be dropped. */
  readonly #publisherSettled: Promise<void>;
  #connectedOnce = false;

  constructor(url: string, prefix: string, log: Logger) {
    this.#channel = `${prefix}invalidate`;
    this.#log = log;
    // Fail fast instead of queueing: a publish that cannot go out is logged, and the TTL is the backstop.
    this.#publisher = new Redis(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: false,
    });
    this.#subscriber = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
    this.#publisher.on('error', () => {}); // reported through the subscriber's state below
    this.#publisherSettled = new Promise((resolve) => {
      this.#publisher.once('ready', () => resolve());
      this.#publisher.once('error', () => resolve());
    });
    this.#subscriber.on('error', (error: Error) =>
      this.#log.warn({ err: error.message }, 'redis invalidation bus error'),
    );
    this.#subscriber.on('message', (channel: string, raw: string) => {
      if (channel === this.#channel) this.#emit(decodeInvalidation(raw));
    });
    this.#ready = new Promise((resolve) => {
      this.#subscriber.on('ready', () => {
        // ioredis re-subscribes by itself after a reconnect; messages sent meanwhile are lost, so drop caches.
        if (this.#connectedOnce) {
          this.#log.warn('redis invalidation bus reconnected; clearing credential caches');
          this.#emit({ kind: 'all' });
        }
        this.#connectedOnce = true;
      });
      this.#subscriber.subscribe(this.#channel).then(
        () => resolve(),
        (error: unknown) => {
          this.#log.warn({ err: (error as Error).message }, 'redis subscribe failed');
          resolve();
        },
      );
    });
  }

  #emit(message: Invalidation): void {
    this.#handlers.emit(message, (error) => this.#log.error({ err: error }, 'invalidation handler failed'));
  }

  async publish(message: Invalidation): Promise<void> {
    this.#emit(message); // this node at once, whatever Redis does
    try {
      await this.#publisher.publish(this.#channel, encodeInvalidation(message));
    } catch (error) {
      this.#log.warn(
        { err: (error as Error).message },
        'redis publish failed; other nodes catch up by cache TTL',
      );
    }
  }

  subscribe(handler: (message: Invalidation) => void): void {
    this.#handlers.add(handler);
  }

  ready(): Promise<void> {
    // Both connections: an operator command publishes once right after start-up and then exits.
    return Promise.all([this.#ready, this.#publisherSettled]).then(() => undefined);
  }

  async close(): Promise<void> {
    // quit() lets a re-subscription ioredis sent after a reconnect settle; disconnect() mid-flight would
    // reject it unhandled. A connection that is down has nothing to settle.
    await Promise.all(
      [this.#subscriber, this.#publisher].map((redis) =>
        redis.status === 'ready'
          ? redis.quit().then(
              () => undefined,
              () => redis.disconnect(),
            )
          : redis.disconnect(),
      ),
    );
  }
}
