/**
 * How a feature produces a webhook event (DESIGN §5.5 "Durable"): inside the transaction of the change it
 * reports, so the outbox row commits with the change or not at all. `data` is always the object exactly as
 * the feature's API shows it, made by that route's own serializer, and never holds a secret (an API key
 * without `key`, an OAuth client without `client_secret`, a service-account key without its private half).
 */
import type { Mode, WebhookEventType } from '@cohera/shared';
import type { Transaction } from 'kysely';
import type { DB } from '../storage/schema.ts';
import { emitEvent } from './outbox.ts';

/** The tenant an event belongs to: endpoints of this org and mode receive it. */
export interface EventTenant {
  orgId: string;
  mode: Mode;
}

/**
 * Writes one event of `tenant` to the outbox in `trx`. With a `dedupeKey` the event is produced at most
 * once per org and key (a repeat writes nothing and returns null). Returns the message id.
 */
export function emitChange(
  trx: Transaction<DB>,
  tenant: EventTenant,
  type: WebhookEventType,
  data: unknown,
  at: number,
  dedupeKey?: string,
): Promise<string | null> {
  return emitEvent(trx, {
    orgId: tenant.orgId,
    mode: tenant.mode,
    type,
    data,
    at,
    ...(dedupeKey === undefined ? {} : { dedupeKey }),
  });
}
