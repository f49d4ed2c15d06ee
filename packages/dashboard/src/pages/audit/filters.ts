/**
 * The audit log's filters: the form's draft, read into the query `GET /v1/audit-events` takes, or into
 * what is wrong with it (the server's own rules, checked first here). Pure, so the unit tests run it.
 */
import type { Query } from '../../api/client.ts';

export interface Draft {
  action: string;
  actor_id: string;
  target_id: string;
  result: '' | 'success' | 'failure';
  since: string;
  until: string;
}

export const NO_FILTERS: Draft = {
  action: '',
  actor_id: '',
  target_id: '',
  result: '',
  since: '',
  until: '',
};

/**
 * A typed UTC time, ISO 8601 as everywhere in the dashboard: `2026-11-22 10:00` (or with a `T`) →
 * `2026-11-22T10:00:00Z`, and a bare day `2026-11-22` → its first second. As the end of a range the whole
 * minute (or day) counts (`…T10:00:59Z`): the server's `until` is inclusive to the second, and a person
 * who types 10:00 means events up to 10:00 on the clock, not only those of its first second. A text field,
 * not `datetime-local`, whose picker shows the browser's locale format (mm/dd/yyyy) and its local time.
 */
export function utcFromLocalInput(value: string, end = false): string | null {
  const match = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?)?$/.exec(value.trim());
  if (!match) return null;
  const day = match[1] ?? '';
  const iso = match[2]
    ? `${day}T${match[2]}:${end ? '59' : '00'}Z`
    : `${day}T${end ? '23:59:59' : '00:00:00'}Z`;
  const ms = Date.parse(iso);
  // 2026-02-31 is not a day (and must not quietly become March 3rd).
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day) return null;
  return iso;
}

export type Problems = Partial<Record<keyof Draft, string>>;

/** The query the form asks for, or what is wrong with it (the server's own rules, checked first here). */
export function toQuery(draft: Draft): { query: Query } | { problems: Problems } {
  const problems: Problems = {};
  const action = draft.action.trim();
  if (action && !/^[a-z_.]+$/.test(action)) {
    problems.action = 'Use an action such as api_key.created, or a prefix ending in “.” such as api_key.';
  }
  const since = draft.since ? utcFromLocalInput(draft.since) : null;
  const until = draft.until ? utcFromLocalInput(draft.until, true) : null;
  if (draft.since && !since) problems.since = 'Enter a UTC time as YYYY-MM-DD HH:MM, or a day as YYYY-MM-DD.';
  if (draft.until && !until) problems.until = 'Enter a UTC time as YYYY-MM-DD HH:MM, or a day as YYYY-MM-DD.';
  if (since && until && since > until) problems.until = 'Until must not be before since.';
  if (Object.keys(problems).length > 0) return { problems };
  return {
    query: {
      action,
      actor_id: draft.actor_id.trim(),
      target_id: draft.target_id.trim(),
      result: draft.result,
      since,
      until,
    },
  };
}

export function hasFilters(query: Query): boolean {
  return Object.values(query).some((value) => value !== undefined && value !== null && value !== '');
}
