/**
 * The webhook event catalogue (DESIGN §5.5): every type an endpoint can subscribe to, with what it means.
 * Shared by the server (which emits them), the SDK and the dashboard (which offer them), so a type exists in
 * one place only. A published type keeps its meaning; names are `<thing>.<what happened>`, like audit actions.
 */
export const WEBHOOK_EVENT_TYPES = {
  'certificate.created': 'A certificate was created',
  'certificate.updated': 'A certificate was changed',
  'certificate.revoked': 'A certificate’s status became revoked',
  'certificate.deleted': 'A certificate was deleted',
  'certificate.expiring': 'A certificate expires in 30, 7 or 1 days',
  'certificate.expired': 'A certificate reached its expiry date',
  'supplier.created': 'A supplier was created',
  'supplier.updated': 'A supplier was changed',
  'supplier.deleted': 'A supplier was deleted',
  'product.created': 'A product was created',
  'product.updated': 'A product was changed',
  'product.deleted': 'A product was deleted',
  'api_key.created': 'An API key was created',
  'api_key.rolled': 'An API key was rolled: a new key, the old one ending after the grace period',
  'api_key.revoked': 'An API key was revoked',
  'api_key.expired': 'An API key reached its expiry',
  'api_key.leaked': 'An API key was reported as leaked',
  'api_key.expiring': 'An API key expires in 7 or 1 days',
  'service_account.created': 'A service account was created',
  'service_account.deleted': 'A service account was deleted',
  'service_account.key_created': 'A key was added to a service account',
  'service_account.key_deleted': 'A key of a service account was deleted',
  'oauth_client.created': 'An OAuth app was registered',
  'oauth_client.deleted': 'An OAuth app was deleted',
  'oauth_client.secret_rotated': 'An OAuth app’s client secret was replaced',
  'oauth.authorization_revoked': 'A person revoked an OAuth app’s access',
  'rate_limit.exceeded': 'The organization went over a rate limit (at most once per mode and window)',
  'webhook_endpoint.disabled': 'A webhook endpoint was disabled after failing deliveries (or a 410)',
  'webhook.test': 'A test event sent on request to one endpoint',
} as const satisfies Record<string, string>;

export type WebhookEventType = keyof typeof WEBHOOK_EVENT_TYPES;

/** What an endpoint subscribes to: event types, or `*` for every type (also those added later). */
export type WebhookSubscription = WebhookEventType | '*';

/** The prefix of every webhook signing secret, Standard Webhooks' convention (and a secret scanner's hook). */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** Whether `value` is a type of the catalogue. */
export function isWebhookEventType(value: string): value is WebhookEventType {
  return Object.hasOwn(WEBHOOK_EVENT_TYPES, value);
}
