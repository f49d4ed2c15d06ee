/** "Are you sure?" for what cannot be undone (revoke, delete): says what happens, the button names the act. */
import type { ReactNode } from 'react';
import { useSubmit } from '../hooks.ts';
import { Dialog } from './Dialog.tsx';
import { ErrorNotice } from './Notice.tsx';

export function ConfirmDialog({
  title,
  open,
  confirmLabel,
  children,
  onConfirm,
  onClose,
}: {
  title: string;
  open: boolean;
  confirmLabel: string;
  children: ReactNode;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const { busy, error, run, clearError } = useSubmit();
  const close = () => {
    clearError();
    onClose();
  };
  const confirm = async () => {
    await run(async () => {
      await onConfirm();
      close();
    });
  };
  return (
    <Dialog title={title} open={open} onClose={close} busy={busy}>
      <div>{children}</div>
      {error ? <ErrorNotice error={error} /> : null}
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={close} disabled={busy} data-autofocus>
          Cancel
        </button>
        <button type="button" className="danger" onClick={confirm} disabled={busy}>
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
