/**
 * Rotate an endpoint's signing secret without missing a delivery: during the grace period you choose, every
 * delivery is signed with both secrets (two `v1,` entries in webhook-signature), so the receiver may switch
 * to the new one whenever it is deployed. None for a secret that leaked. The new secret is shown once.
 */
import { type FormEvent, useState } from 'react';
import { api } from '../../api/client.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { DEFAULT_GRACE_SECONDS, GracePeriod } from '../../components/GracePeriod.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { SecretReveal } from '../../components/SecretReveal.tsx';
import { useSubmit } from '../../hooks.ts';
import { formatDateTime } from '../../lib/format.ts';
import type { WebhookEndpoint } from '../../lib/webhooks.ts';

interface Rotated {
  secret: string;
  /** When the previous secret stops signing (now + the grace period). */
  until: string | null;
}

export function RotateEndpointSecretDialog({
  endpoint,
  onClose,
  onRotated,
}: {
  endpoint: WebhookEndpoint | null;
  onClose: () => void;
  onRotated: () => void;
}) {
  const [grace, setGrace] = useState(DEFAULT_GRACE_SECONDS);
  const { busy, error, run, clearError } = useSubmit();
  const [rotated, setRotated] = useState<Rotated | null>(null);

  const close = () => {
    setRotated(null);
    clearError();
    setGrace(DEFAULT_GRACE_SECONDS);
    onClose();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!endpoint) return;
    const asked = Date.now();
    await run(async () => {
      const answer = await api<{ secret: string; previous_secret_expires_at?: string | null }>(
        'POST',
        `/v1/webhook-endpoints/${encodeURIComponent(endpoint.id)}/rotate-secret`,
        { body: { grace_period_seconds: grace } },
      );
      const until =
        answer.previous_secret_expires_at ??
        (grace > 0 ? new Date(asked + grace * 1000).toISOString() : null);
      setRotated({ secret: answer.secret, until });
      onRotated();
    });
  };

  const open = endpoint !== null;
  if (rotated && endpoint) {
    return (
      <Dialog title="Your endpoint’s new signing secret" open={open} onClose={close}>
        <SecretReveal
          label={`New signing secret for ${endpoint.url}`}
          value={rotated.secret}
          note={
            rotated.until
              ? `Deploy it to the receiver: deliveries are signed with both secrets until ${formatDateTime(rotated.until)}, then with the new one only.`
              : 'The previous secret no longer signs deliveries: deploy this one to the receiver now.'
          }
        />
        <div className="dialog-actions">
          <button type="button" className="button" onClick={close}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }
  return (
    <Dialog
      title="Rotate the signing secret"
      open={open}
      onClose={close}
      busy={busy}
      description={
        endpoint ? (
          <>
            A new secret signs the deliveries to <span className="webhook-url">{endpoint.url}</span>. The URL,
            the events and the delivery log stay the same.
          </>
        ) : undefined
      }
    >
      <form onSubmit={submit}>
        <GracePeriod
          legend="Keep signing with the previous secret for"
          value={grace}
          onChange={setGrace}
          hint="Long enough to deploy the new secret to the receiver. Choose Immediately if the secret leaked."
        />
        <p className="muted small">
          Only one previous secret is kept: rotating again ends one still in its grace period.
        </p>
        {error ? <ErrorNotice error={error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Rotating…' : 'Rotate secret'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
