/**
 * GitHub's secret-scanning signing keys (DESIGN §5.6), from `COHERA_GITHUB_SCANNING_KEYS_URL`: JSON
 * `{public_keys: [{key_identifier, key, is_current}]}`, each `key` a PEM SubjectPublicKeyInfo of an ECDSA
 * P-256 key. GitHub signs each report with one of them and names it in `Github-Public-Key-Identifier`.
 *
 * The list is fetched on first use and cached (refreshed after an hour, so a key GitHub withdraws stops
 * being trusted). An identifier not in the cache triggers one refetch — GitHub rotates keys, and a report
 * signed with a new one must not fail until the hour is up — but refetches are spaced at least
 * `minRefetchMs` apart on a node, so an attacker sending random identifiers costs GitHub's key server (and
 * us) one fetch a minute, not one per request. Fetches are single-flight: concurrent requests share one.
 * A fetch that fails leaves the cached keys in force; with none cached, the report gets a 503 (GitHub
 * retries), never a 401 that would say the signature is bad.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { ApiError } from '../http/errors.ts';

export interface GitHubKeysOptions {
  url: string;
  clock: Clock;
  /** Spacing of refetches for unknown identifiers (default 60 s). */
  minRefetchMs?: number;
  /** Age after which the cached list is refreshed on use (default 1 h). */
  maxAgeMs?: number;
  /** Per fetch (default 5 s). */
  timeoutMs?: number;
  log?: { warn(details: Record<string, unknown>, message: string): void };
}

interface PublishedKey {
  key_identifier?: unknown;
  key?: unknown;
}

/** Keeps the ECDSA P-256 keys of a published list; anything else in it is ignored. */
export function parsePublishedKeys(document: unknown): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  const list = (document as { public_keys?: unknown } | null)?.public_keys;
  if (!Array.isArray(list)) throw new Error('the key list has no public_keys array');
  for (const entry of list as PublishedKey[]) {
    if (typeof entry?.key_identifier !== 'string' || typeof entry.key !== 'string') continue;
    try {
      const key = createPublicKey(entry.key);
      // Only what the protocol uses: a P-256 key can verify nothing but ECDSA P-256 signatures.
      if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
        keys.set(entry.key_identifier, key);
      }
    } catch {
      // A key that does not parse is skipped; the others still verify.
    }
  }
  return keys;
}

export class GitHubScanningKeys {
  readonly #options: GitHubKeysOptions;
  #keys: Map<string, KeyObject> | null = null;
  /** When the cached list was fetched, and when any fetch was last started (epoch ms). */
  #fetchedAt = 0;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | null = null;
  /** Fetches made (tests and metrics). */
  fetches = 0;

  constructor(options: GitHubKeysOptions) {
    this.#options = options;
  }

  /**
   * The key named `identifier`, or null when GitHub does not publish it (after the one refetch allowed).
   * Throws `service_unavailable` when no key list could be fetched at all.
   */
  async keyFor(identifier: string): Promise<KeyObject | null> {
    const now = this.#options.clock.now();
    if (this.#keys === null || now - this.#fetchedAt >= (this.#options.maxAgeMs ?? 3_600_000)) {
      await this.#refresh(now, this.#keys === null);
    }
    let key = this.#keys?.get(identifier) ?? null;
    if (key === null && now - this.#lastAttempt >= (this.#options.minRefetchMs ?? 60_000)) {
      await this.#refresh(now, false);
      key = this.#keys?.get(identifier) ?? null;
    }
    if (this.#keys === null) {
      throw new ApiError(
        'service_unavailable',
        'GitHub’s secret-scanning keys could not be fetched; retry later',
        { headers: { 'retry-after': '60' } },
      );
    }
    return key;
  }

  /** One fetch for everyone waiting. `force` ignores the spacing (no list at all yet). */
  async #refresh(now: number, force: boolean): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    if (!force && now - this.#lastAttempt < (this.#options.minRefetchMs ?? 60_000)) return;
    if (force && this.#keys === null && now - this.#lastAttempt < 1000) return;
    this.#lastAttempt = now;
    this.#inFlight = this.#fetch(now).finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async #fetch(now: number): Promise<void> {
    this.fetches++;
    try {
      const response = await fetch(this.#options.url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5000),
      });
      if (!response.ok) throw new Error(`the key server answered ${response.status}`);
      this.#keys = parsePublishedKeys(await response.json());
      this.#fetchedAt = now;
    } catch (error) {
      this.#options.log?.warn(
        { err: error, url: this.#options.url },
        'fetching GitHub’s secret-scanning keys failed; the cached keys (if any) stay in force',
      );
    }
  }
}
