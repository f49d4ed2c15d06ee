/**
 * An endpoint's delivery log, newest first: per message the event type, where its delivery stands,
 * attempts, the last response's status code and first bytes, the last error, when it was last tried and
 * when it is tried next, with Retry (sent again at once, attempts start over). While a delivery is still on
 * its way the log reads itself again every few seconds, so a test event's result appears without a click.
 */
import { useEffect, useState } from 'react';
import { api, type ListPage } from '../../api/client.ts';
import { ErrorNotice, Loading } from '../../components/Notice.tsx';
import { useResource } from '../../hooks.ts';
import { formatDateTime } from '../../lib/format.ts';
import {
  deliveryStatusText,
  hasPending,
  nextAttemptText,
  responseExcerpt,
  type WebhookDelivery,
  type WebhookEndpoint,
} from '../../lib/webhooks.ts';

const PAGE_SIZE = 25;
/** How often the log looks again while something is pending. */
const REFRESH_MS = 2000;

export function DeliveryLog({
  endpoint,
  version,
  onAnnounce,
}: {
  endpoint: WebhookEndpoint;
  /** Bumped by the page (a test event was sent) to read the log again. */
  version: number;
  onAnnounce: (text: string) => void;
}) {
  const [extra, setExtra] = useState(0);
  const [older, setOlder] = useState<{ items: WebhookDelivery[]; cursor: string | null } | null>(null);
  const [retrying, setRetrying] = useState<string | null>(null);
  const [retryError, setRetryError] = useState<Error | null>(null);
  const base = `/v1/webhook-endpoints/${encodeURIComponent(endpoint.id)}/deliveries`;
  const log = useResource(
    () => api<ListPage<WebhookDelivery>>('GET', base, { query: { limit: PAGE_SIZE } }),
    [base, version, extra],
  );
  const reload = log.reload;

  const pending = log.data ? hasPending(log.data.data) : false;
  useEffect(() => {
    if (!pending || log.loading) return;
    const timer = window.setTimeout(reload, REFRESH_MS);
    return () => window.clearTimeout(timer);
  }, [pending, log.loading, reload]);

  const retry = async (delivery: WebhookDelivery) => {
    setRetrying(delivery.id);
    setRetryError(null);
    try {
      await api('POST', `${base}/${encodeURIComponent(delivery.id)}/retry`);
      onAnnounce(`${delivery.event_type} ${delivery.id} will be sent again now.`);
      setOlder(null);
      setExtra((n) => n + 1);
    } catch (caught) {
      setRetryError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setRetrying(null);
    }
  };

  const loadOlder = async () => {
    const cursor = older ? older.cursor : (log.data?.next_cursor ?? null);
    if (!cursor) return;
    try {
      const page = await api<ListPage<WebhookDelivery>>('GET', base, {
        query: { limit: PAGE_SIZE, cursor },
      });
      setOlder((previous) => ({
        items: [...(previous?.items ?? []), ...page.data],
        cursor: page.next_cursor,
      }));
    } catch (caught) {
      setRetryError(caught instanceof Error ? caught : new Error(String(caught)));
    }
  };

  if (log.loading && !log.data) return <Loading what="the delivery log" />;
  if (log.error) return <ErrorNotice error={log.error} onRetry={log.reload} />;
  if (!log.data) return null;
  const rows = [...log.data.data, ...(older?.items ?? [])];
  const more = older ? older.cursor : log.data.next_cursor;
  return (
    <>
      <div className="toolbar delivery-toolbar">
        <p className="muted small" aria-live="polite">
          {rows.length === 0
            ? 'No deliveries yet. Send a test event to try the endpoint.'
            : pending
              ? 'Some deliveries are on their way: the log updates by itself.'
              : `${rows.length} deliver${rows.length === 1 ? 'y' : 'ies'}, newest first.`}
        </p>
        <span className="spacer" />
        <button type="button" className="button secondary" onClick={() => setExtra((n) => n + 1)}>
          Refresh<span className="visually-hidden"> the delivery log</span>
        </button>
      </div>
      {retryError ? <ErrorNotice error={retryError} /> : null}
      {rows.length > 0 ? (
        <div className="table-wrap delivery-wrap">
          <table className="table delivery-table">
            <caption className="visually-hidden">Deliveries to {endpoint.url}</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Response</th>
                <th scope="col">Error</th>
                <th scope="col">Last attempt</th>
                <th scope="col">Next attempt</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((delivery) => (
                <tr key={delivery.id} data-message-id={delivery.id} data-status={delivery.status}>
                  <th scope="row">
                    <code>{delivery.event_type}</code>
                    <span className="muted small cell-note">
                      <code className="message-id">{delivery.id}</code>
                    </span>
                  </th>
                  <td data-label="Status">
                    <span className={`badge badge-${delivery.status}`}>{delivery.status}</span>
                    <span className="muted small cell-note">{deliveryStatusText(delivery)}</span>
                  </td>
                  <td data-label="Attempts">{delivery.attempts}</td>
                  <td data-label="Response">
                    {delivery.last_response_status !== null ? (
                      <code className="response-code">{delivery.last_response_status}</code>
                    ) : (
                      <span className="muted">none</span>
                    )}
                    {delivery.last_response_body ? (
                      <span
                        className="muted small cell-note response-body"
                        title={delivery.last_response_body}
                      >
                        {responseExcerpt(delivery.last_response_body)}
                      </span>
                    ) : null}
                  </td>
                  <td className="delivery-error" data-label="Error">
                    {delivery.last_error ?? <span className="muted">—</span>}
                  </td>
                  <td data-label="Last attempt" title={delivery.last_attempt_at ?? undefined}>
                    {formatDateTime(delivery.last_attempt_at)}
                  </td>
                  <td data-label="Next attempt" title={delivery.next_attempt_at ?? undefined}>
                    {nextAttemptText(delivery)}
                  </td>
                  <td>
                    {delivery.status === 'pending' ? null : (
                      <div className="row-actions">
                        <button
                          type="button"
                          onClick={() => retry(delivery)}
                          disabled={retrying !== null}
                          aria-label={`Retry ${delivery.event_type} ${delivery.id}`}
                        >
                          {retrying === delivery.id ? 'Retrying…' : 'Retry'}
                        </button>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {more ? (
        <div className="row-actions load-more">
          <button type="button" className="button secondary" onClick={loadOlder}>
            Show older deliveries
          </button>
        </div>
      ) : null}
    </>
  );
}
