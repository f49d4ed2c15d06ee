/**
 * Settings › API Keys › Create New Key, as the reference documentation walks through it: a name, the
 * scopes (least privilege), the mode, an expiration (90 days proposed; "never" warned against), then the
 * key, shown once with a Copy button.
 */
import { type FormEvent, useId, useState } from 'react';
import { api } from '../../api/client.ts';
import type { ApiKeyWithSecret, Mode, Scope } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { ScopePicker } from '../../components/ScopePicker.tsx';
import { SecretReveal } from '../../components/SecretReveal.tsx';
import { useSubmit } from '../../hooks.ts';
import {
  DEFAULT_EXPIRY,
  dateFromNow,
  EXPIRY_OPTIONS,
  type ExpiryChoice,
  expiryParams,
} from '../../lib/expiry.ts';
import { formatSecond } from '../../lib/format.ts';

export function CreateKeyDialog({
  open,
  onClose,
  onCreated,
  defaultMode,
  allowAdmin,
  maxLifetimeDays,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: () => void;
  defaultMode: Mode;
  /** Only owners and admins may give a key `admin`. */
  allowAdmin: boolean;
  maxLifetimeDays: number | null;
}) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>([]);
  const [mode, setMode] = useState<Mode>(defaultMode);
  const [expiry, setExpiry] = useState<ExpiryChoice>(DEFAULT_EXPIRY);
  const [customDate, setCustomDate] = useState(dateFromNow(90));
  const [submitted, setSubmitted] = useState(false);
  const { busy, error, run, clearError } = useSubmit();
  const [created, setCreated] = useState<ApiKeyWithSecret | null>(null);
  const ids = {
    name: useId(),
    expiry: useId(),
    date: useId(),
    dateHint: useId(),
    nameError: useId(),
    expiryError: useId(),
  };

  const close = () => {
    // The key goes with the dialog: nothing of it stays in memory.
    setCreated(null);
    setName('');
    setScopes([]);
    setExpiry(DEFAULT_EXPIRY);
    setSubmitted(false);
    clearError();
    onClose();
  };

  const expiryResult = expiryParams(expiry, customDate, maxLifetimeDays);
  const nameProblem = name.trim() === '' ? 'Give the key a name, e.g. where it is used.' : null;
  const scopesProblem = scopes.length === 0 ? 'Choose at least one scope.' : null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (nameProblem || scopesProblem || 'error' in expiryResult) return;
    await run(async () => {
      const key = await api<ApiKeyWithSecret>('POST', '/v1/api-keys', {
        body: { name: name.trim(), scopes, mode, ...expiryResult.params },
      });
      setCreated(key);
      onCreated();
    });
  };

  if (created) {
    return (
      <Dialog title="Your new API key" open={open} onClose={close}>
        <SecretReveal label={`API key “${created.name}”`} value={created.key} />
        <p className="muted small">
          Use it as <code>Authorization: Bearer {created.prefix}…</code> or set <code>COHERA_API_KEY</code>.
          Scopes: {created.scopes.join(', ')}.{' '}
          {created.expires_at ? `Expires ${formatSecond(created.expires_at)}.` : 'Never expires.'}
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
    <Dialog title="Create new key" open={open} onClose={close} busy={busy} wide>
      <form onSubmit={submit} noValidate>
        <label htmlFor={ids.name}>Name</label>
        <input
          id={ids.name}
          type="text"
          value={name}
          maxLength={100}
          onChange={(event) => setName(event.currentTarget.value)}
          aria-invalid={submitted && nameProblem !== null}
          aria-describedby={submitted && nameProblem ? ids.nameError : undefined}
          placeholder="e.g. ERP certificate sync"
        />
        {submitted && nameProblem ? (
          <p id={ids.nameError} className="field-error">
            {nameProblem}
          </p>
        ) : null}

        <ScopePicker value={scopes} onChange={setScopes} allowAdmin={allowAdmin} />
        {submitted && scopesProblem ? <p className="field-error">{scopesProblem}</p> : null}

        <fieldset>
          <legend>Mode</legend>
          <label className="radio">
            <input
              type="radio"
              name="mode"
              value="live"
              checked={mode === 'live'}
              // Test mode is a sandbox: from it, only test keys can be made.
              disabled={defaultMode === 'test'}
              onChange={() => setMode('live')}
            />
            Live (<code>ck_live_…</code>)
          </label>
          <label className="radio">
            <input
              type="radio"
              name="mode"
              value="test"
              checked={mode === 'test'}
              onChange={() => setMode('test')}
            />
            Test (<code>ck_test_…</code>, sees only test data)
          </label>
        </fieldset>

        <label htmlFor={ids.expiry}>Expiration</label>
        <select
          id={ids.expiry}
          value={expiry}
          onChange={(event) => setExpiry(event.currentTarget.value as ExpiryChoice)}
          aria-describedby={'error' in expiryResult ? ids.expiryError : undefined}
        >
          {EXPIRY_OPTIONS.map((option) => (
            <option
              key={option.value}
              value={option.value}
              disabled={option.value === 'never' && maxLifetimeDays !== null}
            >
              {option.label}
            </option>
          ))}
        </select>
        {expiry === 'custom' ? (
          <>
            {/* A text field, not a native date picker: that shows the browser's locale format (01/17/2027)
                while everything else here is ISO 8601, as the API is. */}
            <label htmlFor={ids.date}>Expires at the end of (UTC)</label>
            <input
              id={ids.date}
              type="text"
              inputMode="numeric"
              autoComplete="off"
              spellCheck={false}
              maxLength={10}
              placeholder="YYYY-MM-DD"
              value={customDate}
              onChange={(event) => setCustomDate(event.currentTarget.value)}
              aria-describedby={ids.dateHint}
              aria-invalid={'error' in expiryResult}
            />
            <p id={ids.dateHint} className="field-hint">
              YYYY-MM-DD, e.g. {dateFromNow(90)}. The key stops at 23:59:59 UTC that day.
            </p>
          </>
        ) : null}
        {expiry === 'never' && !('error' in expiryResult) ? (
          <p className="notice notice-warn" role="note">
            A key that never expires stays valid until someone revokes it, even if it leaks. Set an expiration
            and roll the key before it ends.
          </p>
        ) : null}
        {'error' in expiryResult ? (
          <p id={ids.expiryError} className="field-error">
            {expiryResult.error}
          </p>
        ) : null}

        {error ? <ErrorNotice error={error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create key'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
