/**
 * Settings › Webhooks › Edit: change an endpoint's URL, events or description (PATCH). The signing secret
 * and the delivery log stay; deliveries already queued go to the new URL.
 */
import { type FormEvent, useState } from 'react';
import { api } from '../../api/client.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { useSubmit } from '../../hooks.ts';
import { checkDraft, EMPTY_DRAFT, type WebhookEndpoint } from '../../lib/webhooks.ts';
import { EndpointFields } from './EndpointFields.tsx';

export function EditEndpointDialog({
  endpoint,
  onClose,
  onSaved,
}: {
  endpoint: WebhookEndpoint | null;
  onClose: () => void;
  onSaved: (endpoint: WebhookEndpoint) => void;
}) {
  const [draft, setDraft] = useState(EMPTY_DRAFT);
  const [openedFor, setOpenedFor] = useState<string | null>(null);
  const [submitted, setSubmitted] = useState(false);
  const { busy, error, run, clearError } = useSubmit();

  // Each opening starts from the endpoint as it is now (and a refreshed copy of the same endpoint while open
  // keeps what was typed). Set while rendering (React renders again before showing anything), not in an
  // effect: that painted the form empty first, and a quick hand, or a test, could type into it before it
  // filled.
  const endpointId = endpoint?.id ?? null;
  if (endpointId !== openedFor) {
    setOpenedFor(endpointId);
    if (endpoint) {
      setDraft({ url: endpoint.url, events: [...endpoint.events], description: endpoint.description });
    }
  }

  const close = () => {
    setDraft(EMPTY_DRAFT);
    setSubmitted(false);
    clearError();
    onClose();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    const { body } = checkDraft(draft);
    if (!endpoint || !body) return;
    await run(async () => {
      const saved = await api<WebhookEndpoint>(
        'PATCH',
        `/v1/webhook-endpoints/${encodeURIComponent(endpoint.id)}`,
        { body },
      );
      onSaved(saved);
      close();
    });
  };

  return (
    <Dialog
      title="Edit endpoint"
      open={endpoint !== null}
      onClose={close}
      busy={busy}
      wide
      description="The signing secret and the delivery log stay the same. Deliveries still waiting go to the new URL."
    >
      <form onSubmit={submit} noValidate>
        <EndpointFields draft={draft} onChange={setDraft} submitted={submitted} />
        {error ? <ErrorNotice error={error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : 'Save changes'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
