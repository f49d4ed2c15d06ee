/**
 * Copying what is not a secret (an OAuth app's client ID): a Copy button that says "Copied" for a moment
 * and tells screen readers, and a read-only field with that button for the registration result. Unlike
 * `SecretReveal` there is no "shown once" warning: the client ID stays visible in the console's table.
 */
import { useEffect, useId, useState } from 'react';

type CopyState = 'idle' | 'copied' | 'failed';

function useCopy(value: string): { state: CopyState; copy: () => Promise<void> } {
  const [state, setState] = useState<CopyState>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const timer = window.setTimeout(() => setState('idle'), 2500);
    return () => window.clearTimeout(timer);
  }, [state]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  return { state, copy };
}

/** A small Copy button; `label` names what is copied, for the button's accessible name and the status. */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const { state, copy } = useCopy(value);
  return (
    <>
      <button type="button" onClick={copy} aria-label={`Copy ${label}`}>
        {state === 'copied' ? 'Copied' : 'Copy'}
      </button>
      <span className="visually-hidden" role="status" aria-live="polite">
        {state === 'copied' ? `${label} copied to the clipboard.` : ''}
        {state === 'failed' ? `Copy failed: select ${label} and copy it.` : ''}
      </span>
    </>
  );
}

/** A labelled read-only field, selected on focus, with a Copy button (same look as `SecretReveal`). */
export function CopyField({ label, value, hint }: { label: string; value: string; hint?: string }) {
  const id = useId();
  const hintId = useId();
  const { state, copy } = useCopy(value);
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="secret-row">
        <input
          id={id}
          className="mono"
          readOnly
          value={value}
          aria-describedby={hint ? hintId : undefined}
          onFocus={(event) => event.currentTarget.select()}
          spellCheck={false}
          autoComplete="off"
        />
        <button type="button" className="button" onClick={copy}>
          Copy
        </button>
      </div>
      {hint ? (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      ) : null}
      <p className="muted small" role="status" aria-live="polite">
        {state === 'copied'
          ? 'Copied to the clipboard.'
          : state === 'failed'
            ? 'Copy failed: select the text and copy it.'
            : ''}
      </p>
    </div>
  );
}
