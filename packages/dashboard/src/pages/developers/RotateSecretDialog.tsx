/**
 * Rotate a confidential app's client secret (the reference's rotation without downtime): a new secret,
 * the previous one still working for a grace period you choose (none for a secret that leaked), the new
 * secret shown once. Only one previous secret is kept: rotating again ends one still in its grace period.
 */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api } from '../../api/client.ts';
import type { OAuthClient, OAuthClientWithSecret } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { DEFAULT_GRACE_SECONDS, GracePeriod } from '../../components/GracePeriod.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { SecretReveal } from '../../components/SecretReveal.tsx';
import { useSubmit } from '../../hooks.ts';
import { formatDateTime } from '../../lib/format.ts';

/** Whether a previous secret is still in its grace period. */
export function previousSecretActive(client: OAuthClient, now = Date.now()): boolean {
  return client.previous_secret_expires_at !== null && Date.parse(client.previous_secret_expires_at) > now;
}

export function RotateSecretDialog({
  client,
  onClose,
  onRotated,
}: {
  client: OAuthClient | null;
  onClose: () => void;
  onRotated: () => void;
}) {
  const [grace, setGrace] = useState(DEFAULT_GRACE_SECONDS);
  const { busy, error, run, clearError } = useSubmit();
  const [rotated, setRotated] = useState<OAuthClientWithSecret | null>(null);
  const result = useRef<HTMLDivElement>(null);

  // The form is replaced by the new secret inside the same open dialog: the focus goes to it.
  useEffect(() => {
    if (rotated) result.current?.querySelector<HTMLElement>('[data-autofocus]')?.focus();
  }, [rotated]);

  const close = () => {
    setRotated(null);
    clearError();
    setGrace(DEFAULT_GRACE_SECONDS);
    onClose();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!client) return;
    await run(async () => {
      const next = await api<OAuthClientWithSecret>(
        'POST',
        `/v1/oauth/clients/${encodeURIComponent(client.id)}/rotate-secret`,
        { body: { grace_period_seconds: grace } },
      );
      setRotated(next);
      onRotated();
    });
  };

  const open = client !== null;
  if (rotated?.client_secret) {
    const until = rotated.previous_secret_expires_at;
    return (
      <Dialog title="Your new client secret" open={open} onClose={close}>
        <div ref={result}>
          <SecretReveal
            label={`New client secret for “${rotated.name}”`}
            value={rotated.client_secret}
            note={
              until
                ? `Deploy it to the app’s server, then check it works: the previous secret stops at ${formatDateTime(until)}.`
                : 'The previous secret has stopped working: deploy this one now.'
            }
          />
        </div>
        <p className="muted small">
          Client ID <code>{rotated.client_id}</code> is unchanged; the new secret ends in …
          {rotated.secret_last4}. To check a deployment has it, introspect any string with it at{' '}
          <code>/oauth/introspect</code>: <code>{'{"active":false}'}</code> means the secret was accepted.
        </p>
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
      title={client ? `Rotate the secret of “${client.name}”` : 'Rotate secret'}
      open={open}
      onClose={close}
      busy={busy}
      description={
        client
          ? `A new secret replaces the one ending in …${client.secret_last4 ?? '????'}. The client ID, redirect URIs and scopes stay the same, and users keep their authorizations.`
          : undefined
      }
    >
      <form onSubmit={submit}>
        {client && previousSecretActive(client) ? (
          <p className="notice notice-warn" role="note">
            The secret replaced at the last rotation still works until{' '}
            {formatDateTime(client.previous_secret_expires_at)}. Rotating again ends it now: only one previous
            secret is kept.
          </p>
        ) : null}
        <GracePeriod
          legend="Keep the previous secret working for"
          value={grace}
          onChange={setGrace}
          hint="Long enough to deploy the new secret everywhere. Choose Immediately if the secret leaked."
        />
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
