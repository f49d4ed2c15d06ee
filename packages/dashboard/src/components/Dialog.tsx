/**
 * A modal dialog on the native `<dialog>` element: `showModal()` makes the rest of the page inert, keeps
 * Tab inside, and Escape closes it; on close the focus goes back to whatever opened it. The first field
 * (or the element marked `data-autofocus`) takes the focus on open.
 */
import { type ReactNode, useEffect, useId, useRef } from 'react';

export interface DialogProps {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ReactNode;
  /** Short text under the title, read out with it. */
  description?: ReactNode;
  /** Escape and the close button are refused while something is being saved. */
  busy?: boolean;
  wide?: boolean;
}

export function Dialog({
  title,
  open,
  onClose,
  children,
  description,
  busy = false,
  wide = false,
}: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const titleId = useId();
  const descriptionId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      opener.current = document.activeElement;
      dialog.showModal();
      const target =
        dialog.querySelector<HTMLElement>('[data-autofocus]') ??
        dialog.querySelector<HTMLElement>(
          'input:not([type=hidden]), select, textarea, button:not(.dialog-close)',
        );
      target?.focus();
    } else if (!open && dialog.open) {
      dialog.close();
      if (opener.current instanceof HTMLElement && opener.current.isConnected) opener.current.focus();
    }
  }, [open]);

  return (
    <dialog
      ref={ref}
      className={wide ? 'dialog dialog-wide' : 'dialog'}
      aria-labelledby={titleId}
      aria-describedby={description ? descriptionId : undefined}
      onCancel={(event) => {
        event.preventDefault();
        if (!busy) onClose();
      }}
    >
      <div className="dialog-header">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="dialog-close" aria-label="Close" onClick={onClose} disabled={busy}>
          ×
        </button>
      </div>
      {description ? (
        <p id={descriptionId} className="muted">
          {description}
        </p>
      ) : null}
      {open ? children : null}
    </dialog>
  );
}
