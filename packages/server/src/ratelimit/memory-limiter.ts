/**
 * The in-memory limiter: exact for one node, synchronous (no promise on the hot path). Old windows are
 * swept periodically so memory stays proportional to active subjects.
 */
import {
  type Decision,
  decide,
  type RateLimiter,
  type WindowSpec,
  type WindowState,
  windowIndex,
  windowResetAt,
} from './limiter.ts';

interface Counter {
  window: number;
  count: number;
  /** Epoch ms after which the counter is garbage. */
  expiresAt: number;
}

export class MemoryRateLimiter implements RateLimiter {
  readonly backend = 'memory' as const;
  readonly #counters = new Map<string, Counter>();
  #lastSweep = 0;

  #count(spec: WindowSpec, nowMs: number): number {
    const counter = this.#counters.get(spec.key);
    return counter && counter.window === windowIndex(nowMs, spec.windowSeconds) ? counter.count : 0;
  }

  /**
   * One pass to read the windows, one to count: a counter is updated in place (a new window resets it), so
   * a request allocates only its decision.
   */
  consume(windows: readonly WindowSpec[], nowMs: number): Decision {
    this.#sweep(nowMs);
    const n = windows.length;
    const states: WindowState[] = new Array(n);
    let allowed = true;
    for (let i = 0; i < n; i++) {
      const spec = windows[i] as WindowSpec;
      const before = this.#count(spec, nowMs);
      if (before >= spec.limit) allowed = false;
      states[i] = { spec, used: before, remaining: 0, resetAt: windowResetAt(nowMs, spec.windowSeconds) };
    }
    for (let i = 0; i < n; i++) {
      const state = states[i] as WindowState;
      if (allowed) {
        state.used++;
        this.#increment(state.spec, nowMs);
      }
      state.remaining = Math.max(0, state.spec.limit - state.used);
    }
    return { allowed, windows: states };
  }

  #increment(spec: WindowSpec, nowMs: number): void {
    const window = windowIndex(nowMs, spec.windowSeconds);
    const counter = this.#counters.get(spec.key);
    if (counter === undefined) {
      this.#counters.set(spec.key, { window, count: 1, expiresAt: (window + 1) * spec.windowSeconds * 1000 });
    } else if (counter.window !== window) {
      counter.window = window;
      counter.count = 1;
      counter.expiresAt = (window + 1) * spec.windowSeconds * 1000;
    } else {
      counter.count++;
    }
  }

  peek(windows: readonly WindowSpec[], nowMs: number): Decision {
    return decide(
      windows,
      windows.map((spec) => this.#count(spec, nowMs)),
      nowMs,
      false,
    );
  }

  release(windows: readonly WindowSpec[], nowMs: number): void {
    for (const spec of windows) {
      const counter = this.#counters.get(spec.key);
      // Only the window the unit was counted in: after a roll-over the counter belongs to a new window.
      if (counter && counter.window === windowIndex(nowMs, spec.windowSeconds) && counter.count > 0) {
        counter.count--;
      }
    }
  }

  #sweep(nowMs: number): void {
    if (nowMs - this.#lastSweep < 10_000) return;
    this.#lastSweep = nowMs;
    for (const [key, counter] of this.#counters) if (counter.expiresAt <= nowMs) this.#counters.delete(key);
  }

  /**
   * The counts of windows not yet over, with the window each belongs to: what the fleet limiter hands back
   * to Redis after deciding locally during an outage (redis-limiter.ts).
   */
  current(nowMs: number): Array<{ key: string; window: number; count: number; expiresAt: number }> {
    const out: Array<{ key: string; window: number; count: number; expiresAt: number }> = [];
    for (const [key, counter] of this.#counters) {
      if (counter.expiresAt > nowMs && counter.count > 0) out.push({ key, ...counter });
    }
    return out;
  }

  async close(): Promise<void> {
    this.#counters.clear();
  }
}
