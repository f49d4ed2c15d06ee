/**
 * Webhook endpoints and the events of the outbox, per tenant: every function takes the org and the mode,
 * so an endpoint or event of another org or mode is never found (a 404, DESIGN §4). The signing secret is
 * sealed before it reaches the database (webhooks/secrets.ts) and handed back in the clear only to the route
 * that shows it once.
 */
import { newId, type WebhookSubscription } from '@cohera/shared';
import type { Kysely } from 'kysely';
import type { Tenant } from '../auth/context.ts';
import { isoAt } from '../clock.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type {
  DB,
  WebhookDisabledReason,
  WebhookEndpointStatus,
  WebhookEndpointsTable,
  WebhookMessagesTable,
} from '../storage/schema.ts';
import { generateWebhookSecret, sealWebhookSecret } from './secrets.ts';

/** How far back `GET /v1/events` reaches (DESIGN §5.5). */
export const EVENTS_VISIBLE_DAYS = 30;
const DAY_MS = 86_400_000;

/** `*` subscribes to everything, so it stands alone: `["*"]` is the one form the outbox matches. */
export function normalizeSubscriptions(events: readonly WebhookSubscription[]): WebhookSubscription[] {
  return events.includes('*') ? ['*'] : [...new Set(events)];
}

export interface NewEndpoint {
  url: string;
  events: readonly WebhookSubscription[];
  description: string;
}

export async function insertEndpoint(
  db: Kysely<DB>,
  tenant: Tenant,
  box: SecretBox,
  input: NewEndpoint,
  now: number,
): Promise<{ row: WebhookEndpointsTable; secret: string }> {
  const id = newId('webhook_endpoint', now);
  const secret = generateWebhookSecret();
  const row: WebhookEndpointsTable = {
    id,
    org_id: tenant.orgId,
    mode: tenant.mode,
    url: input.url,
    description: input.description,
    events: JSON.stringify(normalizeSubscriptions(input.events)),
    status: 'enabled',
    disabled_reason: null,
    secret_sealed: sealWebhookSecret(box, id, secret),
    previous_secret_sealed: null,
    previous_secret_expires_at: null,
    failing_since: null,
    created_at: isoAt(now),
    updated_at: isoAt(now),
  };
  await db.insertInto('webhook_endpoints').values(row).execute();
  return { row, secret };
}

export async function getEndpoint(
  db: Kysely<DB>,
  tenant: Tenant,
  id: string,
): Promise<WebhookEndpointsTable | null> {
  return (
    (await db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('org_id', '=', tenant.orgId)
      .where('mode', '=', tenant.mode)
      .where('id', '=', id)
      .executeTakeFirst()) ?? null
  );
}

/** Newest first, `limit + 1` rows (pagination.ts pageOf). */
export async function listEndpoints(
  db: Kysely<DB>,
  tenant: Tenant,
  page: { limit: number; after: string | null },
): Promise<WebhookEndpointsTable[]> {
  let query = db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode);
  if (page.after) query = query.where('id', '<', page.after);
  return query
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

export interface EndpointChanges {
  url?: string;
  events?: readonly WebhookSubscription[];
  description?: string;
  status?: WebhookEndpointStatus;
}

/**
 * Applies a PATCH; returns the updated row, or null when there is no such endpoint. Disabling by hand
 * records the reason `manual`; enabling clears the reason and the failure streak, so the 5-day clock of
 * automatic disabling starts again from the next failure.
 */
export async function updateEndpoint(
  db: Kysely<DB>,
  tenant: Tenant,
  id: string,
  changes: EndpointChanges,
  now: number,
): Promise<WebhookEndpointsTable | null> {
  const set: Partial<WebhookEndpointsTable> = { updated_at: isoAt(now) };
  if (changes.url !== undefined) set.url = changes.url;
  if (changes.description !== undefined) set.description = changes.description;
  if (changes.events !== undefined) set.events = JSON.stringify(normalizeSubscriptions(changes.events));
  if (changes.status === 'enabled') {
    Object.assign(set, { status: 'enabled', disabled_reason: null, failing_since: null });
  } else if (changes.status === 'disabled') {
    Object.assign(set, { status: 'disabled', disabled_reason: 'manual' satisfies WebhookDisabledReason });
  }
  const row = await db
    .updateTable('webhook_endpoints')
    .set(set)
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

/** Deletes an endpoint and (by cascade) its deliveries; the org's events stay listed. */
export async function deleteEndpoint(db: Kysely<DB>, tenant: Tenant, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('webhook_endpoints')
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Replaces an endpoint's signing secret. The old one also signs for `graceSeconds` (0 ends it at once); a
 * secret replaced earlier and still in its grace period is dropped: only one previous secret is kept.
 * Returns null when the secret changed since `endpoint` was read (another rotation won the race).
 */
export async function rotateEndpointSecret(
  db: Kysely<DB>,
  tenant: Tenant,
  box: SecretBox,
  endpoint: WebhookEndpointsTable,
  graceSeconds: number,
  now: number,
): Promise<{ row: WebhookEndpointsTable; secret: string } | null> {
  const secret = generateWebhookSecret();
  const changes = {
    secret_sealed: sealWebhookSecret(box, endpoint.id, secret),
    previous_secret_sealed: graceSeconds > 0 ? endpoint.secret_sealed : null,
    previous_secret_expires_at: graceSeconds > 0 ? isoAt(now + graceSeconds * 1000) : null,
    updated_at: isoAt(now),
  };
  const result = await db
    .updateTable('webhook_endpoints')
    .set(changes)
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('id', '=', endpoint.id)
    // Optimistic: every seal has a fresh IV, so the sealed text read is unique to that secret. Two
    // rotations at once must not both keep "the" previous secret, nor both hand out a secret that works.
    .where('secret_sealed', '=', endpoint.secret_sealed)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) return null;
  return { row: { ...endpoint, ...changes }, secret };
}

/** The tenant's events of the last 30 days, newest first, `limit + 1` rows; optionally of one type. */
export async function listEvents(
  db: Kysely<DB>,
  tenant: Tenant,
  query: { type?: string; limit: number; after: string | null },
  now: number,
): Promise<WebhookMessagesTable[]> {
  let select = db
    .selectFrom('webhook_messages')
    .selectAll()
    .where('org_id', '=', tenant.orgId)
    .where('mode', '=', tenant.mode)
    .where('created_at', '>=', isoAt(now - EVENTS_VISIBLE_DAYS * DAY_MS));
  if (query.type !== undefined) select = select.where('type', '=', query.type);
  if (query.after) select = select.where('id', '<', query.after);
  return select
    .orderBy('id', 'desc')
    .limit(query.limit + 1)
    .execute();
}
