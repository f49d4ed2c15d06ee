/**
 * Replaying deliveries (DESIGN §5.5): re-enabling an endpoint and `POST /:id/recover` put its failed
 * deliveries back in the queue, oldest first; `POST /:id/deliveries/:message_id/retry` does it for one.
 * A replayed delivery starts the retry schedule afresh. Every replayed row is due `now`; workers claim due
 * rows in (next_attempt_at, message_id) order and message ids are time-sortable, so the oldest goes first.
 * The caller has already checked the endpoint belongs to the tenant.
 */
import type { Kysely } from 'kysely';
import { isoAt } from '../../clock.ts';
import type { DB } from '../../storage/schema.ts';

export interface RequeueInput {
  endpointId: string;
  /** Only messages created at or after this ISO instant (recover's `since`). */
  since?: string;
  now: number;
}

/** Failed deliveries of the endpoint → pending, due now; returns how many. */
export async function requeueFailed(db: Kysely<DB>, input: RequeueInput): Promise<number> {
  let query = db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', attempts: 0, next_attempt_at: isoAt(input.now), lease_until: null })
    .where('endpoint_id', '=', input.endpointId)
    .where('status', '=', 'failed');
  if (input.since !== undefined) {
    const since = isoAt(Date.parse(input.since));
    query = query.where('message_id', 'in', (eb) =>
      eb.selectFrom('webhook_messages').select('id').where('created_at', '>=', since),
    );
  }
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Makes one delivery due now, whatever its state (a manual retry also re-sends a delivered message).
 * A delivery in flight keeps its lease: the attempt under way records its result over this.
 * Returns false when the endpoint has no delivery of that message.
 */
export async function retryDelivery(
  db: Kysely<DB>,
  input: { endpointId: string; messageId: string; now: number },
): Promise<boolean> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', attempts: 0, next_attempt_at: isoAt(input.now) })
    .where('endpoint_id', '=', input.endpointId)
    .where('message_id', '=', input.messageId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
