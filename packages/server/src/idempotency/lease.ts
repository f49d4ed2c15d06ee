/**
 * How long a claim on an idempotency key holds before a retry may take it over (docs/idempotency.md).
 *
 * A claim is released or completed when its request settles. A request that never settles it (its node
 * died, or the database went away before the settle and came back after) would otherwise leave the key
 * "in progress" for its whole 24 h, and every retry would get 409. So a claim is a lease: once it is older
 * than the longest a live request can take, it is presumed abandoned and the next retry with the same
 * request takes it over and runs it.
 *
 * The bound is the request timeout (the whole request must have arrived by then) plus a margin for the
 * handler and its database waits, which are bounded separately (storage/availability.ts). A request still
 * running past its lease is not stopped, but it can no longer store its response: the settle names its
 * claim token, and the new holder's differs.
 */

/** Added to the request timeout: what a handler may spend after the body arrived. */
export const IDEMPOTENCY_LEASE_MARGIN_MS = 60_000;

/** The lease for a node whose request timeout is `requestTimeoutMs` (COHERA_REQUEST_TIMEOUT_SECONDS). */
export function idempotencyLeaseMs(requestTimeoutMs: number): number {
  return requestTimeoutMs + IDEMPOTENCY_LEASE_MARGIN_MS;
}
