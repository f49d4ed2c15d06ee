/**
 * Rate-limit response headers (DESIGN §4): `X-RateLimit-Limit/Remaining/Reset` describe the window with the
 * fewest remaining requests (on a tie, the one that resets first), and the IETF fields of
 * draft-ietf-httpapi-ratelimit-headers describe every window:
 *   RateLimit-Policy: "minute";q=600;w=60, "day";q=50000;w=86400
 *   RateLimit: "minute";r=599;t=42, "day";r=49871;t=51230
 */
import type { Decision, WindowSpec, WindowState } from './limiter.ts';

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

/** The `RateLimit-Policy` value of a list of windows: fixed per list, so callers that keep the list cache it. */
export function rateLimitPolicy(windows: readonly WindowSpec[]): string {
  let policy = '';
  for (const w of windows) {
    if (policy !== '') policy += ', ';
    policy += `"${w.name}";q=${w.limit};w=${w.windowSeconds}`;
  }
  return policy;
}

/**
 * Appends the rate-limit headers of `decision` to `out` as name, value, name, value, without building an
 * object on the way. The request path's version: its list is written by `writeHead` as is
 * (http/response-head.ts). `policy` is `rateLimitPolicy(specs)` of the decision's
 * windows, which the caller keeps per list of windows.
 */
export function pushRateLimitHeaders(out: string[], decision: Decision, nowMs: number, policy: string): void {
  const windows = decision.windows;
  const tight = tightestWindow(windows);
  if (!tight) return;
  const nowSeconds = nowMs / 1000;
  let state = '';
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i] as WindowState;
    const t = Math.ceil(w.resetAt - nowSeconds);
    if (i !== 0) state += ', ';
    state += `"${w.spec.name}";r=${w.remaining};t=${Math.max(t, 0)}`;
  }
  out.push(
    'x-ratelimit-limit',
    `${tight.spec.limit}`,
    'x-ratelimit-remaining',
    `${tight.remaining}`,
    'x-ratelimit-reset',
    `${tight.resetAt}`,
    'ratelimit-policy',
    policy,
    'ratelimit',
    state,
  );
}

/**
 * The same headers as an object, for a route outside the pipeline that answers with its own decision (the
 * public revoke endpoint): `pushRateLimitHeaders`' fields, its policy made from the decision's windows.
 */
export function rateLimitHeaders(decision: Decision, nowMs: number): Record<string, string> {
  const pairs: string[] = [];
  pushRateLimitHeaders(pairs, decision, nowMs, rateLimitPolicy(decision.windows.map((w) => w.spec)));
  const headers: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) headers[pairs[i] as string] = pairs[i + 1] as string;
  return headers;
}
