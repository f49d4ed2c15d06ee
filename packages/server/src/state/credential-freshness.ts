/**
 * How long a node serves a cached credential before asking storage again (issue 22, item 7). The caches
 * rely on the invalidation bus to hear about a revocation within a second; the recheck interval is only the
 * backstop for a message that never arrives. While the bus is healthy that backstop is 30 s. While it is
 * not (Redis frozen or restarting, this node cut off), any revocation may be the lost one, so the backstop
 * drops to 2 s: a revoked credential is refused within 2 s, at the price of one storage read per credential
 * per 2 s during the outage.
 *
 * The caches compare each entry's age with `recheckMs` when they read it, so the shorter bound also applies
 * to entries cached before the bus went down. Reading it is one field load on the hot path.
 */
import type { InvalidationBus } from './invalidation-bus.ts';

/** The backstop while the bus delivers. */
export const CREDENTIAL_RECHECK_MS = 30_000;
/** The backstop while it does not. */
export const CREDENTIAL_RECHECK_BUS_DOWN_MS = 2_000;

/** What a cache reads: the current bound on how long an entry is trusted, in ms. */
export interface Freshness {
  readonly recheckMs: number;
}

export class CredentialFreshness implements Freshness {
  recheckMs: number;
  readonly #healthyMs: number;
  readonly #busDownMs: number;

  constructor(healthyMs = CREDENTIAL_RECHECK_MS, busDownMs = CREDENTIAL_RECHECK_BUS_DOWN_MS) {
    this.#healthyMs = healthyMs;
    this.#busDownMs = Math.min(busDownMs, healthyMs);
    this.recheckMs = healthyMs;
  }

  /** Follows `bus`: the long bound while it is healthy, the short one while it is not. */
  follow(bus: Pick<InvalidationBus, 'healthy' | 'onHealthChange'>): this {
    const set = (healthy: boolean) => {
      this.recheckMs = healthy ? this.#healthyMs : this.#busDownMs;
    };
    set(bus.healthy);
    bus.onHealthChange(set);
    return this;
  }
}

/** A fixed bound (tests; the introspection verifier, which never caches). */
export function fixedFreshness(recheckMs: number): Freshness {
  return { recheckMs };
}
