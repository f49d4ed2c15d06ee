/**
 * Developer console › Edit app: the name, the redirect URIs (checked line by line while typing, by the
 * server's own rules) and the scopes the app may request, as at registration. Only what changed is sent
 * (`PATCH /v1/oauth/clients/:id`). Narrowing the scopes ends the authorizations of the people who granted
 * more (their tokens stop working; they are asked again), so the dialog says so before it is saved.
 */
import { type FormEvent, useId, useState } from 'react';
import { api } from '../../api/client.ts';
import type { OAuthClient, Scope } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { ScopePicker } from '../../components/ScopePicker.tsx';
import { useSubmit } from '../../hooks.ts';
import { MAX_REDIRECT_URIS, parseRedirectUris } from '../../lib/redirect-uris.ts';
import { grants } from '../../lib/scopes.ts';

/** The scopes of `before` that `after` no longer grants: what narrowing takes away. */
export function scopesRemoved(before: readonly string[], after: readonly string[]): string[] {
  return before.filter((scope) => !grants(after, scope));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

export function EditAppDialog({
  client,
  onClose,
  onSaved,
}: {
  client: OAuthClient | null;
  onClose: () => void;
  onSaved: () => void;
}) {
  return (
    <Dialog
      title={client ? `Edit “${client.name}”` : 'Edit app'}
      open={client !== null}
      onClose={onClose}
      wide
      description={client ? `Client ID ${client.client_id} and the client secret stay the same.` : undefined}
    >
      {client ? <EditAppForm key={client.id} client={client} onClose={onClose} onSaved={onSaved} /> : null}
    </Dialog>
  );
}

function EditAppForm({
  client,
  onClose,
  onSaved,
}: {
  client: OAuthClient;
  onClose: () => void;
  onSaved: () => void;
}) {
  // Each opening starts from the app as it is now (the form is keyed by the app).
  const [name, setName] = useState(client.name);
  const [uriText, setUriText] = useState(client.redirect_uris.join('\n'));
  const [scopes, setScopes] = useState<Scope[]>(client.scopes as Scope[]);
  const [submitted, setSubmitted] = useState(false);
  const { busy, error, run } = useSubmit();
  const ids = { name: useId(), nameError: useId(), uris: useId(), urisHint: useId(), urisError: useId() };

  const redirect = parseRedirectUris(uriText);
  const nameProblem = name.trim() === '' ? 'Give the app a name: users see it on the consent page.' : null;
  const scopesProblem = scopes.length === 0 ? 'Choose at least one scope.' : null;
  const showUriErrors = redirect.errors.length > 0;
  const removed = scopesRemoved(client.scopes, scopes);

  const changes: { name?: string; redirect_uris?: string[]; scopes?: Scope[] } = {};
  if (name.trim() !== client.name) changes.name = name.trim();
  if (!sameList(redirect.uris, client.redirect_uris)) changes.redirect_uris = redirect.uris;
  if (!sameList(scopes, client.scopes)) changes.scopes = scopes;
  const unchanged = Object.keys(changes).length === 0;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (nameProblem || scopesProblem || redirect.errors.length > 0) return;
    if (unchanged) {
      onClose();
      return;
    }
    await run(async () => {
      await api<OAuthClient>('PATCH', `/v1/oauth/clients/${encodeURIComponent(client.id)}`, {
        body: changes,
      });
      onSaved();
      onClose();
    });
  };

  const uriDescribedBy = [ids.urisHint, showUriErrors ? ids.urisError : null].filter(Boolean).join(' ');
  return (
    <form onSubmit={submit} noValidate aria-busy={busy}>
      <label htmlFor={ids.name}>Name</label>
      <input
        id={ids.name}
        type="text"
        value={name}
        maxLength={100}
        onChange={(event) => setName(event.currentTarget.value)}
        aria-invalid={submitted && nameProblem !== null}
        aria-describedby={submitted && nameProblem ? ids.nameError : undefined}
      />
      {submitted && nameProblem ? (
        <p id={ids.nameError} className="field-error">
          {nameProblem}
        </p>
      ) : null}

      <label htmlFor={ids.uris}>Redirect URIs</label>
      <textarea
        id={ids.uris}
        name="redirect_uris"
        value={uriText}
        rows={4}
        onChange={(event) => setUriText(event.currentTarget.value)}
        aria-invalid={showUriErrors}
        aria-describedby={uriDescribedBy}
        spellCheck={false}
        autoCapitalize="off"
        autoComplete="off"
      />
      <p id={ids.urisHint} className="field-hint">
        One per line, up to {MAX_REDIRECT_URIS}; they replace the current ones. A URI you remove stops working
        for new sign-ins at once.
      </p>
      {showUriErrors ? (
        <ul id={ids.urisError} className="field-error">
          {[...new Set(redirect.errors)].map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      ) : null}

      <ScopePicker
        value={scopes}
        onChange={setScopes}
        allowAdmin={false}
        legend="Scopes the app may request"
      />
      {submitted && scopesProblem ? <p className="field-error">{scopesProblem}</p> : null}
      {removed.length > 0 ? (
        <div className="notice notice-error" role="alert" id="narrowing-warning">
          <p>
            Removing <strong>{removed.join(', ')}</strong> ends the authorizations of everyone who granted it
            to this app: their tokens stop working at once, and the app must ask them again.
          </p>
        </div>
      ) : null}

      {error ? <ErrorNotice error={error} /> : null}
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save changes'}
        </button>
      </div>
    </form>
  );
}
