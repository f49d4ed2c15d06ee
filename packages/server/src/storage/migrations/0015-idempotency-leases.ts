/**
 * Idempotency claims with a lease (issue 22): a request that claimed a key and then lost the database
 * (a node crash, a PostgreSQL outage) can no longer leave the key "in progress" for its whole 24 h. Each
 * claim now records who holds it and since when:
 * - `claim_token`: random, known only to the request holding the claim; completing or releasing the key
 *   names it, so a request whose lease was taken over cannot overwrite the new holder's stored response;
 * - `claimed_at`: when the current holder took it; past the lease (idempotency/lease.ts) a retry may take
 *   the claim over with one conditional UPDATE on both columns, which only one of two racing retries wins.
 * Rows claimed before this migration keep a null token and count as claimed at `created_at`.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';

export function idempotencyLeases() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('idempotency_keys').addColumn('claim_token', 'text').execute();
      await db.schema.alterTable('idempotency_keys').addColumn('claimed_at', 'text').execute();
      await sql`update idempotency_keys set claimed_at = created_at`.execute(db);
    },
    async down(): Promise<void> {
      throw new Error('migration 0015-idempotency-leases cannot be reverted');
    },
  };
}
