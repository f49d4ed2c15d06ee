/**
 * Roll a key (the reference's rotation without downtime): a new key with the same settings, the old one
 * still working for a grace period you choose, the new key shown once. The security page opens it with a
 * preset: fewer scopes (least privilege) or an expiration for a key that had none.
 */
import { type FormEvent, useState } from 'react';
import { api } from '../../api/client.ts';
import type { ApiKey, ApiKeyWithSecret, Scope } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { DEFAULT_GRACE_SECONDS, GracePeriod } from '../../components/GracePeriod.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { SecretReveal } from '../../components/SecretReveal.tsx';
import { useSubmit } from '../../hooks.ts';
import { formatSecond, keyLabel, relativeTime } from '../../lib/format.ts';

export interface RollPreset {
  /** The new key's scopes (a subset of the old key's). */
  scopes?: Scope[];
  /** The new key's lifetime. */
  expiresInDays?: number;
  reason?: string;
}

export function RollKeyDialog({
  apiKey,
  preset,
  onClose,
  onRolled,
}: {
  apiKey: ApiKey | null;
  preset?: RollPreset;
  onClose: () => void;
  onRolled: () => void;
}) {
  const [grace, setGrace] = useState(DEFAULT_GRACE_SECONDS);
  const { busy, error, run, clearError } = useSubmit();
  const [rolled, setRolled] = useState<ApiKeyWithSecret | null>(null);
  const [oldEndsAt, setOldEndsAt] = useState<string | null>(null);

  const close = () => {
    setRolled(null);
    clearError();
    setGrace(DEFAULT_GRACE_SECONDS);
    onClose();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!apiKey) return;
    await run(async () => {
      const body: Record<string, unknown> = { grace_period_seconds: grace };
      if (preset?.scopes) body.scopes = preset.scopes;
      if (preset?.expiresInDays) body.expires_in_days = preset.expiresInDays;
      const next = await api<ApiKeyWithSecret>('POST', `/v1/api-keys/${encodeURIComponent(apiKey.id)}/roll`, {
        body,
      });
      // The moment the old key stops is the server's (now + grace on its clock): read back, not computed here.
      const old = await api<ApiKey>('GET', `/v1/api-keys/${encodeURIComponent(apiKey.id)}`).catch(() => null);
      setOldEndsAt(old?.expires_at ?? null);
      setRolled(next);
      onRolled();
    });
  };

  const open = apiKey !== null;
  if (rolled) {
    return (
      <Dialog title="Your new API key" open={open} onClose={close}>
        <SecretReveal
          label={`New key for “${rolled.name}”`}
          value={rolled.key}
          note="Deploy it, then check it works: the old key stops at the end of the grace period."
        />
        <p className="muted small">
          Scopes: {rolled.scopes.join(', ')}.{' '}
          {rolled.expires_at ? `Expires ${formatSecond(rolled.expires_at)}.` : 'Never expires.'}{' '}
          {apiKey && oldEndsAt
            ? `The old key ${keyLabel(apiKey.prefix, apiKey.last4)} stops at ${formatSecond(oldEndsAt)} (${relativeTime(oldEndsAt)}).`
            : null}
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
      title={apiKey ? `Roll “${apiKey.name}”` : 'Roll key'}
      open={open}
      onClose={close}
      busy={busy}
      description={
        apiKey
          ? `A new key replaces ${keyLabel(apiKey.prefix, apiKey.last4)}. ${preset?.reason ?? 'It keeps the same scopes, mode and lifetime.'}`
          : undefined
      }
    >
      <form onSubmit={submit}>
        {preset?.scopes ? (
          <p>
            New scopes: <strong>{preset.scopes.join(', ')}</strong>
          </p>
        ) : null}
        {preset?.expiresInDays ? (
          <p>
            The new key expires in <strong>{preset.expiresInDays} days</strong>.
          </p>
        ) : null}
        <GracePeriod legend="Keep the old key working for" value={grace} onChange={setGrace} />
        {error ? <ErrorNotice error={error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Rolling…' : 'Roll key'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
