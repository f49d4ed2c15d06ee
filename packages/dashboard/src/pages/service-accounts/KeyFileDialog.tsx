/**
 * Service accounts › Generate key: the server makes an ES256 key pair and answers with
 * `service-account.json`, private key included, this once; it keeps only the public half. The file is
 * saved from memory (a Blob behind a short-lived object URL), never put in storage and never shown on the
 * page, and it is dropped when the dialog closes.
 */
import { type FormEvent, type MouseEvent, useEffect, useId, useRef, useState } from 'react';
import { api } from '../../api/client.ts';
import type { ServiceAccountFile, ServiceAccountObject } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { useSubmit } from '../../hooks.ts';
import { DEFAULT_KEY_DAYS, expiryDaysParams, saysMoreThan, serverFieldError } from './fields.ts';

const FILE_NAME = 'service-account.json';

export function KeyFileDialog({
  account,
  onClose,
  onGenerated,
}: {
  account: ServiceAccountObject | null;
  onClose: () => void;
  /** A key was added to the account (its key list is out of date): its id, never the private key. */
  onGenerated: (account: ServiceAccountObject, keyId: string) => void;
}) {
  const [days, setDays] = useState(DEFAULT_KEY_DAYS);
  const [submitted, setSubmitted] = useState(false);
  const { busy, error, run, clearError } = useSubmit();
  const [file, setFile] = useState<ServiceAccountFile | null>(null);
  const [saved, setSaved] = useState<'no' | 'downloaded' | 'copied' | 'copy-failed'>('no');
  const downloadButton = useRef<HTMLButtonElement>(null);
  const ids = { days: useId(), daysHint: useId(), daysError: useId(), warning: useId() };

  // The form's button is gone once the file is here: the focus goes to what to do next.
  useEffect(() => {
    if (file) downloadButton.current?.focus();
  }, [file]);

  const close = () => {
    // The private key goes with the dialog: nothing of it stays in memory.
    setFile(null);
    setSaved('no');
    setDays(DEFAULT_KEY_DAYS);
    setSubmitted(false);
    clearError();
    onClose();
  };

  const expiry = expiryDaysParams(days);
  const daysProblem = 'error' in expiry ? expiry.error : serverFieldError(error, 'body/expires_in_days');

  const generate = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (!account || 'error' in expiry) return;
    await run(async () => {
      const generated = await api<ServiceAccountFile>(
        'POST',
        `/v1/service-accounts/${encodeURIComponent(account.id)}/keys`,
        { body: expiry.params },
      );
      setFile(generated);
      onGenerated(account, generated.private_key_id);
    });
  };

  const download = (event: MouseEvent<HTMLButtonElement>) => {
    if (!file) return;
    const blob = new Blob([`${JSON.stringify(file, null, 2)}\n`], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = FILE_NAME;
    link.hidden = true;
    // Inside the dialog: while it is open the rest of the page is inert.
    event.currentTarget.after(link);
    link.click();
    link.remove();
    // The browser reads the Blob after the click returns (revoking at once cancels the download in
    // Chromium): let it go a little later, which drops the Blob and the key in it.
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setSaved('downloaded');
  };

  const copy = async () => {
    if (!file) return;
    try {
      await navigator.clipboard.writeText(JSON.stringify(file, null, 2));
      setSaved('copied');
    } catch {
      setSaved('copy-failed');
    }
  };

  const open = account !== null;
  if (file) {
    return (
      <Dialog title={`Download ${FILE_NAME}`} open={open} onClose={close} wide>
        <div id={ids.warning} className="notice notice-warn">
          <p>
            <strong>This file holds the private key of the new key.</strong> It is shown only now: the server
            keeps only the public key and cannot give it to you again.
          </p>
          <p>
            Store it in a secret manager (or a mounted secret) that only the service can read. Never commit it
            to a repository, bake it into an image or put it in a browser.
          </p>
        </div>
        <dl className="key-file-summary">
          <dt>Service account</dt>
          <dd>
            {account?.name} <code>{file.service_account_id}</code>
          </dd>
          <dt>Key id (the token's kid)</dt>
          <dd>
            <code>{file.private_key_id}</code>
          </dd>
          <dt>Algorithm</dt>
          <dd>{file.algorithm}</dd>
          <dt>Issuer and audience</dt>
          <dd>
            <code>{file.issuer}</code>, <code>{file.audience}</code>
          </dd>
        </dl>
        <div className="key-file-actions">
          <button
            ref={downloadButton}
            type="button"
            className="button download-button"
            onClick={download}
            aria-describedby={ids.warning}
          >
            Download {FILE_NAME}
          </button>
          <button type="button" className="button secondary" onClick={copy}>
            Copy the JSON
          </button>
        </div>
        <p className="muted small" role="status" aria-live="polite">
          {saved === 'downloaded'
            ? `Saved as ${FILE_NAME}: move it to your secret manager, then delete the downloaded copy.`
            : saved === 'copied'
              ? 'Copied to the clipboard: paste it into your secret manager, then copy something else.'
              : saved === 'copy-failed'
                ? 'Copy failed: download the file instead.'
                : ''}
        </p>
        {saved === 'no' ? (
          <p className="field-hint">
            If you close this without saving the file, the private key is gone: delete this key and generate
            another.
          </p>
        ) : null}
        <div className="dialog-actions">
          <button type="button" className={saved === 'no' ? 'secondary' : undefined} onClick={close}>
            {saved === 'no' ? 'Close without saving' : 'Done'}
          </button>
        </div>
      </Dialog>
    );
  }

  return (
    <Dialog
      title={account ? `Generate a key for “${account.name}”` : 'Generate key'}
      open={open}
      onClose={close}
      busy={busy}
      description={`The server generates an ES256 (P-256) key pair and gives you the private key once, in ${FILE_NAME}. It keeps only the public key, to verify the tokens your service signs.`}
    >
      <form onSubmit={generate} noValidate>
        <label htmlFor={ids.days}>Expires after (days)</label>
        <input
          id={ids.days}
          type="text"
          inputMode="numeric"
          value={days}
          onChange={(event) => setDays(event.currentTarget.value)}
          aria-invalid={submitted && daysProblem !== null}
          aria-describedby={submitted && daysProblem ? `${ids.daysError} ${ids.daysHint}` : ids.daysHint}
          placeholder="e.g. 365"
          autoComplete="off"
        />
        <p id={ids.daysHint} className="field-hint">
          90 days proposed. Empty makes a key that never expires, even if it leaks. Replace keys regularly:
          add a new key, deploy it, then delete the old one.
        </p>
        {submitted && daysProblem ? (
          <p id={ids.daysError} className="field-error">
            {daysProblem}
          </p>
        ) : null}
        {saysMoreThan(error, ['body/expires_in_days']) && error ? <ErrorNotice error={error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Generating…' : 'Generate key'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
