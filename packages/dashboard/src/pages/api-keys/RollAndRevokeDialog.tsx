/**
 * "Roll and revoke": the one-click remedy for a leaked key that still works (the org's leak policy is
 * `notify`). A roll with no grace period makes the new key (shown once) and ends the old one now; the
 * revoke that follows marks the old key revoked, so every node refuses it within a second and the key list
 * says so. The two calls are the API's own roll and revoke.
 */
import { useState } from 'react';
import { api } from '../../api/client.ts';
import type { ApiKey, ApiKeyWithSecret } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { SecretReveal } from '../../components/SecretReveal.tsx';
import { useSubmit } from '../../hooks.ts';
import { keyLabel } from '../../lib/format.ts';

export function RollAndRevokeDialog({
  apiKey,
  onClose,
  onDone,
}: {
  apiKey: ApiKey | null;
  onClose: () => void;
  onDone: () => void;
}) {
  const { busy, error, run, clearError } = useSubmit();
  const [rolled, setRolled] = useState<ApiKeyWithSecret | null>(null);

  const close = () => {
    setRolled(null);
    clearError();
    onClose();
  };

  const submit = async () => {
    if (!apiKey) return;
    await run(async () => {
      const id = encodeURIComponent(apiKey.id);
      const next = await api<ApiKeyWithSecret>('POST', `/v1/api-keys/${id}/roll`, {
        body: { grace_period_seconds: 0 },
      });
      // The new key exists from here on: show it even if the revoke fails (the roll already ended the old key).
      setRolled(next);
      await api('POST', `/v1/api-keys/${id}/revoke`);
      onDone();
    });
  };

  const open = apiKey !== null;
  if (rolled) {
    return (
      <Dialog title="Your new API key" open={open} onClose={close}>
        <SecretReveal
          label={`New key for “${rolled.name}”`}
          value={rolled.key}
          note="Deploy it now: the leaked key no longer works."
        />
        {error ? <ErrorNotice error={error} /> : null}
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
      title={apiKey ? `Roll and revoke “${apiKey.name}”` : 'Roll and revoke'}
      open={open}
      onClose={close}
      busy={busy}
      description={
        apiKey
          ? `A new key with the same scopes replaces ${keyLabel(apiKey.prefix, apiKey.last4)}, which stops working at once.`
          : undefined
      }
    >
      <p>
        Whoever found the leaked key can use it until it is revoked. The new key is shown once; requests with
        the old key fail from now on, on every server within a second.
      </p>
      {error ? <ErrorNotice error={error} /> : null}
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={close} disabled={busy}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={submit} disabled={busy}>
          {busy ? 'Rolling…' : 'Roll and revoke'}
        </button>
      </div>
    </Dialog>
  );
}
