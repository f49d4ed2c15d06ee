/**
 * Webhook endpoints as the API shows them: the routes' answers and the `webhook_endpoint.disabled` event's
 * `data` (delivery/record.ts) are one object. Never the secret.
 */
import type { WebhookSubscription } from '@cohera/shared';
import { apiTime } from '../clock.ts';
import type { WebhookEndpointsTable } from '../storage/schema.ts';

export function presentEndpoint(row: WebhookEndpointsTable) {
  return {
    id: row.id,
    object: 'webhook_endpoint' as const,
    url: row.url,
    events: JSON.parse(row.events) as WebhookSubscription[],
    description: row.description,
    mode: row.mode,
    status: row.status,
    disabled_reason: row.disabled_reason,
    created_at: apiTime(row.created_at),
    updated_at: apiTime(row.updated_at),
  };
}
