/**
 * Invite someone: e-mail and role. The answer's accept link is shown once (the server keeps only its hash,
 * and e-mail may not be configured), so the inviter can pass it on themselves.
 */
import { type FormEvent, useId, useState } from 'react';
import { api } from '../../api/client.ts';
import type { Role } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorNotice } from '../../components/Notice.tsx';
import { SecretReveal } from '../../components/SecretReveal.tsx';
import { useSubmit } from '../../hooks.ts';
import { assignableRoles, ROLE_OPTIONS } from './roles.ts';

interface CreatedInvitation {
  id: string;
  email: string;
  role: Role;
  expires_at: string;
  accept_url: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function InviteDialog({
  open,
  myRole,
  onClose,
  onInvited,
}: {
  open: boolean;
  myRole: Role;
  onClose: () => void;
  onInvited: () => void;
}) {
  const ids = { email: useId(), role: useId(), emailError: useId() };
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [submitted, setSubmitted] = useState(false);
  const [created, setCreated] = useState<CreatedInvitation | null>(null);
  const { busy, error, run, clearError } = useSubmit();
  const emailProblem = EMAIL.test(email.trim()) ? null : 'Enter the e-mail address of the person to invite.';
  const roles = assignableRoles(myRole);

  const close = () => {
    setEmail('');
    setRole('member');
    setSubmitted(false);
    setCreated(null);
    clearError();
    onClose();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (emailProblem) return;
    await run(async () => {
      const invitation = await api<CreatedInvitation>('POST', '/v1/organization/invitations', {
        body: { email: email.trim(), role },
      });
      setCreated(invitation);
      onInvited();
    });
  };

  return (
    <Dialog
      title={created ? 'Invitation created' : 'Invite a person'}
      open={open}
      onClose={close}
      busy={busy}
    >
      {created ? (
        <>
          <p>
            <strong>{created.email}</strong> is invited as <strong>{created.role}</strong>. The link works
            once and expires in 7 days. It was also e-mailed if the server has e-mail set up.
          </p>
          <SecretReveal
            label="Invitation link"
            value={created.accept_url}
            note="Send it to them yourself if e-mail is not set up; anyone with the link can join."
          />
          <div className="dialog-actions">
            <button type="button" onClick={close}>
              Done
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <label htmlFor={ids.email}>E-mail</label>
          <input
            id={ids.email}
            type="email"
            value={email}
            maxLength={254}
            onChange={(event) => setEmail(event.currentTarget.value)}
            aria-invalid={submitted && emailProblem !== null}
            aria-describedby={submitted && emailProblem ? ids.emailError : undefined}
            autoComplete="off"
          />
          {submitted && emailProblem ? (
            <p id={ids.emailError} className="field-error">
              {emailProblem}
            </p>
          ) : null}
          <label htmlFor={ids.role}>Role</label>
          <select id={ids.role} value={role} onChange={(event) => setRole(event.currentTarget.value as Role)}>
            {ROLE_OPTIONS.filter((option) => roles.includes(option.role)).map((option) => (
              <option key={option.role} value={option.role}>
                {option.label}: {option.description}
              </option>
            ))}
          </select>
          {error ? <ErrorNotice error={error} /> : null}
          <div className="dialog-actions">
            <button type="button" className="secondary" onClick={close} disabled={busy}>
              Cancel
            </button>
            <button type="submit" disabled={busy}>
              {busy ? 'Inviting…' : 'Invite'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
