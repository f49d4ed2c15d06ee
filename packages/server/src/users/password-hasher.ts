/**
 * The one way the server runs argon2id on a request path (sign-in, and the new password of an invited
 * person): at most `concurrency` hashes in flight per node, and at most `queueLimit`
 * more waiting for a slot. Beyond that the caller is refused at once (PasswordHashingBusy → 503 with
 * Retry-After), never left waiting without bound.
 *
 * Why a bound: each argon2id hash takes ~20 ms of CPU and 19 MiB, and runs on libuv's thread pool (4
 * threads by default), which file reads, DNS lookups and WebCrypto (JWT signatures) share. Unbounded, a
 * sign-in flood from many addresses (each within its own throttling budget) fills every pool thread and
 * every core, and API requests that need none of it stall behind it. Bounded, the flood queues behind a
 * few slots and the rest of the server keeps answering.
 *
 * An unknown email is verified against a dummy hash through the same slots, so it costs the same time, and
 * waits in the same queue, as a wrong password: timing does not tell whether an account exists.
 */
import { randomBytes } from 'node:crypto';
import { hashPassword, passwordMatches } from './passwords.ts';

export interface PasswordHasherOptions {
  /** Hashes in flight at once on this node (≥ 1). */
  concurrency: number;
  /** Hashes allowed to wait for a slot (≥ 0); one more is refused. */
  queueLimit: number;
}

/** Every slot is busy and the queue is full: the caller should answer 503 with Retry-After. */
export class PasswordHashingBusy extends Error {
  constructor() {
    super('too many password hashes in progress');
    this.name = 'PasswordHashingBusy';
  }
}

let dummyHash: Promise<string> | null = null;

export class PasswordHasher {
  readonly concurrency: number;
  readonly queueLimit: number;
  #inFlight = 0;
  /** Resolvers of the jobs waiting for a slot, oldest first. */
  readonly #waiting: Array<() => void> = [];
  /** argon2 verifications started since start: what tests count. */
  started = 0;
  /** The most hashes ever in flight at once: never above `concurrency`. */
  peakInFlight = 0;
  /** Operations refused because the queue was full (a metric). */
  rejected = 0;

  constructor(options: PasswordHasherOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1)
      throw new RangeError('concurrency must be an integer ≥ 1');
    if (!Number.isInteger(options.queueLimit) || options.queueLimit < 0)
      throw new RangeError('queueLimit must be an integer ≥ 0');
    this.concurrency = options.concurrency;
    this.queueLimit = options.queueLimit;
  }

  /** Hashes running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Hashes waiting for a slot now. */
  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * Verifies `password` against `stored`, or against a dummy hash when there is no such user (same cost,
   * same queue, always false). Throws PasswordHashingBusy when the queue is full.
   */
  verify(stored: string | null, password: string): Promise<boolean> {
    return this.#run(async () => {
      if (stored !== null) return passwordMatches(stored, password);
      dummyHash ??= hashPassword(randomBytes(16).toString('base64url'));
      await passwordMatches(await dummyHash, password);
      return false;
    });
  }

  /**
   * Hashes a new password (accepting an invitation as a new user) through the same slots and queue as
   * verification. Throws PasswordHashingBusy when the queue is full.
   */
  hash(password: string): Promise<string> {
    return this.#run(() => hashPassword(password));
  }

  async #run<T>(job: () => Promise<T>): Promise<T> {
    await this.#acquire();
    this.started++;
    try {
      return await job();
    } finally {
      this.#handOver();
    }
  }

  #acquire(): Promise<void> {
    if (this.#inFlight < this.concurrency) {
      this.#inFlight++;
      if (this.#inFlight > this.peakInFlight) this.peakInFlight = this.#inFlight;
      return Promise.resolve();
    }
    if (this.#waiting.length >= this.queueLimit) {
      this.rejected++;
      return Promise.reject(new PasswordHashingBusy());
    }
    return new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** A finished job passes its slot straight to the oldest waiter (FIFO), or frees it. */
  #handOver(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#inFlight--;
  }
}
