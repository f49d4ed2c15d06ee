/**
 * Team: the organization's people and pending invitations. Owners and admins invite (the link is shown
 * once), change roles and remove people; only owners touch owners, and the last owner stays (the server
 * refuses, and the error says why). Other roles see the page in the navigation but only a sentence saying
 * who manages the team: the Team API needs `admin`.
 */
import { useState } from 'react';
import { api, listAll } from '../api/client.ts';
import type { Invitation, Member } from '../api/types.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/Notice.tsx';
import { canManage, useApp } from '../context.ts';
import { useResource } from '../hooks.ts';
import { formatDate } from '../lib/format.ts';
import { ChangeRoleDialog } from './team/ChangeRoleDialog.tsx';
import { InviteDialog } from './team/InviteDialog.tsx';
import { roleLabel } from './team/roles.ts';

export function TeamPage() {
  const { session } = useApp();
  const manager = canManage(session.role);
  const members = useResource(
    () => (manager ? listAll<Member>('/v1/organization/members') : Promise.resolve([])),
    [manager],
  );
  const invitations = useResource(
    () => (manager ? listAll<Invitation>('/v1/organization/invitations') : Promise.resolve([])),
    [manager],
  );
  const [inviting, setInviting] = useState(false);
  const [changing, setChanging] = useState<Member | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [revoking, setRevoking] = useState<Invitation | null>(null);

  if (!manager) {
    return (
      <p className="muted">
        Owners and admins manage the team of {session.org.name}. Ask one of them to invite someone or to
        change a role.
      </p>
    );
  }
  /** Only owners act on owners; nobody removes themselves from here by accident of a shared row. */
  const canActOn = (member: Member) => member.role !== 'owner' || session.role === 'owner';

  return (
    <>
      <p className="muted">
        People in {session.org.name} and their roles. A role bounds everything a person does, including the
        API keys they create: a lower role narrows their keys at once, and removing someone ends their
        sessions, keys and app access.
      </p>
      <div className="toolbar">
        <span className="muted">Members{members.data ? ` · ${members.data.length}` : ''}</span>
        <span className="spacer" />
        <button type="button" className="button" onClick={() => setInviting(true)}>
          Invite a person
        </button>
      </div>
      {members.loading && !members.data ? <Loading what="the team" /> : null}
      {members.error ? <ErrorNotice error={members.error} onRetry={members.reload} /> : null}
      {members.data && members.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table stack-on-narrow">
            <caption className="visually-hidden">Members</caption>
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Joined</th>
                {/* Named, not visually-hidden text: an absolutely placed span would escape the wrapper's
                    scrolling and widen the page at 390 px. */}
                <th scope="col" aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {members.data.map((member) => (
                <tr key={member.user_id} data-user-id={member.user_id}>
                  <th scope="row">
                    {member.email}
                    {member.user_id === session.user.id ? <span className="muted small"> (you)</span> : null}
                  </th>
                  <td data-label="Role">
                    <span className="badge">{roleLabel(member.role)}</span>
                  </td>
                  <td data-label="Joined">{formatDate(member.joined_at)}</td>
                  <td>
                    {canActOn(member) ? (
                      <div className="row-actions">
                        <button
                          type="button"
                          onClick={() => setChanging(member)}
                          aria-label={`Change the role of ${member.email}`}
                        >
                          Change role
                        </button>
                        <button
                          type="button"
                          className="danger-text"
                          onClick={() => setRemoving(member)}
                          aria-label={`Remove ${member.email}`}
                        >
                          Remove
                        </button>
                      </div>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      <h2>Pending invitations</h2>
      {invitations.error ? <ErrorNotice error={invitations.error} onRetry={invitations.reload} /> : null}
      {invitations.data && invitations.data.length === 0 ? (
        <EmptyState title="No pending invitations.">
          <p>Invite a person: they get a link that works once, for 7 days.</p>
        </EmptyState>
      ) : null}
      {invitations.data && invitations.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table stack-on-narrow">
            <caption className="visually-hidden">Pending invitations</caption>
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Expires</th>
                {/* Named, not visually-hidden text: an absolutely placed span would escape the wrapper's
                    scrolling and widen the page at 390 px. */}
                <th scope="col" aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {invitations.data.map((invitation) => (
                <tr key={invitation.id} data-invitation-id={invitation.id}>
                  <th scope="row">{invitation.email}</th>
                  <td data-label="Role">{roleLabel(invitation.role)}</td>
                  <td data-label="Expires">
                    {invitation.status === 'expired' ? (
                      <span className="badge">expired</span>
                    ) : (
                      formatDate(invitation.expires_at)
                    )}
                  </td>
                  <td>
                    <div className="row-actions">
                      <button
                        type="button"
                        className="danger-text"
                        onClick={() => setRevoking(invitation)}
                        aria-label={`Revoke the invitation of ${invitation.email}`}
                      >
                        Revoke
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      <InviteDialog
        open={inviting}
        myRole={session.role}
        onClose={() => setInviting(false)}
        onInvited={invitations.reload}
      />
      <ChangeRoleDialog
        member={changing}
        myRole={session.role}
        onClose={() => setChanging(null)}
        onChanged={members.reload}
      />
      <ConfirmDialog
        title={removing ? `Remove ${removing.email}?` : 'Remove?'}
        open={removing !== null}
        confirmLabel="Remove"
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          if (!removing) return;
          await api('DELETE', `/v1/organization/members/${encodeURIComponent(removing.user_id)}`);
          members.reload();
        }}
      >
        {removing ? (
          <p>
            <strong>{removing.email}</strong> leaves {session.org.name}: their sessions end, the API keys they
            created are revoked and the apps they authorized lose access, on every server within a second.
          </p>
        ) : null}
      </ConfirmDialog>
      <ConfirmDialog
        title={revoking ? `Revoke the invitation of ${revoking.email}?` : 'Revoke?'}
        open={revoking !== null}
        confirmLabel="Revoke invitation"
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return;
          await api('DELETE', `/v1/organization/invitations/${encodeURIComponent(revoking.id)}`);
          invitations.reload();
        }}
      >
        <p>Its link stops working. You can invite them again at any time.</p>
      </ConfirmDialog>
    </>
  );
}
