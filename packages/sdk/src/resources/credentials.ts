/**
 * `/v1/credentials/revoke`: the public endpoint that takes leaked credentials (DESIGN §5.6). Anyone who
 * finds a Cohera key (a scanner, a stranger reading a public repository) can hand it in without an account:
 * every valid key among the strings is handled as leaked, per its organization's policy (revoked, or
 * flagged). The answer never says which strings were keys.
 */
import type { RequestOptions } from '../transport.ts';
import { Resource } from './resource.ts';

/** The most strings one call may carry; `revoke()` sends more in batches of this size. */
export const REVOKE_BATCH_SIZE = 1000;

export interface CredentialsRevokeResult {
  /** How many strings the server received (over every batch); says nothing about which were valid keys. */
  received: number;
}

/**
 * `client.credentials`. Its calls need no credential and send none, even when the client has one: a
 * client made with `new Cohera({ anonymous: true })` can use them.
 */
export class Credentials extends Resource {
  /**
   * Reports credentials as leaked. Duplicates are sent once; more than 1,000 strings go in several calls.
   *
   * @example
   * ```ts
   * const client = new Cohera({ anonymous: true, baseUrl: 'https://cohera.example.com' });
   * const { received } = await client.credentials.revoke([foundKey]);
   * ```
   */
  async revoke(credentials: readonly string[], options?: RequestOptions): Promise<CredentialsRevokeResult> {
    if (!Array.isArray(credentials) || credentials.some((value) => typeof value !== 'string')) {
      throw new TypeError('credentials must be an array of strings');
    }
    const unique = [...new Set(credentials)];
    let received = 0;
    for (let start = 0; start < unique.length; start += REVOKE_BATCH_SIZE) {
      const batch = unique.slice(start, start + REVOKE_BATCH_SIZE);
      const answer = await this.transport.request<CredentialsRevokeResult>({
        method: 'POST',
        path: '/v1/credentials/revoke',
        body: { credentials: batch },
        options,
        anonymous: true,
      });
      received += answer.received;
    }
    return { received };
  }
}
