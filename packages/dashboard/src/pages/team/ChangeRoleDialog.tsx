/** Change a member's role: pick it, read what changes, confirm. */
import { useId, useState } from 'react';
import { api } from '../../api/client.ts';
import type { Member, Role } from '../../api/types.ts';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { assignableRoles, ROLE_OPTIONS, roleLabel } from './roles.ts';

export function ChangeRoleDialog({
  member,
  myRole,
  onClose,
  onChanged,
}: {
  member: Member | null;
  myRole: Role;
  onClose: () => void;
  onChanged: () => void;
}) {
  const id = useId();
  const [role, setRole] = useState<Role | null>(null);
  const chosen = role ?? member?.role ?? 'viewer';
  const roles = assignableRoles(myRole);
  const close = () => {
    setRole(null);
    onClose();
  };
  return (
    <ConfirmDialog
      title={member ? `Change the role of ${member.email}` : 'Change role'}
      open={member !== null}
      confirmLabel="Change role"
      onClose={close}
      onConfirm={async () => {
        if (!member) return;
        await api('PATCH', `/v1/organization/members/${encodeURIComponent(member.user_id)}`, {
          body: { role: chosen },
        });
        setRole(null);
        onChanged();
      }}
    >
      {member ? (
        <>
          <label htmlFor={id}>New role</label>
          <select id={id} value={chosen} onChange={(event) => setRole(event.currentTarget.value as Role)}>
            {ROLE_OPTIONS.filter((option) => roles.includes(option.role) || option.role === member.role).map(
              (option) => (
                <option key={option.role} value={option.role}>
                  {option.label}: {option.description}
                </option>
              ),
            )}
          </select>
          <p className="muted small">
            Now {roleLabel(member.role)}. Their sessions, the API keys they created and the apps acting for
            them follow the new role within a second: a lower role narrows them.
          </p>
        </>
      ) : null}
    </ConfirmDialog>
  );
}
