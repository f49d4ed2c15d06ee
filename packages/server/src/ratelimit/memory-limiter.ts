/**
 * The in-memory limiter: exact for one node, synchronous (no promise on the hot path). Old windows are
 * swept periodically so memory stays proportional to active subjects.
 */
import { type Decision, decide, type RateLimiter, type WindowSpec, windowIndex } from './limiter.ts';

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

  consume(windows: readonly WindowSpec[], nowMs: number): Decision {
    this.#sweep(nowMs);
    const before = windows.map((spec) => this.#count(spec, nowMs));
    const decision = decide(windows, before, nowMs, true);
    if (decision.allowed) {
      for (let i = 0; i < windows.length; i++) {
        const spec = windows[i] as WindowSpec;
        const window = windowIndex(nowMs, spec.windowSeconds);
        this.#counters.set(spec.key, {
          window,
          count: (before[i] ?? 0) + 1,
          expiresAt: (window + 1) * spec.windowSeconds * 1000,
        });
      }
    }
    return decision;
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

  async close(): Promise<void> {
    this.#counters.clear();
  }
}
