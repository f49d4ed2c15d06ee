/**
 * What an attempt leaves behind (DESIGN §5.5), in one transaction: the delivery's log fields and next
 * state, the endpoint's failure streak, and when the endpoint must be disabled, that too with its
 * `webhook_endpoint.disabled` event and audit entry. Every write is conditional on the lease this worker
 * took: a worker that stalled past its lease (and whose delivery another node has claimed since) records
 * nothing rather than overwrite the newer attempt.
 */
import type { Kysely, Transaction } from 'kysely';
import type { AuditLog } from '../../audit/log.ts';
import { isoAt } from '../../clock.ts';
import type { DB, WebhookDisabledReason, WebhookEndpointsTable } from '../../storage/schema.ts';
import { emitEvent } from '../outbox.ts';
import { presentEndpoint } from '../present.ts';
import type { Claim } from './claims.ts';
import { retryAfterMs, retryDelayMs } from './retry-schedule.ts';
import type { SendResult } from './send.ts';

export interface RecordPolicy {
  /** Seconds before each retry (COHERA_WEBHOOK_RETRY_SCHEDULE). */
  schedule: readonly number[];
  /** An unbroken failure streak this long disables the endpoint (COHERA_WEBHOOK_DISABLE_AFTER_HOURS). */
  disableAfterMs: number;
  random?: () => number;
}

export type RecordedAs = 'succeeded' | 'retrying' | 'failed' | 'lease_lost';

export interface Recorded {
  as: RecordedAs;
  /** The endpoint this attempt disabled, if it did. */
  disabled: WebhookDisabledReason | null;
}

export async function recordAttempt(
  db: Kysely<DB>,
  audit: AuditLog,
  claim: Claim,
  result: SendResult,
  policy: RecordPolicy,
  now: number,
): Promise<Recorded> {
  return db.transaction().execute(async (trx) => {
    const at = isoAt(now);
    const logged = await trx
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        last_attempt_at: at,
        last_response_status: result.status,
        last_response_body: result.responseBody,
        last_duration_ms: result.durationMs,
        last_error: result.error,
      }))
      .where('endpoint_id', '=', claim.endpoint_id)
      .where('message_id', '=', claim.message_id)
      .where('lease_until', '=', claim.lease_until)
      .returning(['attempts', 'org_id'])
      .executeTakeFirst();
    if (!logged) return { as: 'lease_lost', disabled: null };

    const finish = (status: 'succeeded' | 'failed' | 'pending', next: number | null) =>
      trx
        .updateTable('webhook_deliveries')
        .set({ status, next_attempt_at: next === null ? null : isoAt(next), lease_until: null })
        .where('endpoint_id', '=', claim.endpoint_id)
        .where('message_id', '=', claim.message_id)
        .execute();

    if (result.outcome === 'succeeded') {
      await finish('succeeded', null);
      // A success ends the failure streak: the auto-disable clock starts again at the next failure.
      await trx
        .updateTable('webhook_endpoints')
        .set({ failing_since: null })
        .where('id', '=', claim.endpoint_id)
        .where('failing_since', 'is not', null)
        .execute();
      return { as: 'succeeded', disabled: null };
    }

    // 410 Gone: the receiver says the URL is no more; retrying would only hammer it (DESIGN §5.5).
    if (result.status === 410) {
      await finish('failed', null);
      const disabled = await disableEndpoint(trx, audit, claim.endpoint_id, 'gone', now);
      return { as: 'failed', disabled: disabled ? 'gone' : null };
    }

    const scheduled = retryDelayMs(policy.schedule, logged.attempts, (policy.random ?? Math.random)());
    const delay =
      scheduled === null ? null : (retryAfterMs(result.retryAfter, now, policy.schedule) ?? scheduled);
    await finish(delay === null ? 'failed' : 'pending', delay === null ? null : now + delay);

    const endpoint = await trx
      .updateTable('webhook_endpoints')
      .set((eb) => ({ failing_since: eb.fn.coalesce('failing_since', eb.val(at)) }))
      .where('id', '=', claim.endpoint_id)
      .returning(['failing_since', 'status'])
      .executeTakeFirst();
    let disabled: WebhookDisabledReason | null = null;
    if (
      endpoint?.status === 'enabled' &&
      endpoint.failing_since !== null &&
      now - Date.parse(endpoint.failing_since) >= policy.disableAfterMs &&
      (await disableEndpoint(trx, audit, claim.endpoint_id, 'failing', now))
    ) {
      disabled = 'failing';
    }
    return { as: delay === null ? 'failed' : 'retrying', disabled };
  });
}

/**
 * Disables an enabled endpoint for `reason`, tells the org's other endpoints (`webhook_endpoint.disabled`:
 * this one is no longer enabled, so the outbox does not address it) and writes the audit entry, all in
 * `trx`. Returns false when the endpoint was no longer enabled (another node or a person got there first).
 */
export async function disableEndpoint(
  trx: Transaction<DB>,
  audit: AuditLog,
  endpointId: string,
  reason: Exclude<WebhookDisabledReason, 'manual'>,
  now: number,
): Promise<WebhookEndpointsTable | null> {
  const row = await trx
    .updateTable('webhook_endpoints')
    .set({ status: 'disabled', disabled_reason: reason, updated_at: isoAt(now) })
    .where('id', '=', endpointId)
    .where('status', '=', 'enabled')
    .returningAll()
    .executeTakeFirst();
  if (!row) return null;
  await emitEvent(trx, {
    orgId: row.org_id,
    mode: row.mode,
    type: 'webhook_endpoint.disabled',
    data: presentEndpoint(row),
    at: now,
  });
  await audit.record(trx, {
    orgId: row.org_id,
    actor: { kind: 'system', id: 'webhooks' },
    action: 'webhook_endpoint.disabled',
    target: { kind: 'webhook_endpoint', id: row.id },
    metadata: { reason, mode: row.mode, url: row.url },
  });
  return row;
}
