/**
 * The chain's two anchors, authenticated. The head row says where an org's chain ends (its newest `seq` and
 * `hash`) and where retention last cut it (the purge marker); `verify` starts its walk at the marker and
 * checks that the walk ends at the head. Unauthenticated, both could be set back by anyone who can write to
 * the database: delete the newest events and roll the head back, or delete the oldest and move the marker
 * forward, and the chain in between still verifies. So each anchor carries an HMAC-SHA256, under a key
 * derived from the master key with its own HKDF info string: a key used for nothing else, so a chain hash
 * can never pass for an anchor's MAC or the other way round (domain separation, RFC 5869 §3.2).
 *
 * A MAC binds the org, so an anchor cannot be copied from another org's row, and names which anchor it is,
 * so a head's MAC cannot be put on the marker. What it cannot stop is a rollback to a state the row really
 * had (an old copy of the row, MAC and all): that needs something outside the database, the signed digests
 * (digest-signer.ts).
 */
import { createHmac, createSecretKey, hkdfSync, type KeyObject, timingSafeEqual } from 'node:crypto';

/**
 * What the server writes instead of a MAC on an anchor it found unauthenticated: it never seals a state it
 * cannot vouch for, so a tampered head stays unauthenticated (and `verify` keeps saying so) when events are
 * appended after it, until an operator reseals it (reseal.ts). Not hex, so it never equals a MAC.
 */
export const UNAUTHENTICATED = 'unauthenticated';

type Anchor = 'head' | 'purge_marker';

export class ChainHeadSeal {
  /** Imported once: HMAC with a plain Buffer key re-imports it on every call (DESIGN §7). */
  readonly #key: KeyObject;

  constructor(masterKey: Buffer) {
    this.#key = createSecretKey(
      Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'cohera/audit-chain-anchor/v1', 32)),
    );
  }

  #mac(anchor: Anchor, orgId: string, seq: number, hash: string): string {
    // JSON of an array: no value can run into the next one, whatever characters a forged row holds.
    return createHmac('sha256', this.#key)
      .update(JSON.stringify([anchor, orgId, seq, hash]))
      .digest('hex');
  }

  #matches(expected: string, stored: string | null | undefined): boolean {
    if (typeof stored !== 'string' || stored.length !== expected.length) return false;
    return timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(stored, 'latin1'));
  }

  /** The MAC of a head naming `seq` and `hash` as the chain's newest event. */
  head(orgId: string, seq: number, hash: string): string {
    return this.#mac('head', orgId, seq, hash);
  }

  /** The MAC of a purge marker: retention deleted every event up to `seq`, the last of which had `hash`. */
  purgeMarker(orgId: string, seq: number, hash: string): string {
    return this.#mac('purge_marker', orgId, seq, hash);
  }

  isHead(orgId: string, seq: number, hash: string, mac: string | null | undefined): boolean {
    return this.#matches(this.head(orgId, seq, hash), mac);
  }

  isPurgeMarker(orgId: string, seq: number, hash: string, mac: string | null | undefined): boolean {
    return this.#matches(this.purgeMarker(orgId, seq, hash), mac);
  }
}
