/**
 * A secret shown once (a new API key, a client secret): in a read-only field, selected on focus, with a
 * Copy button and the warning that it will not be shown again. It lives in React state only, never in
 * storage, and is dropped when the dialog closes.
 */
import { useEffect, useId, useRef, useState } from 'react';

export function SecretReveal({ label, value, note }: { label: string; value: string; note?: string }) {
  const id = useId();
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  const field = useRef<HTMLInputElement>(null);
  // It replaces the form inside an open dialog, whose submit button had the focus: take it, so keyboard
  // and screen-reader users land on the secret (and can copy it) instead of on nothing.
  useEffect(() => field.current?.focus(), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('copied');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <div className="secret">
      <p className="notice notice-warn">
        <strong>Copy it now: you will not see it again.</strong> {note ?? 'Store it in a secret manager.'}
      </p>
      <label htmlFor={id}>{label}</label>
      <div className="secret-row">
        <input
          ref={field}
          id={id}
          className="mono"
          readOnly
          value={value}
          data-autofocus
          onFocus={(event) => event.currentTarget.select()}
          spellCheck={false}
          autoComplete="off"
        />
        <button type="button" className="button" onClick={copy}>
          Copy
        </button>
      </div>
      <p className="muted small" role="status" aria-live="polite">
        {copied === 'copied'
          ? 'Copied to the clipboard.'
          : copied === 'failed'
            ? 'Copy failed: select the text and copy it.'
            : ''}
      </p>
    </div>
  );
}
