/**
 * Rate-limit response headers (DESIGN §4): `X-RateLimit-Limit/Remaining/Reset` describe the window with the
 * fewest remaining requests (on a tie, the one that resets first), and the IETF fields of
 * draft-ietf-httpapi-ratelimit-headers describe every window:
 *   RateLimit-Policy: "minute";q=600;w=60, "day";q=50000;w=86400
 *   RateLimit: "minute";r=599;t=42, "day";r=49871;t=51230
 */
import type { Decision, WindowState } from './limiter.ts';

export function tightestWindow(windows: readonly WindowState[]): WindowState | undefined {
  let best: WindowState | undefined;
  for (const w of windows) {
    if (!best || w.remaining < best.remaining || (w.remaining === best.remaining && w.resetAt < best.resetAt))
      best = w;
  }
  return best;
}

/** Whole seconds until a rejected request could succeed: every exhausted window must have reset. Never < 1. */
export function retryAfterSeconds(decision: Decision, nowMs: number): number {
  let until = 0;
  for (const w of decision.windows) if (w.remaining === 0 && w.resetAt > until) until = w.resetAt;
  return Math.max(1, Math.ceil(until - nowMs / 1000));
}

export function rateLimitHeaders(decision: Decision, nowMs: number): Record<string, string> {
  const nowSeconds = nowMs / 1000;
  const tight = tightestWindow(decision.windows);
  if (!tight) return {};
  const policy: string[] = [];
  const state: string[] = [];
  for (const w of decision.windows) {
    policy.push(`"${w.spec.name}";q=${w.spec.limit};w=${w.spec.windowSeconds}`);
    state.push(`"${w.spec.name}";r=${w.remaining};t=${Math.max(0, Math.ceil(w.resetAt - nowSeconds))}`);
  }
  return {
    'x-ratelimit-limit': String(tight.spec.limit),
    'x-ratelimit-remaining': String(tight.remaining),
    'x-ratelimit-reset': String(tight.resetAt),
    'ratelimit-policy': policy.join(', '),
    ratelimit: state.join(', '),
  };
}
