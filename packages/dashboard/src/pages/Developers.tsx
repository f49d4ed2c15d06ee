/**
 * Developer console: the organization's OAuth apps in the current mode (name, client ID with Copy, type,
 * redirect URIs, scopes, secret …last4, created), Register app, and per app Edit (name, redirect URIs,
 * scopes), Rotate secret (confidential apps) and Delete. The reference's steps: register the application,
 * configure its redirect URIs, note its client ID and client secret. Managing apps needs the `admin`
 * scope, so a member sees why not instead.
 * Redirect URIs the server refuses (apps registered before its rules) are named above the list, with why.
 */
import { useState } from 'react';
import { api, listAll } from '../api/client.ts';
import type { OAuthClient } from '../api/types.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/Notice.tsx';
import { canManage, useApp } from '../context.ts';
import { useResource } from '../hooks.ts';
import { formatDate, formatDateTime } from '../lib/format.ts';
import { Link } from '../router.tsx';
import { CopyButton } from './developers/CopyField.tsx';
import { EditAppDialog } from './developers/EditAppDialog.tsx';
import { RegisterAppDialog } from './developers/RegisterAppDialog.tsx';
import { previousSecretActive, RotateSecretDialog } from './developers/RotateSecretDialog.tsx';

export function DevelopersPage() {
  const { session } = useApp();
  return (
    <>
      <p className="muted">
        Register an application here to let people connect it to their Cohera data with OAuth 2.0: configure
        its redirect URIs, note its client ID (and, for an app with a server, its client secret), then send
        users to <code>/oauth/authorize</code> and exchange the code at <code>/oauth/token</code>.
      </p>
      {canManage(session.role) ? (
        <AppsConsole />
      ) : (
        <div className="notice" role="note">
          <p>
            Only owners and admins of {session.org.name} can register and manage OAuth apps. Ask one of them
            to register yours.
          </p>
          <p>
            The apps you have allowed to use your account are under{' '}
            <Link to="/settings/authorized-apps">Authorized apps</Link>.
          </p>
        </div>
      )}
    </>
  );
}

function AppsConsole() {
  const { mode } = useApp();
  // The list has no mode filter: a live-mode session sees the apps of both modes, so keep the current one.
  const apps = useResource(
    () => listAll<OAuthClient>('/v1/oauth/clients').then((all) => all.filter((app) => app.mode === mode)),
    [mode],
  );
  const [registering, setRegistering] = useState(false);
  const [editing, setEditing] = useState<OAuthClient | null>(null);
  const [rotating, setRotating] = useState<OAuthClient | null>(null);
  const [deleting, setDeleting] = useState<OAuthClient | null>(null);

  return (
    <>
      <div className="toolbar">
        <span className="muted">
          {mode === 'live' ? 'Live' : 'Test'} apps{apps.data ? ` · ${apps.data.length}` : ''}
        </span>
        <span className="spacer" />
        <button type="button" className="button" onClick={() => setRegistering(true)}>
          Register app
        </button>
      </div>
      {apps.loading && !apps.data ? <Loading what="OAuth apps" /> : null}
      {apps.error ? <ErrorNotice error={apps.error} onRetry={apps.reload} /> : null}
      {apps.data && apps.data.length === 0 ? (
        <EmptyState title={`No ${mode} OAuth apps yet`}>
          <p>
            An OAuth app is an application that other people connect to their Cohera organization: they sign
            in to Cohera, see what it asks for, and click Allow. The app then acts for them with exactly the
            scopes granted, and never sees their password or an API key.
          </p>
          <p>
            For your own scripts and servers, use an <Link to="/settings/api-keys">API key</Link> or a{' '}
            <Link to="/service-accounts">service account</Link> instead.
          </p>
        </EmptyState>
      ) : null}
      {apps.data ? <RefusedRedirectUris apps={apps.data} /> : null}
      {apps.data && apps.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table stack-on-narrow">
            <caption className="visually-hidden">OAuth apps</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Client ID</th>
                <th scope="col">Redirect URIs</th>
                <th scope="col">Scopes</th>
                <th scope="col">Secret</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {apps.data.map((app) => (
                <tr key={app.id} data-client-id={app.client_id}>
                  <th scope="row">
                    {app.name}
                    {/* The type under the name, not a column of its own: the row fits a laptop screen. */}
                    <span className="muted small cell-note">{app.client_type}</span>
                  </th>
                  <td data-label="Client ID">
                    <div className="row-actions client-id">
                      <code>{app.client_id}</code>
                      <CopyButton value={app.client_id} label={`client ID of ${app.name}`} />
                    </div>
                  </td>
                  <td data-label="Redirect URIs">
                    <ul className="uri-list">
                      {app.redirect_uris.map((uri) => {
                        const refused = app.redirect_uri_problems.some((p) => p.redirect_uri === uri);
                        return (
                          <li key={uri} data-refused={refused || undefined}>
                            <code>{uri}</code>
                            {refused ? (
                              <span className="field-error cell-note">refused: see above</span>
                            ) : null}
                          </li>
                        );
                      })}
                    </ul>
                  </td>
                  <td data-label="Scopes">
                    <ul className="scope-list">
                      {app.scopes.map((scope) => (
                        <li key={scope}>{scope}</li>
                      ))}
                    </ul>
                  </td>
                  <td data-label="Secret">
                    {app.secret_last4 ? (
                      <>
                        <code>…{app.secret_last4}</code>
                        {previousSecretActive(app) ? (
                          <span className="muted small cell-note">
                            previous secret works until {formatDateTime(app.previous_secret_expires_at)}
                          </span>
                        ) : null}
                      </>
                    ) : (
                      <span className="muted">none (public)</span>
                    )}
                  </td>
                  <td data-label="Created" className="nowrap" title={app.created_at}>
                    {formatDate(app.created_at)}
                  </td>
                  <td>
                    <div className="row-actions">
                      <button type="button" onClick={() => setEditing(app)} aria-label={`Edit ${app.name}`}>
                        Edit
                      </button>
                      {app.client_type === 'confidential' ? (
                        <button
                          type="button"
                          onClick={() => setRotating(app)}
                          aria-label={`Rotate the secret of ${app.name}`}
                        >
                          Rotate secret
                        </button>
                      ) : null}
                      <button
                        type="button"
                        className="danger-text"
                        onClick={() => setDeleting(app)}
                        aria-label={`Delete ${app.name}`}
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      <RegisterAppDialog
        open={registering}
        onClose={() => setRegistering(false)}
        onRegistered={apps.reload}
        mode={mode}
      />
      <EditAppDialog client={editing} onClose={() => setEditing(null)} onSaved={apps.reload} />
      <RotateSecretDialog client={rotating} onClose={() => setRotating(null)} onRotated={apps.reload} />
      <ConfirmDialog
        title={deleting ? `Delete “${deleting.name}”?` : 'Delete app?'}
        open={deleting !== null}
        confirmLabel="Delete app"
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          await api('DELETE', `/v1/oauth/clients/${encodeURIComponent(deleting.id)}`);
          apps.reload();
        }}
      >
        {deleting ? (
          <>
            <p>
              Every token issued to <strong>{deleting.name}</strong> stops working: the authorizations users
              gave it are revoked, its refresh tokens are refused at once and its access tokens on every
              server within a second.
            </p>
            <p>
              Authorization requests with client ID <code>{deleting.client_id}</code> then get an error page.
              This cannot be undone: to bring the app back, register it again and let users authorize it
              again.
            </p>
          </>
        ) : null}
      </ConfirmDialog>
    </>
  );
}

/**
 * Apps registered before the redirect-URI rules with URIs that break them: sign-ins through those URIs are
 * refused, so the console says which, why (the server's words) and what to do, above the list.
 */
function RefusedRedirectUris({ apps }: { apps: OAuthClient[] }) {
  const affected = apps.filter((app) => app.redirect_uri_problems.length > 0);
  if (affected.length === 0) return null;
  return (
    <div className="notice notice-error" role="alert" id="refused-redirect-uris">
      <p>
        <strong>
          {affected.length === 1 ? 'An app has' : `${affected.length} apps have`} redirect URIs that Cohera
          refuses.
        </strong>{' '}
        Authorization requests that use them get an error page instead of reaching the app.
      </p>
      <ul>
        {affected.flatMap((app) =>
          app.redirect_uri_problems.map((problem) => (
            <li key={`${app.id} ${problem.redirect_uri}`}>
              <strong>{app.name}</strong>: <code>{problem.redirect_uri}</code>. {problem.problem}
            </li>
          )),
        )}
      </ul>
    </div>
  );
}
