/**
 * Audit log: the organization's events, newest first, filtered by action (or a prefix such as
 * `api_key.`), actor, target, result and a UTC time range, fifty at a time with Load more; the matching
 * events as an NDJSON download; and a check of the tamper-evident chain. For owners and admins, and only
 * in live mode: the server refuses the log to test-mode sessions.
 */
import { type FormEvent, useCallback, useEffect, useId, useRef, useState } from 'react';
import { api, type ListPage, type Query, withQuery } from '../api/client.ts';
import type { AuditEvent, AuditVerification } from '../api/types.ts';
import { EmptyState, ErrorNotice, Loading, StatusBadge } from '../components/Notice.tsx';
import { canManage, useApp } from '../context.ts';
import { useResource } from '../hooks.ts';
import { AUDIT_ACTION_NAMES, AUDIT_ACTION_PREFIXES } from '../lib/audit-actions.ts';
import { formatCount } from '../lib/format.ts';
import { describe, loadNames, type Names } from './audit/actors.ts';
import { type Draft, hasFilters, NO_FILTERS, type Problems, toQuery } from './audit/filters.ts';

const PAGE_SIZE = 50;

/** `2026-11-22 10:00:07`: audit times to the second, in UTC as stored. */
function formatSecond(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

type Verification =
  | { state: 'idle' }
  | { state: 'busy' }
  | { state: 'done'; result: AuditVerification }
  | { state: 'failed'; error: Error };

interface Listing {
  events: AuditEvent[];
  cursor: string | null;
}

export function AuditLogPage() {
  const { mode, setMode, session } = useApp();
  const manage = canManage(session.role);
  const [draft, setDraft] = useState<Draft>(NO_FILTERS);
  const [submitted, setSubmitted] = useState(false);
  // A new object on every Apply, so that applying the same filters again reads the log again.
  const [query, setQuery] = useState<Query>({});
  const [listing, setListing] = useState<Listing | null>(null);
  const [loading, setLoading] = useState(false);
  const [failure, setFailure] = useState<{ error: Error; more: boolean } | null>(null);
  const [verification, setVerification] = useState<Verification>({ state: 'idle' });
  // Every API call is an `api.request` event when the server audits API calls: they would bury the
  // management actions, so they are hidden unless asked for (or filtered for by action).
  const [showRequests, setShowRequests] = useState(false);
  // Read again with every query, so a key made since the page opened is named too.
  const names = useResource<Names | null>(
    () => (manage && mode === 'live' ? loadNames() : Promise.resolve(null)),
    [manage, mode, query],
  );
  const latest = useRef(0);
  const summary = useRef<HTMLParagraphElement>(null);
  const ids = {
    action: useId(),
    actions: useId(),
    actionHint: useId(),
    actionError: useId(),
    actor: useId(),
    target: useId(),
    result: useId(),
    since: useId(),
    sinceError: useId(),
    until: useId(),
    untilError: useId(),
    timeHint: useId(),
  };

  /**
   * Reads a page: the first (replacing the list) or the one after `cursor`. Answers the next cursor, or
   * undefined when it failed or a newer read replaced it (its answer is dropped).
   */
  const read = useCallback(
    async (filters: Query, cursor: string | null): Promise<string | null | undefined> => {
      const request = ++latest.current;
      setLoading(true);
      setFailure(null);
      try {
        const page = await api<ListPage<AuditEvent>>('GET', '/v1/audit-events', {
          query: { ...filters, limit: PAGE_SIZE, cursor },
        });
        if (request !== latest.current) return undefined;
        setListing((previous) => ({
          events: cursor && previous ? [...previous.events, ...page.data] : page.data,
          cursor: page.next_cursor,
        }));
        return page.next_cursor;
      } catch (caught) {
        if (request === latest.current) {
          setFailure({
            error: caught instanceof Error ? caught : new Error(String(caught)),
            more: cursor !== null,
          });
        }
        return undefined;
      } finally {
        if (request === latest.current) setLoading(false);
      }
    },
    [],
  );

  useEffect(() => {
    if (mode !== 'live') return;
    setListing(null);
    void read(query, null);
    return () => {
      // Whatever was asked before no longer applies.
      latest.current++;
    };
  }, [mode, query, read]);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    const result = toQuery(draft);
    if ('problems' in result) return;
    setSubmitted(false);
    setQuery(result.query);
  };

  const clear = () => {
    setDraft(NO_FILTERS);
    setSubmitted(false);
    setQuery({});
  };

  const loadMore = async () => {
    if (!listing?.cursor) return;
    const next = await read(query, listing.cursor);
    // The Load more button goes with the last page: the focus goes to the count instead.
    if (next === null) summary.current?.focus();
  };

  const verify = async () => {
    setVerification({ state: 'busy' });
    try {
      const result = await api<AuditVerification>('GET', '/v1/audit-events/verify');
      setVerification({ state: 'done', result });
    } catch (caught) {
      setVerification({
        state: 'failed',
        error: caught instanceof Error ? caught : new Error(String(caught)),
      });
    }
  };

  if (mode !== 'live') {
    return (
      <div className="notice notice-warn">
        <p>
          The audit log covers live activity, so it is not shown in test mode. It holds the events of both
          modes (<code>metadata.mode</code> says which); switch to live to read it.
        </p>
        <button type="button" className="button" onClick={() => setMode('live')}>
          Switch to live
        </button>
      </div>
    );
  }

  const requestsAsked =
    typeof query.action === 'string' && 'api.request'.startsWith(query.action) && query.action !== '';
  const shown = (event: AuditEvent) => showRequests || requestsAsked || event.action !== 'api.request';
  const visible = listing?.events.filter(shown) ?? [];
  const hiddenRequests = (listing?.events.length ?? 0) - visible.length;
  const checked = submitted ? toQuery(draft) : null;
  const problems: Problems = checked && 'problems' in checked ? checked.problems : {};
  const set = <K extends keyof Draft>(name: K, value: Draft[K]) =>
    setDraft((previous) => ({ ...previous, [name]: value }));
  const describedBy = (...idsOrNull: (string | null | false)[]) =>
    idsOrNull.filter(Boolean).join(' ') || undefined;

  return (
    <>
      <p className="muted">
        Who did what, when, from where: every key, service account and app change, sign-ins, refused
        credentials and rate-limit hits. Times are in UTC. The log is tamper-evident: Verify integrity finds
        an event edited, deleted or inserted behind the server's back.
      </p>

      {manage ? (
        <form className="panel audit-filters" aria-label="Filter the audit log" onSubmit={apply} noValidate>
          <div className="filter-grid">
            <div>
              <label htmlFor={ids.action}>Action</label>
              <input
                id={ids.action}
                type="text"
                list={ids.actions}
                value={draft.action}
                maxLength={100}
                spellCheck={false}
                autoComplete="off"
                onChange={(event) => set('action', event.currentTarget.value)}
                aria-invalid={problems.action !== undefined}
                aria-describedby={describedBy(
                  problems.action !== undefined && ids.actionError,
                  ids.actionHint,
                )}
                placeholder="e.g. api_key.revoked"
              />
              <datalist id={ids.actions}>
                {AUDIT_ACTION_NAMES.map((name) => (
                  <option key={name} value={name} />
                ))}
                {AUDIT_ACTION_PREFIXES.map((prefix) => (
                  <option key={prefix} value={prefix}>
                    {`Every ${prefix.slice(0, -1)} action`}
                  </option>
                ))}
              </datalist>
              <p id={ids.actionHint} className="field-hint">
                An action, or a prefix ending in “.” (<code>api_key.</code>) for every action of one kind.
              </p>
              {problems.action ? (
                <p id={ids.actionError} className="field-error">
                  {problems.action}
                </p>
              ) : null}
            </div>
            <div>
              <label htmlFor={ids.actor}>Actor ID</label>
              <input
                id={ids.actor}
                type="text"
                value={draft.actor_id}
                maxLength={100}
                spellCheck={false}
                autoComplete="off"
                onChange={(event) => set('actor_id', event.currentTarget.value)}
                placeholder="e.g. key_… or usr_…"
              />
            </div>
            <div>
              <label htmlFor={ids.target}>Target ID</label>
              <input
                id={ids.target}
                type="text"
                value={draft.target_id}
                maxLength={100}
                spellCheck={false}
                autoComplete="off"
                onChange={(event) => set('target_id', event.currentTarget.value)}
                placeholder="e.g. sa_…"
              />
            </div>
            <div>
              <label htmlFor={ids.result}>Result</label>
              <select
                id={ids.result}
                value={draft.result}
                onChange={(event) => set('result', event.currentTarget.value as Draft['result'])}
              >
                <option value="">Any</option>
                <option value="success">Success</option>
                <option value="failure">Failure</option>
              </select>
            </div>
            <div>
              <label htmlFor={ids.since}>Since (UTC)</label>
              <input
                id={ids.since}
                type="text"
                placeholder="YYYY-MM-DD HH:MM"
                maxLength={25}
                spellCheck={false}
                autoComplete="off"
                value={draft.since}
                onChange={(event) => set('since', event.currentTarget.value)}
                aria-invalid={problems.since !== undefined}
                aria-describedby={describedBy(problems.since !== undefined && ids.sinceError, ids.timeHint)}
              />
              {problems.since ? (
                <p id={ids.sinceError} className="field-error">
                  {problems.since}
                </p>
              ) : null}
            </div>
            <div>
              <label htmlFor={ids.until}>Until (UTC)</label>
              <input
                id={ids.until}
                type="text"
                placeholder="YYYY-MM-DD HH:MM"
                maxLength={25}
                spellCheck={false}
                autoComplete="off"
                value={draft.until}
                onChange={(event) => set('until', event.currentTarget.value)}
                aria-invalid={problems.until !== undefined}
                aria-describedby={describedBy(problems.until !== undefined && ids.untilError, ids.timeHint)}
              />
              {problems.until ? (
                <p id={ids.untilError} className="field-error">
                  {problems.until}
                </p>
              ) : null}
            </div>
          </div>
          <p id={ids.timeHint} className="field-hint">
            ISO 8601 in UTC, whatever your computer's time zone (<code>2026-11-22 10:00</code>, or a day{' '}
            <code>2026-11-22</code>); both ends are inclusive.
          </p>
          <div className="filter-actions">
            <button type="submit" className="button">
              Apply
            </button>
            <button type="button" className="button secondary" onClick={clear}>
              Clear
            </button>
          </div>
        </form>
      ) : null}

      {manage ? (
        <div className="toolbar">
          <p ref={summary} tabIndex={-1} className="muted" aria-live="polite">
            {listing
              ? `${formatCount(visible.length)} event${visible.length === 1 ? '' : 's'} shown${
                  hiddenRequests > 0 ? ` (${formatCount(hiddenRequests)} API requests hidden)` : ''
                }${listing.cursor ? ', more to load' : ''}${hasFilters(query) ? ' (filtered)' : ''}`
              : ''}
          </p>
          <label className="check">
            <input
              type="checkbox"
              checked={showRequests || requestsAsked}
              disabled={requestsAsked}
              onChange={(event) => setShowRequests(event.currentTarget.checked)}
            />
            Show API requests (<code>api.request</code>)
          </label>
          <span className="spacer" />
          <a
            className="button secondary"
            href={withQuery('/v1/audit-events/export', query)}
            download="audit-events.ndjson"
          >
            Export NDJSON
          </a>
          <button
            type="button"
            className="button secondary"
            onClick={verify}
            disabled={verification.state === 'busy'}
          >
            {verification.state === 'busy' ? 'Verifying…' : 'Verify integrity'}
          </button>
        </div>
      ) : null}

      <VerificationNotice verification={verification} />

      {loading && !listing ? <Loading what="audit events" /> : null}
      {failure && !failure.more ? (
        <ErrorNotice error={failure.error} onRetry={() => void read(query, null)} />
      ) : null}
      {listing && listing.events.length === 0 ? (
        <EmptyState title={hasFilters(query) ? 'No event matches these filters' : 'No audit events yet'}>
          <p>
            {hasFilters(query)
              ? 'Widen the time range, use an action prefix such as api_key., or clear the filters.'
              : 'Events appear here as keys, service accounts and apps are created and used.'}
          </p>
        </EmptyState>
      ) : null}
      {listing && listing.events.length > 0 && visible.length === 0 ? (
        <p className="muted">
          Only API requests in what was read so far: tick Show API requests, or load more.
        </p>
      ) : null}
      {visible.length > 0 ? (
        <div className="table-wrap">
          {/* When, what, who, on what, how it went; the rest (IP, request, chain, metadata) in Details. */}
          <table className="table audit-table stack-on-narrow">
            <caption className="visually-hidden">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                <th scope="col">Action</th>
                <th scope="col">Actor</th>
                <th scope="col">Target</th>
                <th scope="col">Result</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {visible.map((event) => (
                <tr key={event.id} data-event-id={event.id}>
                  <th scope="row" className="audit-time">
                    <time dateTime={event.at}>{formatSecond(event.at)}</time>
                  </th>
                  <td data-label="Action">
                    <code className="nowrap">{event.action}</code>
                  </td>
                  <td data-label="Actor" data-actor-id={event.actor.id}>
                    <Party party={event.actor} names={names.data} />
                  </td>
                  <td data-label="Target">
                    {event.target ? <Party party={event.target} names={names.data} /> : '—'}
                  </td>
                  <td data-label="Result">
                    <StatusBadge status={event.result} />
                  </td>
                  <td>
                    <details className="audit-details">
                      <summary>
                        Details<span className="visually-hidden"> of event {event.id}</span>
                      </summary>
                      <p className="small">
                        Event <code>{event.id}</code>, #{event.seq} in the chain · IP {event.ip ?? '—'}
                        {event.request_id ? (
                          <>
                            {' '}
                            · Request <code>{event.request_id}</code>
                          </>
                        ) : null}
                        {event.user_agent ? (
                          <>
                            {' '}
                            · User agent <code>{event.user_agent}</code>
                          </>
                        ) : null}
                      </p>
                      <pre>{JSON.stringify(event.metadata, null, 2)}</pre>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {failure?.more ? <ErrorNotice error={failure.error} onRetry={() => void loadMore()} /> : null}
      {listing?.cursor ? (
        <div className="toolbar load-more">
          <button
            type="button"
            className="button secondary"
            onClick={() => void loadMore()}
            disabled={loading}
          >
            {loading ? 'Loading…' : 'Load more'}
          </button>
        </div>
      ) : null}
    </>
  );
}

function VerificationNotice({ verification }: { verification: Verification }) {
  if (verification.state === 'failed') return <ErrorNotice error={verification.error} />;
  if (verification.state !== 'done') return null;
  const { ok, checked, first_bad } = verification.result;
  if (ok) {
    return (
      <div className="notice notice-ok" role="status">
        <p>
          All {formatCount(checked)} event{checked === 1 ? '' : 's'} verify: the log has not been altered.
        </p>
      </div>
    );
  }
  return (
    <div className="notice notice-error" role="alert">
      <p>
        <strong>The log has been altered.</strong>{' '}
        {first_bad === 'head' || first_bad === null ? (
          'The newest events were deleted: the chain ends before the event the server last recorded.'
        ) : (
          <>
            The first event that fails verification is <code>{first_bad}</code>: it, or what came just before
            it, was edited, deleted or inserted in the database behind the server's back.
          </>
        )}{' '}
        {formatCount(checked)} event{checked === 1 ? '' : 's'} checked.
      </p>
      <p>Compare with an exported copy of the log, and find out who can write to the database.</p>
    </div>
  );
}

/** An actor or a target: its name (a person's e-mail, a key's name) with the id in the tooltip. */
function Party({ party, names }: { party: { kind: string; id: string }; names: Names | null }) {
  const { kind, name } = describe(party, names);
  if (!name) {
    return (
      <span className="audit-party">
        <span className="muted small">{kind}</span> <code>{party.id}</code>
      </span>
    );
  }
  return (
    <span className="audit-party" title={`${party.kind}:${party.id}`}>
      <span className="muted small">{kind}</span> {name}
    </span>
  );
}
