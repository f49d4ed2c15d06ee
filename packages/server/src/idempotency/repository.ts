/**
 * Storage of idempotency keys. A key is claimed by inserting its row before the handler runs; whoever's
 * insert the primary key lets through runs the request, everyone else reads what that row says (in
 * progress, done, or for another request). Every statement but the purge names the whole key, tenant
 * (org and mode) included.
 *
 * A claim is a lease (lease.ts): it carries a random token and the time it was taken. A claim older than
 * the lease is taken over by the next retry of the same request with one UPDATE conditional on the token
 * and time it read, so of two racing retries exactly one wins; completing or releasing a key names the
 * token, so a request that outlived its lease cannot overwrite or drop the new holder's claim.
 *
 * Response bodies are sealed (AES-256-GCM under the master key, DESIGN §6 invariant 1) and bound to their
 * row: a sealed body copied into another credential's row does not open there.
 */
import { randomBytes } from 'node:crypto';
import type { ExpressionBuilder, Kysely } from 'kysely';
import { isoAt } from '../clock.ts';
import { SecretBox } from '../crypto/secret-box.ts';
import type { DB, IdempotencyKeysTable } from '../storage/schema.ts';
import { IDEMPOTENCY_TTL_MS, type IdempotencyOwner } from './key.ts';

/** One key of one owner: what every statement is keyed by. */
export interface IdempotencyRecordKey extends IdempotencyOwner {
  keyHash: string;
}

/** A key as its current holder knows it: settling it names the claim. */
export interface ClaimedRecord extends IdempotencyRecordKey {
  claimToken: string;
}

/** The response a completed key replays. */
export interface StoredResponse {
  statusCode: number;
  contentType: string | null;
  body: string;
}

export type Claim =
  /**
   * The caller owns the key now (a new claim, or one whose lease ran out: `takenOver`): run the request,
   * then `complete` or `release` with `claimToken`.
   */
  | { outcome: 'claimed'; claimToken: string; takenOver: boolean }
  /** The first request with this key has not finished. */
  | { outcome: 'in_progress' }
  /** The key was used for a request with another fingerprint. */
  | { outcome: 'mismatch' }
  | { outcome: 'completed'; response: StoredResponse };

export function idempotencyBox(masterKey: Buffer): SecretBox {
  return new SecretBox(masterKey, 'idempotency-responses');
}

const sealContext = (key: IdempotencyRecordKey) =>
  `${key.orgId}/${key.mode}/${key.actorKind}/${key.actorId}/${key.keyHash}`;

/** The row of `key`: the whole primary key, tenant included. */
const rowOf = (key: IdempotencyRecordKey) => (eb: ExpressionBuilder<DB, 'idempotency_keys'>) =>
  eb.and({
    org_id: key.orgId,
    mode: key.mode,
    actor_kind: key.actorKind,
    actor_id: key.actorId,
    key_hash: key.keyHash,
  });

/** A claim gives up after this many rounds of a row vanishing or expiring between insert and read. */
const CLAIM_ATTEMPTS = 3;

export class IdempotencyStore {
  readonly #db: Kysely<DB>;
  readonly #box: SecretBox;
  readonly #leaseMs: number;
  /** `leaseMs`: how long a claim holds before a retry may take it over (lease.ts). */
  constructor(db: Kysely<DB>, box: SecretBox, leaseMs: number) {
    this.#db = db;
    this.#box = box;
    this.#leaseMs = leaseMs;
  }

  /**
   * Claims `key` for a request with `fingerprint`, or says why not. The race between two requests with one
   * key is settled by the primary key (`on conflict do nothing`): exactly one insert succeeds. A claim
   * past its lease is taken over (see the top).
   */
  async claim(key: IdempotencyRecordKey, fingerprint: string, now: number): Promise<Claim> {
    const nowIso = isoAt(now);
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const claimToken = randomBytes(16).toString('base64url');
      const inserted = await this.#db
        .insertInto('idempotency_keys')
        .values({
          org_id: key.orgId,
          mode: key.mode,
          actor_kind: key.actorKind,
          actor_id: key.actorId,
          key_hash: key.keyHash,
          fingerprint,
          claim_token: claimToken,
          claimed_at: nowIso,
          created_at: nowIso,
          expires_at: isoAt(now + IDEMPOTENCY_TTL_MS),
          status_code: null,
          content_type: null,
          response_body: null,
        })
        .onConflict((conflict) => conflict.doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) {
        return { outcome: 'claimed', claimToken, takenOver: false };
      }

      const row = await this.#find(key);
      // Released (the first request failed) between our insert and this read: try to claim again.
      if (!row) continue;
      if (row.expires_at <= nowIso) {
        // An expired key counts as unused. Only an expired row is deleted, so if another request has
        // just replaced it, its fresh claim survives and our next insert loses to it.
        await this.#db
          .deleteFrom('idempotency_keys')
          .where(rowOf(key))
          .where('expires_at', '<=', nowIso)
          .execute();
        continue;
      }
      // Reuse for another request is refused even while the first is running: retrying would not help.
      if (row.fingerprint !== fingerprint) return { outcome: 'mismatch' };
      if (row.status_code === null) {
        const claimedAt = row.claimed_at ?? row.created_at;
        if (claimedAt > isoAt(now - this.#leaseMs)) return { outcome: 'in_progress' };
        // Abandoned: take it over, if nobody else has since we read it (same token and time, still open).
        const taken = await this.#db
          .updateTable('idempotency_keys')
          .set({ claim_token: claimToken, claimed_at: nowIso })
          .where(rowOf(key))
          .where('status_code', 'is', null)
          .where('fingerprint', '=', fingerprint)
          .where((eb) =>
            row.claim_token === null
              ? eb.and([eb('claim_token', 'is', null), eb('created_at', '=', claimedAt)])
              : eb.and([eb('claim_token', '=', row.claim_token), eb('claimed_at', '=', claimedAt)]),
          )
          .executeTakeFirst();
        if (Number(taken.numUpdatedRows) === 1) return { outcome: 'claimed', claimToken, takenOver: true };
        // Another retry took it (or the first request settled it) meanwhile: read the row again.
        continue;
      }
      return { outcome: 'completed', response: this.#open(key, row) };
    }
    // The row kept changing under us: another request is busy with this key.
    return { outcome: 'in_progress' };
  }

  /**
   * Stores the response of the claimed request, to be replayed to retries. False when the claim is no
   * longer this request's (its lease was taken over): the new holder's answer stands.
   */
  async complete(key: ClaimedRecord, response: StoredResponse): Promise<boolean> {
    const result = await this.#db
      .updateTable('idempotency_keys')
      .set({
        status_code: response.statusCode,
        content_type: response.contentType,
        response_body: this.#box.seal(response.body, sealContext(key)),
      })
      .where(rowOf(key))
      .where('status_code', 'is', null)
      .where('claim_token', '=', key.claimToken)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives the key up (the request failed), so the client may retry with it; never another holder's claim. */
  async release(key: ClaimedRecord): Promise<void> {
    await this.#db
      .deleteFrom('idempotency_keys')
      .where(rowOf(key))
      .where('status_code', 'is', null)
      .where('claim_token', '=', key.claimToken)
      .execute();
  }

  async #find(key: IdempotencyRecordKey): Promise<IdempotencyKeysTable | undefined> {
    return this.#db.selectFrom('idempotency_keys').selectAll().where(rowOf(key)).executeTakeFirst();
  }

  #open(key: IdempotencyRecordKey, row: IdempotencyKeysTable): StoredResponse {
    let body: string;
    try {
      body = this.#box.open(row.response_body ?? '', sealContext(key));
    } catch (error) {
      // Never run the request again instead: it has already been carried out once.
      throw new Error('a stored idempotent response cannot be opened (was COHERA_MASTER_KEY changed?)', {
        cause: error,
      });
    }
    return { statusCode: row.status_code as number, contentType: row.content_type, body };
  }
}
