/**
 * Settings › API Keys: every key of the organization in the current mode (name, prefix…last4, scopes,
 * mode, created, expires, last used, status), Create New Key, and per key Usage, Roll and Revoke. A leaked
 * key says so in its row (when and where), and one that still works is listed above the table with the
 * remedy, Roll and revoke. Owners and admins also set what a reported leak does.
 */
import { useState } from 'react';
import { api, listAll } from '../api/client.ts';
import type { ApiKey, Organization } from '../api/types.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { EmptyState, ErrorNotice, Loading, StatusBadge } from '../components/Notice.tsx';
import { canManage, useApp } from '../context.ts';
import { useResource } from '../hooks.ts';
import { formatDate, keyLabel, relativeTime } from '../lib/format.ts';
import { Link } from '../router.tsx';
import { CreateKeyDialog } from './api-keys/CreateKeyDialog.tsx';
import { LeakPolicy } from './api-keys/LeakPolicy.tsx';
import { isLeakedAndActive, LeakedBadge, LeakedKeysAlert, useLeakOrigins } from './api-keys/leaks.tsx';
import { KeyCountdown, KeyExpiry, Lineage } from './api-keys/lineage.tsx';
import { RollAndRevokeDialog } from './api-keys/RollAndRevokeDialog.tsx';
import { RollKeyDialog } from './api-keys/RollKeyDialog.tsx';

export function ApiKeysPage() {
  const { session } = useApp();
  // A viewer reads the organization's data and holds no credentials: the server refuses them the key list.
  if (session.role === 'viewer') {
    return (
      <p className="notice">
        As a viewer you can read the organization’s data, but not see or create API keys. Ask an owner or
        admin for the member role if you need keys of your own.
      </p>
    );
  }
  return <KeyList />;
}

function KeyList() {
  const { mode, session } = useApp();
  const keys = useResource(() => listAll<ApiKey>('/v1/api-keys', { mode }), [mode]);
  const org = useResource(() => api<Organization>('GET', '/v1/organization'), []);
  const [creating, setCreating] = useState(false);
  const [rolling, setRolling] = useState<ApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [remedying, setRemedying] = useState<ApiKey | null>(null);
  // Every role manages keys: owners and admins all of the organization's, a member those they created,
  // with at most the member's own scopes (read:* and write:*; never admin).
  const admin = canManage(session.role);
  const origins = useLeakOrigins(keys.data, admin);
  const leakedActive = keys.data?.filter(isLeakedAndActive) ?? [];

  return (
    <>
      {admin ? null : (
        <p className="notice">
          As a member you see and manage the keys you created. They can hold at most <code>read:*</code> and{' '}
          <code>write:*</code>; ask an owner or admin for anything more.
        </p>
      )}
      <p className="muted">
        Keys authenticate scripts and servers (<code>Authorization: Bearer ck_…</code>). Give each key only
        the scopes it needs and an expiration, roll keys regularly, and revoke the ones you no longer use.
      </p>
      <div className="toolbar">
        <span className="muted">
          {mode === 'live' ? 'Live' : 'Test'} keys{keys.data ? ` · ${keys.data.length}` : ''}
        </span>
        <span className="spacer" />
        <button type="button" className="button" onClick={() => setCreating(true)}>
          Create new key
        </button>
      </div>
      <LeakedKeysAlert
        keys={leakedActive}
        origins={origins.data ?? undefined}
        title={(n) => (n === 1 ? 'A leaked key still works' : `${n} leaked keys still work`)}
        lead="Anyone who found it can use it. Roll and revoke it now, then remove it from where it leaked."
        onRemedy={setRemedying}
      />
      {keys.loading && !keys.data ? <Loading what="API keys" /> : null}
      {keys.error ? <ErrorNotice error={keys.error} onRetry={keys.reload} /> : null}
      {keys.data && keys.data.length === 0 ? (
        <EmptyState title={`No ${mode} API keys yet`}>
          <p>Create a key to call the API from a script or a server.</p>
        </EmptyState>
      ) : null}
      {keys.data && keys.data.length > 0 ? (
        <div className="table-wrap">
          {/* The columns that tell keys apart come first; on a phone each key is a block of labelled lines. */}
          <table className="table stack-on-narrow key-table">
            <caption className="visually-hidden">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Status</th>
                <th scope="col">Expires (UTC)</th>
                <th scope="col">Scopes</th>
                <th scope="col">Last used</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((key) => {
                const label = keyLabel(key.prefix, key.last4);
                return (
                  <tr key={key.id} data-key-id={key.id} data-leaked={key.leaked_at ? 'true' : undefined}>
                    <th scope="row">
                      {key.name}
                      <Lineage apiKey={key} keys={keys.data ?? []} />
                    </th>
                    <td data-label="Key">
                      <code>{label}</code>
                    </td>
                    <td data-label="Status">
                      <StatusBadge status={key.status} />
                      {key.revoked_reason === 'leaked' ? <span className="small"> (leak)</span> : null}
                      <KeyCountdown apiKey={key} />
                      {key.leaked_at ? (
                        <>
                          <br />
                          <LeakedBadge apiKey={key} origin={origins.data?.get(key.id)} compact />
                        </>
                      ) : null}
                    </td>
                    <td data-label="Expires">
                      <KeyExpiry apiKey={key} />
                    </td>
                    <td data-label="Scopes">
                      <ul className="scope-list">
                        {key.scopes.map((scope) => (
                          <li key={scope}>{scope}</li>
                        ))}
                      </ul>
                    </td>
                    <td data-label="Last used" title={key.last_used_at ?? undefined}>
                      {relativeTime(key.last_used_at)}
                    </td>
                    <td data-label="Created" className="nowrap">
                      {formatDate(key.created_at)}
                    </td>
                    <td>
                      {/* Every action names the key's own id and label: after a roll two rows share a name. */}
                      <div className="row-actions">
                        <Link
                          to={`/usage?key_id=${encodeURIComponent(key.id)}`}
                          aria-label={`Usage of ${key.name} ${label}`}
                        >
                          Usage
                        </Link>
                        {key.status !== 'revoked' ? (
                          <>
                            {/* Only a live key without a successor can be rolled: the server refuses the rest. */}
                            {key.status === 'active' && key.replaced_by === null ? (
                              <button
                                type="button"
                                onClick={() => setRolling(key)}
                                aria-label={`Roll ${key.name} ${label}`}
                              >
                                Roll
                              </button>
                            ) : null}
                            <button
                              type="button"
                              className="danger-text"
                              onClick={() => setRevoking(key)}
                              aria-label={`Revoke ${key.name} ${label}`}
                            >
                              Revoke
                            </button>
                          </>
                        ) : null}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}

      <CreateKeyDialog
        // A new dialog for each mode, so it proposes the mode the Live/Test switch is in.
        key={mode}
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={keys.reload}
        defaultMode={mode}
        allowAdmin={admin}
        maxLifetimeDays={org.data?.policy.max_key_lifetime_days ?? null}
      />
      <RollKeyDialog apiKey={rolling} onClose={() => setRolling(null)} onRolled={keys.reload} />
      <RollAndRevokeDialog apiKey={remedying} onClose={() => setRemedying(null)} onDone={keys.reload} />
      {admin && org.data ? (
        <LeakPolicy key={org.data.policy.leaked_key_action} org={org.data} onSaved={org.reload} />
      ) : null}
      <ConfirmDialog
        title={revoking ? `Revoke “${revoking.name}”?` : 'Revoke key?'}
        open={revoking !== null}
        confirmLabel="Revoke key"
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return;
          await api('POST', `/v1/api-keys/${encodeURIComponent(revoking.id)}/revoke`);
          keys.reload();
        }}
      >
        {revoking ? (
          <p>
            Requests with <code>{keyLabel(revoking.prefix, revoking.last4)}</code> fail from now on, on every
            server within a second. This cannot be undone.
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
