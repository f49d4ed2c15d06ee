/**
 * Storage of idempotency keys. A key is claimed by inserting its row before the handler runs; whoever's
 * insert the primary key lets through runs the request, everyone else reads what that row says (in
 * progress, done, or for another request). Every statement but the purge names the whole key, tenant
 * (org and mode) included.
 *
 * Response bodies are sealed (AES-256-GCM under the master key, DESIGN §6 invariant 1) and bound to their
 * row: a sealed body copied into another credential's row does not open there.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import { isoAt } from '../clock.ts';
import { SecretBox } from '../crypto/secret-box.ts';
import type { DB, IdempotencyKeysTable } from '../storage/schema.ts';
import { IDEMPOTENCY_TTL_MS, type IdempotencyOwner } from './key.ts';

/** One key of one owner: what every statement is keyed by. */
export interface IdempotencyRecordKey extends IdempotencyOwner {
  keyHash: string;
}

/** The response a completed key replays. */
export interface StoredResponse {
  statusCode: number;
  contentType: string | null;
  body: string;
}

export type Claim =
  /** The caller owns the key now: run the request, then `complete` or `release`. */
  | { outcome: 'claimed' }
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
  constructor(db: Kysely<DB>, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  /**
   * Claims `key` for a request with `fingerprint`, or says why not. The race between two requests with one
   * key is settled by the primary key (`on conflict do nothing`): exactly one insert succeeds.
   */
  async claim(key: IdempotencyRecordKey, fingerprint: string, now: number): Promise<Claim> {
    const nowIso = isoAt(now);
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const inserted = await this.#db
        .insertInto('idempotency_keys')
        .values({
          org_id: key.orgId,
          mode: key.mode,
          actor_kind: key.actorKind,
          actor_id: key.actorId,
          key_hash: key.keyHash,
          fingerprint,
          created_at: nowIso,
          expires_at: isoAt(now + IDEMPOTENCY_TTL_MS),
          status_code: null,
          content_type: null,
          response_body: null,
        })
        .onConflict((conflict) => conflict.doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return { outcome: 'claimed' };

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
      if (row.status_code === null) return { outcome: 'in_progress' };
      return { outcome: 'completed', response: this.#open(key, row) };
    }
    // The row kept changing under us: another request is busy with this key.
    return { outcome: 'in_progress' };
  }

  /** Stores the response of the claimed request, to be replayed to retries. */
  async complete(key: IdempotencyRecordKey, response: StoredResponse): Promise<void> {
    await this.#db
      .updateTable('idempotency_keys')
      .set({
        status_code: response.statusCode,
        content_type: response.contentType,
        response_body: this.#box.seal(response.body, sealContext(key)),
      })
      .where(rowOf(key))
      .where('status_code', 'is', null)
      .execute();
  }

  /** Gives the key up (the request failed), so the client may retry with it. */
  async release(key: IdempotencyRecordKey): Promise<void> {
    await this.#db
      .deleteFrom('idempotency_keys')
      .where(rowOf(key))
      .where('status_code', 'is', null)
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
