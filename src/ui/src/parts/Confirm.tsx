/** A button that asks before it acts (cancel, restart, delete). */
import { useEffect, useRef, useState } from 'react';

export function ConfirmButton({
  label,
  question,
  onConfirm,
  danger,
  disabled,
}: {
  label: string;
  question: string;
  onConfirm: () => Promise<void>;
  danger?: boolean;
  disabled?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [open, setOpen] = useState(false);

  useEffect(() => {
    if (open) dialog.current?.showModal();
    else dialog.current?.close();
  }, [open]);

  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      setOpen(false);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button type="button" className={danger ? 'danger' : ''} disabled={disabled} onClick={() => setOpen(true)}>
        {label}
      </button>
      <dialog ref={dialog} onClose={() => setOpen(false)} aria-label={question}>
        <p>{question}</p>
        {error && <p className="error">{error}</p>}
        <div className="actions">
          <button type="button" onClick={() => setOpen(false)} disabled={busy}>
            Keep it
          </button>
          <button type="button" className={danger ? 'danger' : 'primary'} onClick={() => void confirm()} disabled={busy} autoFocus>
            Yes, {label.toLowerCase()}
          </button>
        </div>
      </dialog>
    </>
  );
}
