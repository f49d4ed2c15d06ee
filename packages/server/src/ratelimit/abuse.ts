/**
 * Abuse protection (DESIGN §5.2): credentials and passwords must not be guessable at speed.
 *
 * - Failed authentication is counted per client IP in the shared limiter (global across a fleet). Once an
 *   IP passes the limit, this node blocks it until the window ends: a local Map lookup, so requests with
 *   good credentials pay no extra round trip, and a blocked IP learns nothing about the keys it tries.
 * - Sign-in is limited per IP and per account: each attempt is counted (reserved) atomically before the
 *   password hash runs, and given back when it succeeds.
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

/** An attempt counted up front (see LoginThrottle.reserve). */
export interface LoginAttempt {
  /** Gives the attempt back to its windows: once (later calls do nothing); never throws. */
  release(): Promise<void>;
}

/**
 * Counts one attempt against every window at once (all or nothing, one atomic step in the shared limiter),
 * before the work it guards; the seconds to wait when a window is full. The throttles of guessable secrets
 * (passwords, device user codes) build on this, and release the attempt when it was not a wrong guess.
 */
export async function reserveAttempt(
  limiter: RateLimiter,
  windows: WindowSpec[],
  now: number,
): Promise<LoginAttempt | { retryAfter: number }> {
  const decision: Decision = await limiter.consume(windows, now);
  if (!decision.allowed) return { retryAfter: retryAfterSeconds(decision, now) };
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      try {
        // The reservation's own time, so the unit goes back to the window that counted it.
        await limiter.release(windows, now);
      } catch {
        // Best effort: an unreleased unit only makes the limit stricter until its window ends.
      }
    },
  };
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

  #windows(ip: string, account: string): WindowSpec[] {
    return [
      {
        key: `loginip:{${ip}}`,
        name: 'login-ip',
        limit: this.#limits.loginFailuresPerIpPerMinute,
        windowSeconds: 60,
      },
      {
        key: `loginacct:{${account}}`,
        name: 'login-account',
        limit: this.#limits.loginFailuresPerAccountPer15Minutes,
        windowSeconds: 900,
      },
    ];
  }

  /**
   * Counts this attempt against its IP's and its account's windows, or throws a 429 when either is full —
   * in one atomic step (one Lua script on Redis, so across a fleet too), BEFORE the password is hashed.
   * Checking first and counting only after the ~20 ms hash let every attempt that arrived meanwhile pass the
   * check: 100 concurrent guesses at one account were all verified. Reserved first, at most `limit` attempts
   * per window can ever reach argon2, however concurrent. All or nothing: an attempt one window refuses
   * takes nothing from the other.
   *
   * The caller releases the attempt when it succeeds, so the windows keep counting failures only (a user
   * signing in often, or many users behind one office NAT, never fill them). Releasing gives back exactly
   * this attempt's unit and nothing more: a success never clears earlier failures, so an attacker who knows
   * one password (their own account) cannot reset an IP's budget for guessing at other accounts, and a
   * victim's sign-in does not hand the attacker guessing at it a fresh window.
   */
  async reserve(ip: string, account: string): Promise<LoginAttempt> {
    const attempt = await reserveAttempt(this.#limiter, this.#windows(ip, account), this.#clock.now());
    if ('retryAfter' in attempt) throw rateLimited(attempt.retryAfter, 'failed sign-in attempts');
    return attempt;
  }
}
