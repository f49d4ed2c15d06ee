/**
 * Service accounts › Create service account: a name that says which service it is, and the scope ceiling
 * (the most its tokens may ever claim). The account is made in the dashboard's current mode; keys are
 * added afterwards, from the account's row.
 */
import { type FormEvent, useId, useState } from 'react';
import { api } from '../../api/client.ts';
import type { Mode, Scope, ServiceAccountObject } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { ScopePicker } from '../../components/ScopePicker.tsx';
import { useSubmit } from '../../hooks.ts';

export function CreateServiceAccountDialog({
  open,
  mode,
  onClose,
  onCreated,
}: {
  open: boolean;
  mode: Mode;
  onClose: () => void;
  onCreated: (account: ServiceAccountObject) => void;
}) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>([]);
  const [submitted, setSubmitted] = useState(false);
  const { busy, error, run, clearError } = useSubmit();
  const ids = { name: useId(), nameError: useId(), nameHint: useId(), scopesError: useId() };

  const close = () => {
    setName('');
    setScopes([]);
    setSubmitted(false);
    clearError();
    onClose();
  };

  const nameProblem = name.trim() === '' ? 'Give the account a name, e.g. the service that uses it.' : null;
  const scopesProblem = scopes.length === 0 ? 'Choose at least one scope.' : null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (nameProblem || scopesProblem) return;
    await run(async () => {
      const account = await api<ServiceAccountObject>('POST', '/v1/service-accounts', {
        body: { name: name.trim(), scopes, mode },
      });
      onCreated(account);
      close();
    });
  };

  return (
    <Dialog
      title="Create service account"
      open={open}
      onClose={close}
      busy={busy}
      wide
      description={`A ${mode}-mode identity for one of your services. ${
        mode === 'test' ? 'Its tokens see only test data.' : 'Its tokens see live data.'
      }`}
    >
      <form onSubmit={submit} noValidate>
        <label htmlFor={ids.name}>Name</label>
        <input
          id={ids.name}
          type="text"
          value={name}
          maxLength={100}
          onChange={(event) => setName(event.currentTarget.value)}
          aria-invalid={submitted && nameProblem !== null}
          aria-describedby={submitted && nameProblem ? `${ids.nameError} ${ids.nameHint}` : ids.nameHint}
          placeholder="e.g. certificate-reader"
          autoComplete="off"
        />
        <p id={ids.nameHint} className="field-hint">
          Say which service uses it, so that its entries in the audit log speak for themselves.
        </p>
        {submitted && nameProblem ? (
          <p id={ids.nameError} className="field-error">
            {nameProblem}
          </p>
        ) : null}

        <ScopePicker legend="Scope ceiling" value={scopes} onChange={setScopes} />
        <p className="field-hint">
          The account's tokens can claim these scopes and no more. Each token names the scopes it needs for
          its job, within this ceiling.
        </p>
        {submitted && scopesProblem ? (
          <p id={ids.scopesError} className="field-error">
            {scopesProblem}
          </p>
        ) : null}

        {error ? <ErrorNotice error={error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create service account'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
