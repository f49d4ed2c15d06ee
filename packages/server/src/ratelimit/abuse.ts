/**
 * Abuse protection (DESIGN §5.2): credentials and passwords must not be guessable at speed.
 *
 * - Failed authentication is counted per client IP in the shared limiter (global across a fleet). Once an
 *   IP passes the limit, this node blocks it until the window ends: a local Map lookup, so requests with
 *   good credentials pay no extra round trip, and a blocked IP learns nothing about the keys it tries.
 * - Sign-in is limited per IP and per account, checked before the password is verified.
 */
import type { Clock } from '../clock.ts';
import { ApiError } from '../http/errors.ts';
import { retryAfterSeconds } from './headers.ts';
import type { Decision, RateLimiter, WindowSpec } from './limiter.ts';

/** Counting windows never reject by themselves; the block decision is ours. */
const UNLIMITED = Number.MAX_SAFE_INTEGER;

export interface AbuseLimits {
  authFailuresPerMinute: number;
  loginFailuresPerIpPerMinute: number;
  loginFailuresPerAccountPer15Minutes: number;
}

export const DEFAULT_ABUSE_LIMITS: AbuseLimits = {
  authFailuresPerMinute: 20,
  loginFailuresPerIpPerMinute: 20,
  loginFailuresPerAccountPer15Minutes: 10,
};

function rateLimited(retryAfter: number, what: string): ApiError {
  return new ApiError('rate_limited', `Too many ${what}; retry in ${retryAfter} s`, {
    headers: { 'retry-after': String(retryAfter) },
  });
}

export class AuthFailureGuard {
  readonly #limiter: RateLimiter;
  readonly #clock: Clock;
  readonly #limits: AbuseLimits;
  /** IP → epoch ms until which it is blocked on this node. */
  readonly #blocked = new Map<string, number>();

  constructor(limiter: RateLimiter, clock: Clock, limits: AbuseLimits = DEFAULT_ABUSE_LIMITS) {
    this.#limiter = limiter;
    this.#clock = clock;
    this.#limits = limits;
  }

  /** A 429 for a blocked IP, or null. Synchronous: one Map lookup. */
  blocked(ip: string): ApiError | null {
    const until = this.#blocked.get(ip);
    if (until === undefined) return null;
    const now = this.#clock.now();
    if (until <= now) {
      this.#blocked.delete(ip);
      return null;
    }
    return rateLimited(Math.max(1, Math.ceil((until - now) / 1000)), 'failed authentication attempts');
  }

  /** Counts a failed authentication; blocks the IP once it passes the limit. Never throws. */
  async recordFailure(ip: string): Promise<void> {
    const window: WindowSpec = {
      key: `authfail:{${ip}}`,
      name: 'auth-failures',
      limit: UNLIMITED,
      windowSeconds: 60,
    };
    try {
      const now = this.#clock.now();
      const decision = await this.#limiter.consume([window], now);
      const state = decision.windows[0];
      if (state && state.used >= this.#limits.authFailuresPerMinute) {
        this.#blocked.set(ip, state.resetAt * 1000);
        if (this.#blocked.size > 100_000) this.#sweep(now);
      }
    } catch {
      // Counting failures is best effort; authentication itself has already failed closed.
    }
  }

  #sweep(now: number): void {
    for (const [ip, until] of this.#blocked) if (until <= now) this.#blocked.delete(ip);
  }
}

export class LoginThrottle {
  readonly #limiter: RateLimiter;
  readonly #clock: Clock;
  readonly #limits: AbuseLimits;

  constructor(limiter: RateLimiter, clock: Clock, limits: AbuseLimits = DEFAULT_ABUSE_LIMITS) {
    this.#limiter = limiter;
    this.#clock = clock;
    this.#limits = limits;
  }

  #windows(ip: string, email: string, counting: boolean): WindowSpec[] {
    return [
      {
        key: `loginip:{${ip}}`,
        name: 'login-ip',
        limit: counting ? UNLIMITED : this.#limits.loginFailuresPerIpPerMinute,
        windowSeconds: 60,
      },
      {
        key: `loginacct:{${email}}`,
        name: 'login-account',
        limit: counting ? UNLIMITED : this.#limits.loginFailuresPerAccountPer15Minutes,
        windowSeconds: 900,
      },
    ];
  }

  /** Throws a 429 when this IP or account has failed too often. */
  async check(ip: string, email: string): Promise<void> {
    const now = this.#clock.now();
    const decision: Decision = await this.#limiter.peek(this.#windows(ip, email, false), now);
    if (!decision.allowed) throw rateLimited(retryAfterSeconds(decision, now), 'failed sign-in attempts');
  }

  async recordFailure(ip: string, email: string): Promise<void> {
    try {
      await this.#limiter.consume(this.#windows(ip, email, true), this.#clock.now());
    } catch {
      // best effort, as above
    }
  }
}
