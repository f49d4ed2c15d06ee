/**
 * Service accounts: the organization's accounts in the current mode (name, id, scope ceiling, mode,
 * created), each with its keys (kid, algorithm, generated or uploaded, created, expires, last used) behind
 * a Show keys toggle. Owners and admins create accounts, generate a key (service-account.json, once),
 * upload a public key, and delete keys and accounts.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { api, type ListPage, listAll } from '../api/client.ts';
import type { ServiceAccountKey, ServiceAccountObject } from '../api/types.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { EmptyState, ErrorNotice, Loading, StatusBadge } from '../components/Notice.tsx';
import { canManage, useApp } from '../context.ts';
import { useResource } from '../hooks.ts';
import { formatDate, relativeTime } from '../lib/format.ts';
import { CreateServiceAccountDialog } from './service-accounts/CreateServiceAccountDialog.tsx';
import { KeyFileDialog } from './service-accounts/KeyFileDialog.tsx';
import { UploadKeyDialog } from './service-accounts/UploadKeyDialog.tsx';

interface Announcement {
  text: string;
  /** After a deletion the control that was used is gone: the focus goes to the announcement. */
  focus: boolean;
}

export function ServiceAccountsPage() {
  const { mode, session } = useApp();
  const manage = canManage(session.role);
  // The list is not filtered by the `cohera-mode` header: a live session sees the accounts of both
  // modes (a test session only test ones), so the page keeps those of the current mode.
  const accounts = useResource(() => listAll<ServiceAccountObject>('/v1/service-accounts'), [mode]);
  const [creating, setCreating] = useState(false);
  const [generating, setGenerating] = useState<ServiceAccountObject | null>(null);
  const [uploading, setUploading] = useState<ServiceAccountObject | null>(null);
  const [deletingAccount, setDeletingAccount] = useState<ServiceAccountObject | null>(null);
  const [deletingKey, setDeletingKey] = useState<{
    account: ServiceAccountObject;
    key: ServiceAccountKey;
  } | null>(null);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const [keyVersions, setKeyVersions] = useState<Readonly<Record<string, number>>>({});
  // Deleted accounts and keys leave the page at once, before the list is read again.
  const [removed, setRemoved] = useState<ReadonlySet<string>>(() => new Set());
  const [announcement, setAnnouncement] = useState<Announcement>({ text: '', focus: false });
  const announcer = useRef<HTMLParagraphElement>(null);

  useEffect(() => {
    if (announcement.focus) announcer.current?.focus();
  }, [announcement]);

  const shown = accounts.data?.filter((a) => a.mode === mode && !removed.has(a.id)) ?? null;

  const toggle = (id: string) =>
    setExpanded((previous) => {
      const next = new Set(previous);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  /** Shows an account's keys, read again (after a key was added or deleted). */
  const refreshKeys = (id: string) => {
    setExpanded((previous) => new Set(previous).add(id));
    setKeyVersions((previous) => ({ ...previous, [id]: (previous[id] ?? 0) + 1 }));
  };

  const remove = (id: string) => setRemoved((previous) => new Set(previous).add(id));

  return (
    <>
      <p className="muted">
        A service account is an identity for one of your services (a microservice, a scheduled job, a CI
        pipeline). Instead of holding a long-lived API key, the service signs short-lived JWTs (an hour at
        most) with a private key that the server never keeps: it holds only the public key. The account's
        scope ceiling is the most its tokens may claim.
      </p>
      <div className="toolbar">
        <span className="muted">
          {mode === 'live' ? 'Live' : 'Test'} service accounts{shown ? ` · ${shown.length}` : ''}
        </span>
        <span className="spacer" />
        {manage ? (
          <button type="button" className="button" onClick={() => setCreating(true)}>
            Create service account
          </button>
        ) : null}
      </div>
      <p
        ref={announcer}
        tabIndex={-1}
        role="status"
        className={announcement.text ? 'notice notice-ok' : 'visually-hidden'}
      >
        {announcement.text}
      </p>
      {accounts.loading && !accounts.data ? <Loading what="service accounts" /> : null}
      {accounts.error ? <ErrorNotice error={accounts.error} onRetry={accounts.reload} /> : null}
      {shown && shown.length === 0 ? (
        <EmptyState title={`No ${mode} service accounts yet`}>
          <p>
            Service accounts let your microservices call the API without a long-lived secret. Each service
            signs its own short-lived JWTs with a private key that the server never keeps, and claims only the
            scopes the job needs, within the account's ceiling.
          </p>
          <p>
            {manage
              ? 'Create an account, then generate a key to download service-account.json, or upload the public key of a key pair you made yourself.'
              : 'Ask an owner or admin of your organization to create one.'}
          </p>
        </EmptyState>
      ) : null}
      {shown && shown.length > 0 ? (
        <ul className="account-list">
          {shown.map((account) => (
            <li key={account.id}>
              <AccountPanel
                account={account}
                manage={manage}
                expanded={expanded.has(account.id)}
                keysVersion={keyVersions[account.id] ?? 0}
                removed={removed}
                onToggle={() => toggle(account.id)}
                onGenerate={() => setGenerating(account)}
                onUpload={() => setUploading(account)}
                onDelete={() => setDeletingAccount(account)}
                onDeleteKey={(key) => setDeletingKey({ account, key })}
              />
            </li>
          ))}
        </ul>
      ) : null}

      <CreateServiceAccountDialog
        open={creating}
        mode={mode}
        onClose={() => setCreating(false)}
        onCreated={(account) => {
          accounts.reload();
          refreshKeys(account.id);
          setAnnouncement({
            text: `Service account “${account.name}” created. Add a key to it: Generate key or Upload public key.`,
            focus: false,
          });
        }}
      />
      <KeyFileDialog
        account={generating}
        onClose={() => setGenerating(null)}
        onGenerated={(account, keyId) => {
          refreshKeys(account.id);
          setAnnouncement({ text: `Key ${keyId} added to “${account.name}”.`, focus: false });
        }}
      />
      <UploadKeyDialog
        account={uploading}
        onClose={() => setUploading(null)}
        onUploaded={(account, key) => {
          refreshKeys(account.id);
          setAnnouncement({
            text: `Public key ${key.id} (${key.algorithm}) added to “${account.name}”.`,
            focus: false,
          });
        }}
      />
      <ConfirmDialog
        title={deletingKey ? `Delete key ${deletingKey.key.id}?` : 'Delete key?'}
        open={deletingKey !== null}
        confirmLabel="Delete key"
        onClose={() => setDeletingKey(null)}
        onConfirm={async () => {
          if (!deletingKey) return;
          const { account, key } = deletingKey;
          await api(
            'DELETE',
            `/v1/service-accounts/${encodeURIComponent(account.id)}/keys/${encodeURIComponent(key.id)}`,
          );
          remove(key.id);
          refreshKeys(account.id);
          setAnnouncement({ text: `Key ${key.id} of “${account.name}” deleted.`, focus: true });
        }}
      >
        {deletingKey ? (
          <p>
            Tokens signed with <code>{deletingKey.key.id}</code> stop working at once, on every server within
            a second. Move the services that use it to another key of “{deletingKey.account.name}” first. This
            cannot be undone.
          </p>
        ) : null}
      </ConfirmDialog>
      <ConfirmDialog
        title={deletingAccount ? `Delete “${deletingAccount.name}”?` : 'Delete service account?'}
        open={deletingAccount !== null}
        confirmLabel="Delete service account"
        onClose={() => setDeletingAccount(null)}
        onConfirm={async () => {
          if (!deletingAccount) return;
          await api('DELETE', `/v1/service-accounts/${encodeURIComponent(deletingAccount.id)}`);
          remove(deletingAccount.id);
          accounts.reload();
          setAnnouncement({ text: `Service account “${deletingAccount.name}” deleted.`, focus: true });
        }}
      >
        {deletingAccount ? (
          <p>
            The account <code>{deletingAccount.id}</code> and all its keys are deleted: every token they
            signed stops working within a second, and the services using it lose access. This cannot be
            undone.
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}

function AccountPanel({
  account,
  manage,
  expanded,
  keysVersion,
  removed,
  onToggle,
  onGenerate,
  onUpload,
  onDelete,
  onDeleteKey,
}: {
  account: ServiceAccountObject;
  manage: boolean;
  expanded: boolean;
  keysVersion: number;
  removed: ReadonlySet<string>;
  onToggle: () => void;
  onGenerate: () => void;
  onUpload: () => void;
  onDelete: () => void;
  onDeleteKey: (key: ServiceAccountKey) => void;
}) {
  const headingId = useId();
  const regionId = useId();
  return (
    <article className="panel account" aria-labelledby={headingId} data-service-account-id={account.id}>
      <div className="account-header">
        <h2 id={headingId}>{account.name}</h2>
        <span className="badge">{account.mode}</span>
        <span className="spacer" />
        {manage ? (
          <div className="row-actions">
            <button type="button" onClick={onGenerate} aria-label={`Generate key for ${account.name}`}>
              Generate key
            </button>
            <button type="button" onClick={onUpload} aria-label={`Upload public key for ${account.name}`}>
              Upload public key
            </button>
            <button
              type="button"
              className="danger-text"
              onClick={onDelete}
              aria-label={`Delete service account ${account.name}`}
            >
              Delete service account
            </button>
          </div>
        ) : null}
      </div>
      <dl className="account-facts">
        <div>
          <dt>ID (the token's sub)</dt>
          <dd>
            <code>{account.id}</code>
          </dd>
        </div>
        <div>
          <dt>Mode</dt>
          <dd>{account.mode}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <time dateTime={account.created_at}>{formatDate(account.created_at)}</time>{' '}
            <span className="muted small">
              by {account.created_by.kind}:{account.created_by.id}
            </span>
          </dd>
        </div>
        <div>
          <dt>Scope ceiling</dt>
          <dd>
            <ul className="scope-list" aria-label={`Scope ceiling of ${account.name}`}>
              {account.scopes.map((scope) => (
                <li key={scope}>{scope}</li>
              ))}
            </ul>
          </dd>
        </div>
      </dl>
      <button
        type="button"
        className="button secondary"
        aria-expanded={expanded}
        aria-controls={regionId}
        onClick={onToggle}
      >
        {expanded ? 'Hide keys' : 'Show keys'}
        <span className="visually-hidden"> of {account.name}</span>
      </button>
      <section
        id={regionId}
        className="account-keys"
        aria-label={`Keys of ${account.name}`}
        hidden={!expanded}
      >
        {expanded ? (
          <KeyList
            account={account}
            version={keysVersion}
            manage={manage}
            removed={removed}
            onDelete={onDeleteKey}
          />
        ) : null}
      </section>
    </article>
  );
}

function KeyList({
  account,
  version,
  manage,
  removed,
  onDelete,
}: {
  account: ServiceAccountObject;
  version: number;
  manage: boolean;
  removed: ReadonlySet<string>;
  onDelete: (key: ServiceAccountKey) => void;
}) {
  const keys = useResource(
    () =>
      api<ListPage<ServiceAccountKey>>(
        'GET',
        `/v1/service-accounts/${encodeURIComponent(account.id)}/keys`,
      ).then((page) => page.data),
    [account.id, version],
  );
  const shown = keys.data?.filter((key) => !removed.has(key.id)) ?? null;
  const now = Date.now();

  if (keys.loading && !keys.data) return <Loading what={`the keys of ${account.name}`} />;
  if (keys.error) return <ErrorNotice error={keys.error} onRetry={keys.reload} />;
  if (!shown) return null;
  if (shown.length === 0) {
    return (
      <p className="muted">
        No keys yet: this account cannot sign tokens.{' '}
        {manage
          ? 'Generate a key to download service-account.json, or upload the public key of a key pair you made yourself.'
          : null}
      </p>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">Keys of {account.name}</caption>
        <thead>
          <tr>
            <th scope="col">Key ID (kid)</th>
            <th scope="col">Algorithm</th>
            <th scope="col">Origin</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
            <th scope="col">Public key</th>
            {manage ? (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {shown.map((key) => {
            const expired = key.expires_at !== null && Date.parse(key.expires_at) <= now;
            return (
              <tr key={key.id} data-key-id={key.id}>
                <th scope="row">
                  <code>{key.id}</code>
                </th>
                <td>{key.algorithm}</td>
                <td>{key.origin}</td>
                <td>{formatDate(key.created_at)}</td>
                <td>{key.expires_at ? formatDate(key.expires_at) : <span className="badge">never</span>}</td>
                <td title={key.last_used_at ?? undefined}>{relativeTime(key.last_used_at)}</td>
                <td>
                  <StatusBadge status={expired ? 'expired' : 'active'} />
                </td>
                <td>
                  <details className="public-key">
                    <summary>
                      Show<span className="visually-hidden"> the public key of {key.id}</span>
                    </summary>
                    <pre>{key.public_key}</pre>
                  </details>
                </td>
                {manage ? (
                  <td>
                    <div className="row-actions">
                      <button
                        type="button"
                        className="danger-text"
                        onClick={() => onDelete(key)}
                        aria-label={`Delete key ${key.id}`}
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
