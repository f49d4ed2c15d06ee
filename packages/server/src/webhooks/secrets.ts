/**
 * Webhook signing secrets (DESIGN §5.5, Standard Webhooks 1.0): `whsec_` + base64 of 32 random bytes; the
 * HMAC key is the decoded bytes. Unlike an API key the server must sign with the secret on every delivery,
 * so it cannot keep a hash: it keeps the secret AES-256-GCM sealed under the master key (DESIGN §6.1),
 * bound to the endpoint's id, so a sealed secret copied into another endpoint's row does not open there.
 */
import { randomBytes } from 'node:crypto';
import { WEBHOOK_SECRET_PREFIX } from '@cohera/shared';
import { isoAt } from '../clock.ts';
import { SecretBox } from '../crypto/secret-box.ts';
import type { WebhookEndpointsTable } from '../storage/schema.ts';

/** The key bytes of a secret: 256 bits, Standard Webhooks' recommended size. */
const SECRET_BYTES = 32;

/** A new signing secret, e.g. `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw…`. */
export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** The HMAC key of a secret: the bytes its base64 part decodes to. */
export function secretKeyBytes(secret: string): Buffer {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) throw new Error('not a webhook secret');
  return Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
}

/** The box every webhook secret is sealed in: its own key, derived from the master key for this purpose. */
export function webhookSecretBox(masterKey: Buffer): SecretBox {
  return new SecretBox(masterKey, 'webhook-secret');
}

export function sealWebhookSecret(box: SecretBox, endpointId: string, secret: string): string {
  return box.seal(secret, endpointId);
}

/** Throws when the value was altered, belongs to another endpoint, or was sealed under another master key. */
export function openWebhookSecret(box: SecretBox, endpointId: string, sealed: string): string {
  return box.open(sealed, endpointId);
}

/**
 * The HMAC keys that sign a delivery at `now`: the current secret, then the previous one while its grace
 * period lasts, so a receiver that has not switched yet keeps verifying (DESIGN §5.5: both secrets sign).
 */
export function signingSecrets(
  box: SecretBox,
  row: Pick<
    WebhookEndpointsTable,
    'id' | 'secret_sealed' | 'previous_secret_sealed' | 'previous_secret_expires_at'
  >,
  now: number,
): Buffer[] {
  const keys = [secretKeyBytes(openWebhookSecret(box, row.id, row.secret_sealed))];
  if (
    row.previous_secret_sealed !== null &&
    row.previous_secret_expires_at !== null &&
    row.previous_secret_expires_at > isoAt(now)
  ) {
    keys.push(secretKeyBytes(openWebhookSecret(box, row.id, row.previous_secret_sealed)));
  }
  return keys;
}
