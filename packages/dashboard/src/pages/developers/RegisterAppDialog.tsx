/**
 * Developer console › Register app, as the reference walks through it: a name, the client type, the
 * redirect URIs (checked line by line while typing, by the server's own rules), the scopes the app may
 * ever request, in the current mode; then the client ID and, for a confidential app, the client secret,
 * shown once with a Copy button, and where the flow goes next.
 */
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { api } from '../../api/client.ts';
import type { Mode, OAuthClientType, OAuthClientWithSecret, Scope } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { ScopePicker } from '../../components/ScopePicker.tsx';
import { SecretReveal } from '../../components/SecretReveal.tsx';
import { useSubmit } from '../../hooks.ts';
import { MAX_REDIRECT_URIS, parseRedirectUris } from '../../lib/redirect-uris.ts';
import { CopyField } from './CopyField.tsx';

const CLIENT_TYPES: { value: OAuthClientType; label: string; explanation: string }[] = [
  {
    value: 'confidential',
    label: 'Confidential',
    explanation: 'A server that can keep a secret (a web app’s backend). It gets a client secret.',
  },
  {
    value: 'public',
    label: 'Public',
    explanation: 'A browser, mobile or desktop app, or a CLI. No secret: it must use PKCE (S256).',
  },
];

/** Where the authorization flow goes, on this server (the dashboard is served by it). */
function endpoint(path: string): string {
  return `${window.location.origin}${path}`;
}

export function RegisterAppDialog({
  open,
  onClose,
  onRegistered,
  mode,
}: {
  open: boolean;
  onClose: () => void;
  onRegistered: () => void;
  mode: Mode;
}) {
  const [name, setName] = useState('');
  const [clientType, setClientType] = useState<OAuthClientType>('confidential');
  const [uriText, setUriText] = useState('');
  const [urisTouched, setUrisTouched] = useState(false);
  const [scopes, setScopes] = useState<Scope[]>([]);
  const [submitted, setSubmitted] = useState(false);
  const { busy, error, run, clearError } = useSubmit();
  const [created, setCreated] = useState<OAuthClientWithSecret | null>(null);
  const result = useRef<HTMLDivElement>(null);
  const ids = {
    name: useId(),
    nameError: useId(),
    uris: useId(),
    urisHint: useId(),
    urisError: useId(),
    confidential: useId(),
    public: useId(),
  };

  // The form is replaced by the result inside the same open dialog: the focus goes to what to copy.
  useEffect(() => {
    if (!created) return;
    const box = result.current;
    (
      box?.querySelector<HTMLElement>('[data-autofocus]') ?? box?.querySelector<HTMLElement>('input')
    )?.focus();
  }, [created]);

  const close = () => {
    // The secret goes with the dialog: nothing of it stays in memory.
    setCreated(null);
    setName('');
    setClientType('confidential');
    setUriText('');
    setUrisTouched(false);
    setScopes([]);
    setSubmitted(false);
    clearError();
    onClose();
  };

  const redirect = parseRedirectUris(uriText);
  const nameProblem = name.trim() === '' ? 'Give the app a name: users see it on the consent page.' : null;
  const scopesProblem = scopes.length === 0 ? 'Choose at least one scope.' : null;
  // Line by line while typing; "add at least one" only once the field was left or the form sent.
  const showUriErrors = redirect.errors.length > 0 && (submitted || urisTouched || uriText.trim() !== '');

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (nameProblem || scopesProblem || redirect.errors.length > 0) return;
    await run(async () => {
      const client = await api<OAuthClientWithSecret>('POST', '/v1/oauth/clients', {
        body: { name: name.trim(), client_type: clientType, redirect_uris: redirect.uris, scopes, mode },
      });
      setCreated(client);
      onRegistered();
    });
  };

  if (created) {
    const confidential = created.client_type === 'confidential';
    return (
      <Dialog title={`“${created.name}” is registered`} open={open} onClose={close} wide>
        <div ref={result}>
          <CopyField
            label="Client ID"
            value={created.client_id}
            hint="Not a secret: it goes into every authorization request. It stays listed in the console."
          />
          {created.client_secret ? (
            <SecretReveal
              label="Client secret"
              value={created.client_secret}
              note="Keep it on your app’s server (a secret manager, or COHERA_CLIENT_SECRET), never in a browser, a mobile app or a repository. Cohera keeps only its hash."
            />
          ) : (
            <p className="notice">
              A public app has no client secret: it proves each authorization with PKCE (
              <code>code_challenge_method=S256</code>) instead.
            </p>
          )}
          <h3>Next steps</h3>
          <ol className="next-steps">
            <li>
              Send the user’s browser to <code>{endpoint('/oauth/authorize')}</code> with{' '}
              <code>response_type=code</code>, your <code>client_id</code>, one of the redirect URIs exactly
              as registered, the <code>scope</code> you need now, a random <code>state</code> and a PKCE{' '}
              <code>code_challenge</code>.
            </li>
            <li>
              On your redirect URI, check <code>state</code> and <code>iss</code>, then exchange the{' '}
              <code>code</code> with the <code>code_verifier</code> at <code>{endpoint('/oauth/token')}</code>{' '}
              {confidential
                ? '(POST, authenticated with the client ID and secret), from your server.'
                : '(POST, with your client_id and no secret).'}
            </li>
            <li>
              Call the API with <code>Authorization: Bearer &lt;access token&gt;</code>; access tokens last
              one hour, and the refresh token gets the next one. Every endpoint is also listed at{' '}
              <code>{endpoint('/.well-known/oauth-authorization-server')}</code>.
            </li>
          </ol>
          <p className="muted small">
            {created.mode === 'test' ? 'A test-mode app: its tokens see only test data. ' : ''}
            Scopes the app may request: {created.scopes.join(', ')}.
          </p>
        </div>
        <div className="dialog-actions">
          <button type="button" className="button" onClick={close}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }

  const uriDescribedBy = [ids.urisHint, showUriErrors ? ids.urisError : null].filter(Boolean).join(' ');
  return (
    <Dialog
      title="Register app"
      open={open}
      onClose={close}
      busy={busy}
      wide
      description={
        mode === 'test'
          ? 'A test-mode app: its tokens see only the test data of the organizations that authorize it.'
          : 'A live app: its tokens reach the live data of the organizations that authorize it. Register a test app (switch to Test) for development.'
      }
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
          aria-describedby={submitted && nameProblem ? ids.nameError : undefined}
          placeholder="e.g. Supplier portal"
        />
        {submitted && nameProblem ? (
          <p id={ids.nameError} className="field-error">
            {nameProblem}
          </p>
        ) : null}

        <fieldset className="choices">
          <legend>Client type</legend>
          {CLIENT_TYPES.map((type) => (
            <div key={type.value} className="choice">
              <label className="radio">
                <input
                  type="radio"
                  name="client_type"
                  value={type.value}
                  checked={clientType === type.value}
                  onChange={() => setClientType(type.value)}
                  aria-describedby={ids[type.value]}
                />
                {type.label}
              </label>
              <p id={ids[type.value]} className="field-hint choice-hint">
                {type.explanation}
              </p>
            </div>
          ))}
        </fieldset>

        <label htmlFor={ids.uris}>Redirect URIs</label>
        <textarea
          id={ids.uris}
          name="redirect_uris"
          value={uriText}
          rows={4}
          onChange={(event) => setUriText(event.currentTarget.value)}
          onBlur={() => setUrisTouched(true)}
          aria-invalid={showUriErrors}
          aria-describedby={uriDescribedBy}
          placeholder={'https://portal.example.com/callback\nhttp://127.0.0.1:3000/callback'}
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
        />
        <p id={ids.urisHint} className="field-hint">
          One per line, up to {MAX_REDIRECT_URIS}. Matched character for character. https, or http for a
          loopback host only (localhost, 127.0.0.1, [::1]); no fragment.
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
        {submitted && scopesProblem ? (
          <p className="field-error">{scopesProblem}</p>
        ) : (
          <p className="field-hint">
            The most the app can ever be granted; users grant at most what they hold themselves.
          </p>
        )}

        {error ? <ErrorNotice error={error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Registering…' : 'Register app'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
