/**
 * Settings › Webhooks › Add endpoint: the URL (checked by the server's rules while typing), the events,
 * a description; then the signing secret, shown once with a Copy button, as a new API key is. Cohera keeps
 * the secret sealed under its master key to sign deliveries, and never shows it again.
 */
import { type FormEvent, useState } from 'react';
import { api } from '../../api/client.ts';
import type { Mode } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { SecretReveal } from '../../components/SecretReveal.tsx';
import { useSubmit } from '../../hooks.ts';
import { checkDraft, EMPTY_DRAFT, type WebhookEndpointWithSecret } from '../../lib/webhooks.ts';
import { EndpointFields } from './EndpointFields.tsx';

export function AddEndpointDialog({
  open,
  mode,
  onClose,
  onAdded,
}: {
  open: boolean;
  mode: Mode;
  onClose: () => void;
  onAdded: (endpoint: WebhookEndpointWithSecret) => void;
}) {
  const [draft, setDraft] = useState(EMPTY_DRAFT);
  const [submitted, setSubmitted] = useState(false);
  const { busy, error, run, clearError } = useSubmit();
  const [created, setCreated] = useState<WebhookEndpointWithSecret | null>(null);

  const close = () => {
    // The secret goes with the dialog: nothing of it stays in memory.
    setCreated(null);
    setDraft(EMPTY_DRAFT);
    setSubmitted(false);
    clearError();
    onClose();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    const { body } = checkDraft(draft);
    if (!body) return;
    await run(async () => {
      const endpoint = await api<WebhookEndpointWithSecret>('POST', '/v1/webhook-endpoints', { body });
      setCreated(endpoint);
      onAdded(endpoint);
    });
  };

  if (created) {
    return (
      <Dialog title="Your endpoint’s signing secret" open={open} onClose={close}>
        <SecretReveal
          label={`Signing secret for ${created.url}`}
          value={created.secret}
          note="Give it to the receiver (a secret manager, or an environment variable such as COHERA_WEBHOOK_SECRET): it checks the webhook-signature header of every delivery with it."
        />
        <p className="muted small">
          Deliveries follow Standard Webhooks 1.0, so the Cohera SDK (<code>new Webhooks(secret).verify</code>
          ) and the <code>standardwebhooks</code> libraries verify them. Send a test event to check the
          receiver works. If the secret is lost, rotate it.
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
      title="Add endpoint"
      open={open}
      onClose={close}
      busy={busy}
      wide
      description={
        mode === 'test'
          ? 'A test-mode endpoint: it receives the events of your test data only.'
          : 'A live endpoint: it receives the events of your live data. Switch to Test for an endpoint that receives test events.'
      }
    >
      <form onSubmit={submit} noValidate>
        <EndpointFields draft={draft} onChange={setDraft} submitted={submitted} />

        {error ? <ErrorNotice error={error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Adding…' : 'Add endpoint'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
