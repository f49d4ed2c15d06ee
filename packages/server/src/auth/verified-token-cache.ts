/**
 * The verified-token cache both JWT verifiers share (service-account tokens and OAuth access tokens, DESIGN
 * §7): an asymmetric signature costs ~5× an API-key check, so a token that verified is remembered by its
 * SHA-256 until it ends, and a client that reuses its token (as the SDK does) pays for the signature once.
 * Bounded; entries are evicted when what they depend on is revoked (the invalidation bus).
 */
import { ApiError } from '../http/errors.ts';
import type { AuthContext } from './context.ts';

export interface VerifiedToken {
  context: AuthContext;
  /** Until when the token is acceptable (its `exp` plus the clock skew allowed), epoch ms. */
  validUntil: number;
}

export class VerifiedTokenCache<Entry extends VerifiedToken> {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  hits = 0;
  misses = 0;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /**
   * The context of a token verified before, or undefined (verify it, then `remember`). A token past its end
   * is forgotten and refused here: the cache never extends a token's life.
   */
  lookup(tokenHash: string, now: number): AuthContext | undefined {
    const cached = this.#entries.get(tokenHash);
    if (!cached) {
      this.misses++;
      return undefined;
    }
    if (cached.validUntil > now) {
      this.hits++;
      return cached.context;
    }
    this.#entries.delete(tokenHash);
    throw new ApiError('expired_credential', 'The token has expired');
  }

  remember(tokenHash: string, entry: Entry): void {
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(tokenHash, entry);
  }

  /** Forgets every token whose entry matches (a deleted key, a revoked grant). */
  evict(matches: (entry: Entry) => boolean): void {
    for (const [tokenHash, entry] of this.#entries) if (matches(entry)) this.#entries.delete(tokenHash);
  }

  clear(): void {
    this.#entries.clear();
  }
}
