/** Loading, empty and error states, said the same way on every page. */
import type { ReactNode } from 'react';
import { ApiProblem } from '../api/client.ts';

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

function explain(error: Error): string {
  if (error instanceof ApiProblem) {
    if (error.code === 'insufficient_scope' || error.code === 'forbidden')
      return 'Your role does not allow this. Ask an owner or admin of your organization.';
    if (error.status === 0 || error.code === 'http_0') return 'The server could not be reached.';
    // The detail is the field sentences joined; the list below shows each one.
    if (error.fields.length > 0) return 'Check these and try again:';
  }
  if (error instanceof TypeError)
    return 'The server could not be reached. Check your connection and try again.';
  return error.message;
}

export function ErrorNotice({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const requestId = error instanceof ApiProblem ? error.requestId : null;
  return (
    <div className="notice notice-error" role="alert">
      <p>{explain(error)}</p>
      {error instanceof ApiProblem && error.fields.length > 0 ? (
        <ul>
          {error.fields.map((f) => (
            <li key={f.field}>
              {/* The server's message is a sentence that already names the field. */}
              {f.message}
            </li>
          ))}
        </ul>
      ) : null}
      {requestId ? <p className="muted small">Request {requestId}</p> : null}
      {onRetry ? (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}
