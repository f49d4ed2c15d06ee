/**
 * The fields of an endpoint, shared by Add endpoint and Edit: the URL with the server's rules explained
 * (and each problem named as you type), the events, a description.
 */
import { useId, useState } from 'react';
import { checkDraft, type EndpointDraft } from '../../lib/webhooks.ts';
import { EventPicker } from './EventPicker.tsx';

export function EndpointFields({
  draft,
  onChange,
  submitted,
}: {
  draft: EndpointDraft;
  onChange: (draft: EndpointDraft) => void;
  /** Once the form was sent, every problem shows, also in fields not touched yet. */
  submitted: boolean;
}) {
  const [urlTouched, setUrlTouched] = useState(false);
  const ids = { url: useId(), urlHint: useId(), urlError: useId(), urlNote: useId(), description: useId() };
  const check = checkDraft(draft);
  const showUrlProblem = check.url.problem !== null && (submitted || (urlTouched && draft.url.trim() !== ''));
  const urlDescribedBy = [
    ids.urlHint,
    showUrlProblem ? ids.urlError : null,
    check.url.needsPrivate ? ids.urlNote : null,
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <>
      <label htmlFor={ids.url}>Endpoint URL</label>
      <input
        id={ids.url}
        type="url"
        inputMode="url"
        value={draft.url}
        maxLength={2048}
        onChange={(event) => onChange({ ...draft, url: event.currentTarget.value })}
        onBlur={() => setUrlTouched(true)}
        aria-invalid={showUrlProblem}
        aria-describedby={urlDescribedBy}
        placeholder="https://erp.example.com/webhooks/cohera"
        spellCheck={false}
        autoCapitalize="off"
        autoComplete="off"
      />
      <p id={ids.urlHint} className="field-hint">
        Cohera POSTs each event there as JSON. It must be <code>https://</code> and reach a public address:
        Cohera never connects to loopback, private-network, link-local (cloud metadata) or similar addresses,
        checked on the address it actually connects to. Redirects are not followed.
      </p>
      {showUrlProblem ? (
        <p id={ids.urlError} className="field-error">
          {check.url.problem}
        </p>
      ) : null}
      {check.url.needsPrivate ? (
        <p id={ids.urlNote} className="notice notice-warn" role="note">
          {check.url.needsPrivate} The server accepts it only when its operator has set{' '}
          <code>COHERA_WEBHOOKS_ALLOW_PRIVATE=true</code>, which is meant for development and tests.
        </p>
      ) : null}

      <EventPicker
        value={draft.events}
        onChange={(events) => onChange({ ...draft, events })}
        problem={submitted ? check.events : null}
      />

      <label htmlFor={ids.description}>
        Description <span className="muted small">(optional)</span>
      </label>
      <input
        id={ids.description}
        type="text"
        value={draft.description}
        maxLength={200}
        onChange={(event) => onChange({ ...draft, description: event.currentTarget.value })}
        placeholder="e.g. ERP certificate sync"
      />
    </>
  );
}
