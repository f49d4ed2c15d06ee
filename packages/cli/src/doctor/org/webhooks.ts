/**
 * `webhook_signatures` — the checklist's "webhook signatures validated". Cohera signs every delivery
 * (Standard Webhooks); what can be seen from here is whether each enabled endpoint accepts them: its
 * latest attempted delivery succeeded. A receiver that verifies signatures and rejects them, or is down,
 * shows as failing deliveries; a disabled endpoint receives nothing. No endpoint: nothing to validate.
 */
import type { WebhookDelivery } from '../../sdk.ts';
import { type DoctorCheck, listSome, plural } from '../check.ts';
import type { EndpointHealth } from './gather.ts';

export const TITLE = 'Webhook signatures validated: endpoints enabled and accepting signed deliveries';

/** The latest delivery that was attempted (a pending one with a failed attempt counts: it is retrying). */
function latestAttempt(recent: WebhookDelivery[]): WebhookDelivery | null {
  return recent.find((delivery) => delivery.attempts > 0) ?? null;
}

function why(delivery: WebhookDelivery): string {
  if (delivery.last_response_status !== null) return `answered ${delivery.last_response_status}`;
  return delivery.last_error ?? 'no response';
}

export function webhookSignatures(endpoints: EndpointHealth[]): DoctorCheck {
  if (endpoints.length === 0) {
    return {
      id: 'webhook_signatures',
      status: 'pass',
      title: TITLE,
      detail: 'no webhook endpoints',
      fix: null,
    };
  }
  const disabled = endpoints.filter((health) => health.endpoint.status !== 'enabled');
  const failing: Array<{ health: EndpointHealth; delivery: WebhookDelivery }> = [];
  for (const health of endpoints) {
    const latest = health.endpoint.status === 'enabled' ? latestAttempt(health.recent) : null;
    if (latest && latest.status !== 'succeeded') failing.push({ health, delivery: latest });
  }
  if (disabled.length === 0 && failing.length === 0) {
    return {
      id: 'webhook_signatures',
      status: 'pass',
      title: TITLE,
      detail: `${plural(endpoints.length, 'endpoint')} enabled, latest deliveries accepted`,
      fix: null,
    };
  }
  const details: string[] = [];
  const fixes: string[] = [];
  if (failing.length > 0) {
    details.push(
      `failing: ${listSome(
        failing.map(
          ({ health, delivery }) => `${health.endpoint.url} (${health.endpoint.id}: ${why(delivery)})`,
        ),
      )}`,
    );
    const first = failing[0]?.health.endpoint.id;
    fixes.push(
      `see why: \`cohera webhooks deliveries ${first}\`; fix the receiver (verify with the signing secret ` +
        `it was given), then \`cohera webhooks test ${first}\``,
    );
  }
  if (disabled.length > 0) {
    details.push(
      `disabled: ${listSome(
        disabled.map(
          ({ endpoint }) => `${endpoint.url} (${endpoint.id}: ${endpoint.disabled_reason ?? 'disabled'})`,
        ),
      )}`,
    );
    fixes.push(
      `once the receiver works: \`cohera webhooks update ${disabled[0]?.endpoint.id} --status enabled\` ` +
        `(replays its failed deliveries), or \`cohera webhooks delete ${disabled[0]?.endpoint.id}\``,
    );
  }
  return {
    id: 'webhook_signatures',
    status: 'warn',
    title: TITLE,
    detail: details.join('; '),
    fix: fixes.join('; '),
  };
}
