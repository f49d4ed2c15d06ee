/**
 * Settings › Authorized apps: the OAuth apps the signed-in user allowed to act for them in this
 * organization (app, scopes, mode, when authorized, last used), and Revoke access, which ends the app's
 * tokens at once. The user's own control, so every role sees it; the API answers a dashboard session only.
 */
import { useState } from 'react';
import { api, listAll } from '../api/client.ts';
import type { Authorization, Scope } from '../api/types.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/Notice.tsx';
import { useApp } from '../context.ts';
import { useResource } from '../hooks.ts';
import { formatDate, formatDateTime, relativeTime } from '../lib/format.ts';
import { SCOPE_WORDS } from '../lib/scopes.ts';

export function AuthorizedAppsPage() {
  const { session } = useApp();
  // Every mode at once: an authorization belongs to the user, whichever mode the app is in.
  const authorizations = useResource(() => listAll<Authorization>('/v1/oauth/authorizations'), []);
  const [revoking, setRevoking] = useState<Authorization | null>(null);

  return (
    <>
      <p className="muted">
        Apps you allowed to act for you in {session.org.name}, with what you granted. An app you no longer use
        should not keep access: revoke it, and it has to ask for your consent again.
      </p>
      {authorizations.loading && !authorizations.data ? <Loading what="your authorized apps" /> : null}
      {authorizations.error ? (
        <ErrorNotice error={authorizations.error} onRetry={authorizations.reload} />
      ) : null}
      {authorizations.data && authorizations.data.length === 0 ? (
        <EmptyState title="You have not authorized any apps.">
          <p>
            When you connect an app to Cohera and click Allow on its consent page, it appears here, and you
            can take its access back at any time.
          </p>
        </EmptyState>
      ) : null}
      {authorizations.data && authorizations.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Apps you have authorized</caption>
            <thead>
              <tr>
                <th scope="col">App</th>
                <th scope="col">Scopes</th>
                <th scope="col">Mode</th>
                <th scope="col">Authorized</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {authorizations.data.map((authorization) => (
                <tr key={authorization.id} data-authorization-id={authorization.id}>
                  <th scope="row">{authorization.client.name}</th>
                  <td>
                    <ul className="scope-list">
                      {authorization.scopes.map((scope) => (
                        <li key={scope} title={SCOPE_WORDS[scope as Scope]}>
                          {scope}
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td>{authorization.mode}</td>
                  <td title={formatDateTime(authorization.created_at)}>
                    {formatDate(authorization.created_at)}
                    {authorization.updated_at !== authorization.created_at ? (
                      <span className="muted small cell-note">
                        updated {formatDate(authorization.updated_at)}
                      </span>
                    ) : null}
                  </td>
                  <td title={authorization.last_used_at ?? undefined}>
                    {relativeTime(authorization.last_used_at)}
                  </td>
                  <td>
                    <div className="row-actions">
                      <button
                        type="button"
                        className="danger-text"
                        onClick={() => setRevoking(authorization)}
                        aria-label={`Revoke access for ${authorization.client.name}`}
                      >
                        Revoke access
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      <ConfirmDialog
        title={revoking ? `Revoke access for “${revoking.client.name}”?` : 'Revoke access?'}
        open={revoking !== null}
        confirmLabel="Revoke access"
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return;
          await api('DELETE', `/v1/oauth/authorizations/${encodeURIComponent(revoking.id)}`);
          authorizations.reload();
        }}
      >
        {revoking ? (
          <p>
            <strong>{revoking.client.name}</strong> can no longer act for you: its refresh token stops working
            at once and its access tokens are refused on every server within a second. If you use the app
            again, it asks for your consent again.
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
