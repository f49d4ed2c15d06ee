/**
 * The rate-limiter port. A request consumes one unit from several fixed windows at once (the org's minute
 * and day, a key's own minute): all or nothing, so a request rejected by one window consumes nothing from
 * the others (the failure of rate-limiter-flexible's RateLimiterUnion, its issues #280 and #150). Windows
 * align to multiples of their length since the Unix epoch: minutes to the clock minute, days to 00:00 UTC.
 */

export interface WindowSpec {
  /** Counter id, unique per subject and window kind (the window index is appended by the limiter). */
  key: string;
  /** Name shown in the IETF RateLimit fields (`"minute"`, `"day"`). */
  name: string;
  limit: number;
  windowSeconds: number;
}

export interface WindowState {
  spec: WindowSpec;
  /** Requests counted in the current window after this decision. */
  used: number;
  remaining: number;
  /** When the window resets, in Unix epoch seconds. */
  resetAt: number;
}

export interface Decision {
  allowed: boolean;
  windows: WindowState[];
}

export interface RateLimiter {
  readonly backend: 'memory' | 'redis';
  /** Counts one request against every window if all have room; otherwise counts nothing. */
  consume(windows: readonly WindowSpec[], nowMs: number): Decision | Promise<Decision>;
  /**
   * `consume` with its answer passed to `then` instead of returned (a limiter that answers later, Redis):
   * the request path's form, which spares it a promise per request. Calls `then` exactly once; never throws.
   */
  consumeThen?(windows: readonly WindowSpec[], nowMs: number, then: (decision: Decision) => void): void;
  /** Reads the windows without counting (e.g. "is this IP blocked?"). */
  peek(windows: readonly WindowSpec[], nowMs: number): Decision | Promise<Decision>;
  /**
   * Gives back the unit a `consume` of the same windows at the same `nowMs` counted: for an attempt that was
   * reserved up front and turned out not to count (a successful sign-in). Never below zero; a window that
   * has rolled over since is left alone, so a late release cannot eat into the next window's budget.
   */
  release(windows: readonly WindowSpec[], nowMs: number): void | Promise<void>;
  close(): Promise<void>;
}

export function windowIndex(nowMs: number, windowSeconds: number): number {
  return Math.floor(nowMs / 1000 / windowSeconds);
}

export function windowResetAt(nowMs: number, windowSeconds: number): number {
  return (windowIndex(nowMs, windowSeconds) + 1) * windowSeconds;
}

/** Builds the decision from the counts before this request (`counts[i]` for `windows[i]`). */
export function decide(
  windows: readonly WindowSpec[],
  countsBefore: readonly number[],
  nowMs: number,
  consume: boolean,
): Decision {
  let allowed = true;
  for (let i = 0; i < windows.length; i++) {
    if ((countsBefore[i] ?? 0) >= (windows[i] as WindowSpec).limit) allowed = false;
  }
  const counted = allowed && consume ? 1 : 0;
  return {
    allowed,
    windows: windows.map((spec, i) => {
      const used = (countsBefore[i] ?? 0) + counted;
      return {
        spec,
        used,
        remaining: Math.max(0, spec.limit - used),
        resetAt: windowResetAt(nowMs, spec.windowSeconds),
      };
    }),
  };
}
