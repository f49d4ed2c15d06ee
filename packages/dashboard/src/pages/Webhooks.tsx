/**
 * Settings › Webhooks: the organization's webhook endpoints in the current mode (URL, events, status with
 * why it was disabled, created), Add endpoint (the signing secret shown once), and per endpoint Send test
 * event, the delivery log with Retry, Edit, Disable/Enable, Rotate secret (with a grace period) and Delete.
 * Managing endpoints needs the `admin` scope, so a member sees why not instead.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { api, listAll } from '../api/client.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/Notice.tsx';
import { canManage, useApp } from '../context.ts';
import { useResource } from '../hooks.ts';
import { formatDate } from '../lib/format.ts';
import { describeEvents, endpointStatusText, type WebhookEndpoint } from '../lib/webhooks.ts';
import { AddEndpointDialog } from './webhooks/AddEndpointDialog.tsx';
import { DeliveryLog } from './webhooks/DeliveryLog.tsx';
import { EditEndpointDialog } from './webhooks/EditEndpointDialog.tsx';
import { RotateEndpointSecretDialog } from './webhooks/RotateEndpointSecretDialog.tsx';

interface Announcement {
  text: string;
  /** After a deletion the control that was used is gone: the focus goes to the announcement. */
  focus: boolean;
}

export function WebhooksPage() {
  const { session } = useApp();
  return (
    <>
      <p className="muted">
        Webhooks tell your systems what changed as it happens: Cohera POSTs a signed JSON event to each
        endpoint that subscribes to it (Standard Webhooks 1.0), retries failures for about three days, and
        keeps a delivery log. Verify each delivery’s <code>webhook-signature</code> with the endpoint’s
        secret, and use <code>webhook-id</code> to ignore a delivery you have already handled.
      </p>
      {canManage(session.role) ? (
        <EndpointsConsole />
      ) : (
        <div className="notice" role="note">
          <p>
            Only owners and admins of {session.org.name} can add and manage webhook endpoints. Ask one of them
            to add yours.
          </p>
        </div>
      )}
    </>
  );
}

function EndpointsConsole() {
  const { mode } = useApp();
  const endpoints = useResource(
    () => listAll<WebhookEndpoint>('/v1/webhook-endpoints').then((all) => all.filter((e) => e.mode === mode)),
    [mode],
  );
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<WebhookEndpoint | null>(null);
  const [rotating, setRotating] = useState<WebhookEndpoint | null>(null);
  const [deleting, setDeleting] = useState<WebhookEndpoint | null>(null);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const [logVersions, setLogVersions] = useState<Readonly<Record<string, number>>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const [removed, setRemoved] = useState<ReadonlySet<string>>(() => new Set());
  const [announcement, setAnnouncement] = useState<Announcement>({ text: '', focus: false });
  const announcer = useRef<HTMLParagraphElement>(null);

  useEffect(() => {
    if (announcement.focus) announcer.current?.focus();
  }, [announcement]);

  const shown = endpoints.data?.filter((e) => !removed.has(e.id)) ?? null;
  const announce = (text: string, focus = false) => setAnnouncement({ text, focus });

  const toggle = (id: string) =>
    setExpanded((previous) => {
      const next = new Set(previous);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  /** Runs one row action (test, enable, disable): one at a time, its failure shown above the list. */
  const act = async (endpoint: WebhookEndpoint, action: () => Promise<void>) => {
    setBusy(endpoint.id);
    setFailure(null);
    try {
      await action();
    } catch (caught) {
      setFailure(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(null);
    }
  };

  const path = (endpoint: WebhookEndpoint) => `/v1/webhook-endpoints/${encodeURIComponent(endpoint.id)}`;

  const sendTest = (endpoint: WebhookEndpoint) =>
    act(endpoint, async () => {
      const sent = await api<{ message_id: string }>('POST', `${path(endpoint)}/test`);
      setExpanded((previous) => new Set(previous).add(endpoint.id));
      setLogVersions((previous) => ({ ...previous, [endpoint.id]: (previous[endpoint.id] ?? 0) + 1 }));
      announce(`Test event ${sent.message_id} sent to ${endpoint.url}. Its delivery is in the log below.`);
    });

  const setStatus = (endpoint: WebhookEndpoint, status: 'enabled' | 'disabled') =>
    act(endpoint, async () => {
      await api('PATCH', path(endpoint), { body: { status } });
      endpoints.reload();
      announce(
        status === 'enabled'
          ? `${endpoint.url} is enabled: it receives new events, and its failed deliveries are sent again, oldest first.`
          : `${endpoint.url} is disabled: no events are sent to it until it is enabled again.`,
      );
    });

  return (
    <>
      <div className="toolbar">
        <span className="muted">
          {mode === 'live' ? 'Live' : 'Test'} endpoints{shown ? ` · ${shown.length}` : ''}
        </span>
        <span className="spacer" />
        <button type="button" className="button" onClick={() => setAdding(true)}>
          Add endpoint
        </button>
      </div>
      <p
        ref={announcer}
        tabIndex={-1}
        role="status"
        className={announcement.text ? 'notice notice-ok' : 'visually-hidden'}
      >
        {announcement.text}
      </p>
      {failure ? <ErrorNotice error={failure} /> : null}
      {endpoints.loading && !endpoints.data ? <Loading what="webhook endpoints" /> : null}
      {endpoints.error ? <ErrorNotice error={endpoints.error} onRetry={endpoints.reload} /> : null}
      {shown && shown.length === 0 ? (
        <EmptyState title={`No ${mode} webhook endpoints yet`}>
          <p>
            Add an endpoint to be told when certificates, suppliers, products, keys and apps change, when a
            certificate or a key is about to expire, and when your organization goes over a rate limit,
            instead of polling the API.
          </p>
        </EmptyState>
      ) : null}
      {shown && shown.length > 0 ? (
        <ul className="account-list">
          {shown.map((endpoint) => (
            <li key={endpoint.id}>
              <EndpointPanel
                endpoint={endpoint}
                busy={busy === endpoint.id}
                expanded={expanded.has(endpoint.id)}
                logVersion={logVersions[endpoint.id] ?? 0}
                onToggleLog={() => toggle(endpoint.id)}
                onTest={() => sendTest(endpoint)}
                onStatus={(status) => setStatus(endpoint, status)}
                onEdit={() => setEditing(endpoint)}
                onRotate={() => setRotating(endpoint)}
                onDelete={() => setDeleting(endpoint)}
                onAnnounce={(text) => announce(text)}
              />
            </li>
          ))}
        </ul>
      ) : null}

      <AddEndpointDialog
        open={adding}
        mode={mode}
        onClose={() => setAdding(false)}
        onAdded={(endpoint) => {
          endpoints.reload();
          announce(`Endpoint ${endpoint.url} added. Send it a test event to check the receiver.`);
        }}
      />
      <EditEndpointDialog
        endpoint={editing}
        onClose={() => setEditing(null)}
        onSaved={(saved) => {
          endpoints.reload();
          announce(`Endpoint ${saved.url} saved.`);
        }}
      />
      <RotateEndpointSecretDialog
        endpoint={rotating}
        onClose={() => setRotating(null)}
        onRotated={() => {
          if (rotating) announce(`The signing secret of ${rotating.url} was replaced.`);
        }}
      />
      <ConfirmDialog
        title="Delete this endpoint?"
        open={deleting !== null}
        confirmLabel="Delete endpoint"
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          await api('DELETE', path(deleting));
          setRemoved((previous) => new Set(previous).add(deleting.id));
          endpoints.reload();
          announce(`Endpoint ${deleting.url} deleted.`, true);
        }}
      >
        {deleting ? (
          <p>
            No more events are sent to <span className="webhook-url">{deleting.url}</span>: deliveries still
            waiting are dropped, and its delivery log and signing secret are deleted. This cannot be undone:
            to receive events there again, add the endpoint again (with a new secret).
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}

function EndpointPanel({
  endpoint,
  busy,
  expanded,
  logVersion,
  onToggleLog,
  onTest,
  onStatus,
  onEdit,
  onRotate,
  onDelete,
  onAnnounce,
}: {
  endpoint: WebhookEndpoint;
  busy: boolean;
  expanded: boolean;
  logVersion: number;
  onToggleLog: () => void;
  onTest: () => void;
  onStatus: (status: 'enabled' | 'disabled') => void;
  onEdit: () => void;
  onRotate: () => void;
  onDelete: () => void;
  onAnnounce: (text: string) => void;
}) {
  const headingId = useId();
  const regionId = useId();
  const enabled = endpoint.status === 'enabled';
  const name = endpoint.url;
  return (
    <article
      className="panel account webhook-endpoint"
      aria-labelledby={headingId}
      data-endpoint-id={endpoint.id}
    >
      <div className="account-header">
        <h2 id={headingId} className="webhook-url">
          {endpoint.url}
        </h2>
        <span className={`badge badge-${endpoint.status}`}>{endpoint.status}</span>
      </div>
      <div className="row-actions webhook-actions">
        <button type="button" onClick={onTest} disabled={busy} aria-label={`Send a test event to ${name}`}>
          Send test event
        </button>
        <button
          type="button"
          onClick={() => onStatus(enabled ? 'disabled' : 'enabled')}
          disabled={busy}
          aria-label={`${enabled ? 'Disable' : 'Enable'} ${name}`}
        >
          {enabled ? 'Disable' : 'Enable'}
        </button>
        <button type="button" onClick={onEdit} aria-label={`Edit ${name}`}>
          Edit
        </button>
        <button type="button" onClick={onRotate} aria-label={`Rotate the signing secret of ${name}`}>
          Rotate secret
        </button>
        <button type="button" className="danger-text" onClick={onDelete} aria-label={`Delete ${name}`}>
          Delete
        </button>
      </div>
      <dl className="account-facts">
        {endpoint.description ? (
          <div>
            <dt>Description</dt>
            <dd>{endpoint.description}</dd>
          </div>
        ) : null}
        <div>
          <dt>Status</dt>
          <dd className="endpoint-status">{endpointStatusText(endpoint)}</dd>
        </div>
        <div>
          <dt>Events</dt>
          <dd>
            {endpoint.events.includes('*') ? (
              describeEvents(endpoint.events)
            ) : (
              <ul className="scope-list" aria-label={`Events sent to ${name}`}>
                {endpoint.events.map((type) => (
                  <li key={type}>{type}</li>
                ))}
              </ul>
            )}
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <time dateTime={endpoint.created_at} title={endpoint.created_at}>
              {formatDate(endpoint.created_at)}
            </time>
          </dd>
        </div>
        <div>
          <dt>ID</dt>
          <dd>
            <code>{endpoint.id}</code>
          </dd>
        </div>
      </dl>
      <button
        type="button"
        className="button secondary"
        aria-expanded={expanded}
        aria-controls={regionId}
        onClick={onToggleLog}
      >
        {expanded ? 'Hide delivery log' : 'Show delivery log'}
        <span className="visually-hidden"> of {name}</span>
      </button>
      <section
        id={regionId}
        className="account-keys"
        aria-label={`Delivery log of ${name}`}
        hidden={!expanded}
      >
        {expanded ? <DeliveryLog endpoint={endpoint} version={logVersion} onAnnounce={onAnnounce} /> : null}
      </section>
    </article>
  );
}
