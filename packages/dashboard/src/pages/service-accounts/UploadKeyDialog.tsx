/**
 * Service accounts › Upload public key: for a key pair made where it will be used (an HSM, a KMS), only
 * the public half is registered. The server reads the algorithm from the key and refuses anything it
 * would not verify (other curves, short RSA keys, a private key) with a 400 naming the field, shown next
 * to it. A pasted private key is refused here already, so it is never sent.
 */
import { type FormEvent, useId, useRef, useState } from 'react';
import { api } from '../../api/client.ts';
import type { ServiceAccountKey, ServiceAccountKeyAlgorithm, ServiceAccountObject } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { DEFAULT_KEY_DAYS, expiryDaysParams, saysMoreThan, serverFieldError } from './fields.ts';

const ALGORITHMS: { value: ServiceAccountKeyAlgorithm | ''; label: string }[] = [
  { value: '', label: 'Read it from the key' },
  { value: 'ES256', label: 'ES256 (ECDSA P-256)' },
  { value: 'RS256', label: 'RS256 (RSA, 2048 bits or more)' },
  { value: 'EdDSA', label: 'EdDSA (Ed25519)' },
];

const FIELDS = ['body/public_key', 'body/algorithm', 'body/expires_in_days'];

function pemProblem(pem: string): string | null {
  if (pem.trim() === '') return 'Paste the public key, in PEM (-----BEGIN PUBLIC KEY-----).';
  if (/PRIVATE KEY/.test(pem)) {
    return 'This is a private key: it was not sent. Upload only the public key and keep the private key yourself (openssl pkey -in private.pem -pubout).';
  }
  return null;
}

export function UploadKeyDialog({
  account,
  onClose,
  onUploaded,
}: {
  account: ServiceAccountObject | null;
  onClose: () => void;
  onUploaded: (account: ServiceAccountObject, key: ServiceAccountKey) => void;
}) {
  const [pem, setPem] = useState('');
  const [algorithm, setAlgorithm] = useState<ServiceAccountKeyAlgorithm | ''>('');
  const [days, setDays] = useState(DEFAULT_KEY_DAYS);
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const refs = {
    pem: useRef<HTMLTextAreaElement>(null),
    algorithm: useRef<HTMLSelectElement>(null),
    days: useRef<HTMLInputElement>(null),
  };
  const ids = {
    pem: useId(),
    pemHint: useId(),
    pemError: useId(),
    algorithm: useId(),
    algorithmError: useId(),
    days: useId(),
    daysHint: useId(),
    daysError: useId(),
  };

  const close = () => {
    setPem('');
    setAlgorithm('');
    setDays(DEFAULT_KEY_DAYS);
    setSubmitted(false);
    setError(null);
    onClose();
  };

  const expiry = expiryDaysParams(days);
  const problems = {
    pem: pemProblem(pem) ?? serverFieldError(error, 'body/public_key'),
    algorithm: serverFieldError(error, 'body/algorithm'),
    days: 'error' in expiry ? expiry.error : serverFieldError(error, 'body/expires_in_days'),
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    setError(null);
    const local = pemProblem(pem);
    if (local || 'error' in expiry) {
      (local ? refs.pem : refs.days).current?.focus();
      return;
    }
    if (!account) return;
    setBusy(true);
    try {
      const key = await api<ServiceAccountKey>(
        'POST',
        `/v1/service-accounts/${encodeURIComponent(account.id)}/keys`,
        { body: { public_key: pem, ...(algorithm ? { algorithm } : {}), ...expiry.params } },
      );
      onUploaded(account, key);
      close();
    } catch (caught) {
      const failure = caught instanceof Error ? caught : new Error(String(caught));
      setError(failure);
      // The field the server named takes the focus, its message read with it.
      if (serverFieldError(failure, 'body/public_key')) refs.pem.current?.focus();
      else if (serverFieldError(failure, 'body/algorithm')) refs.algorithm.current?.focus();
      else if (serverFieldError(failure, 'body/expires_in_days')) refs.days.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  const invalid = (problem: string | null) => submitted && problem !== null;
  const describedBy = (problem: string | null, errorId: string, hintId?: string) =>
    [invalid(problem) ? errorId : null, hintId ?? null].filter(Boolean).join(' ') || undefined;

  return (
    <Dialog
      title={account ? `Upload a public key for “${account.name}”` : 'Upload public key'}
      open={account !== null}
      onClose={close}
      busy={busy}
      wide
      description="Generate the key pair yourself and register only its public half: the private key never leaves your side."
    >
      <form onSubmit={submit} noValidate>
        <label htmlFor={ids.pem}>Public key (PEM)</label>
        <textarea
          ref={refs.pem}
          id={ids.pem}
          className="mono pem-input"
          value={pem}
          maxLength={16_384}
          rows={8}
          spellCheck={false}
          autoComplete="off"
          onChange={(event) => setPem(event.currentTarget.value)}
          aria-invalid={invalid(problems.pem)}
          aria-describedby={describedBy(problems.pem, ids.pemError, ids.pemHint)}
          placeholder={'-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----'}
        />
        <p id={ids.pemHint} className="field-hint">
          SPKI PEM, e.g. from <code>openssl pkey -in private.pem -pubout</code>. Accepted: ES256 (P-256),
          RS256 (RSA, at least 2048 bits) and EdDSA (Ed25519).
        </p>
        {invalid(problems.pem) ? (
          <p id={ids.pemError} className="field-error">
            {problems.pem}
          </p>
        ) : null}

        <label htmlFor={ids.algorithm}>Algorithm</label>
        <select
          ref={refs.algorithm}
          id={ids.algorithm}
          value={algorithm}
          onChange={(event) => setAlgorithm(event.currentTarget.value as ServiceAccountKeyAlgorithm | '')}
          aria-invalid={invalid(problems.algorithm)}
          aria-describedby={describedBy(problems.algorithm, ids.algorithmError)}
        >
          {ALGORITHMS.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
        {invalid(problems.algorithm) ? (
          <p id={ids.algorithmError} className="field-error">
            {problems.algorithm}
          </p>
        ) : null}

        <label htmlFor={ids.days}>Expires after (days)</label>
        <input
          ref={refs.days}
          id={ids.days}
          type="text"
          inputMode="numeric"
          value={days}
          onChange={(event) => setDays(event.currentTarget.value)}
          aria-invalid={invalid(problems.days)}
          aria-describedby={describedBy(problems.days, ids.daysError, ids.daysHint)}
          placeholder="e.g. 365"
          autoComplete="off"
        />
        <p id={ids.daysHint} className="field-hint">
          90 days proposed. Empty makes a key that never expires, even if it leaks.
        </p>
        {invalid(problems.days) ? (
          <p id={ids.daysError} className="field-error">
            {problems.days}
          </p>
        ) : null}

        {saysMoreThan(error, FIELDS) && error ? <ErrorNotice error={error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Uploading…' : 'Upload public key'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
