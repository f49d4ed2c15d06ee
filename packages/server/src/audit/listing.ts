/**
 * Reading events for `/v1/audit-events` and its export: events stored one per row and API-call events
 * stored in segments (segments.ts) come out as one list. Filters run in SQL on rows; on segments, SQL skips
 * the segments that cannot match (by their id and time bounds, actors and failure count), and the events of
 * the rest are filtered here with the same rules.
 */
import { type Kysely, sql } from 'kysely';
import type { AuditSegmentsTable, DB } from '../storage/schema.ts';
import { type AuditEventRecord, CALL_ACTION, openSegment } from './segments.ts';

/** The list filters, times already made into the stored format (inclusive bounds). */
export interface EventFilters {
  /** An action, or a prefix ending in ".". */
  action?: string;
  actor_id?: string;
  target_id?: string;
  result?: 'success' | 'failure';
  since?: string;
  until?: string;
}

/** The org's event rows matching the filters (the tenant is the first condition of every query). */
function filteredRows(db: Kysely<DB>, orgId: string, filters: EventFilters) {
  let query = db.selectFrom('audit_events').selectAll().where('org_id', '=', orgId);
  const { action } = filters;
  if (action !== undefined) {
    // A prefix compares the first characters exactly (LIKE would treat `_` as a wildcard).
    query = action.endsWith('.')
      ? query.where(sql<string>`substr(action, 1, ${action.length})`, '=', action)
      : query.where('action', '=', action);
  }
  if (filters.actor_id !== undefined) query = query.where('actor_id', '=', filters.actor_id);
  if (filters.target_id !== undefined) query = query.where('target_id', '=', filters.target_id);
  if (filters.result !== undefined) query = query.where('result', '=', filters.result);
  if (filters.since !== undefined) query = query.where('at', '>=', filters.since);
  if (filters.until !== undefined) query = query.where('at', '<=', filters.until);
  return query;
}

/** Whether a segment's events (all `api.request`, none with a target) can match the filters at all. */
function segmentsMayMatch(filters: EventFilters): boolean {
  if (filters.target_id !== undefined) return false;
  const { action } = filters;
  if (action === undefined) return true;
  return action.endsWith('.') ? CALL_ACTION.startsWith(action) : action === CALL_ACTION;
}

/** The org's segments that may hold a matching event; every bound here is one the event filter repeats. */
function filteredSegments(db: Kysely<DB>, orgId: string, filters: EventFilters) {
  let query = db.selectFrom('audit_segments').selectAll().where('org_id', '=', orgId);
  if (filters.since !== undefined) query = query.where('at_last', '>=', filters.since);
  if (filters.until !== undefined) query = query.where('at_first', '<=', filters.until);
  if (filters.result === 'failure') query = query.where('failures', '>', 0);
  if (filters.result === 'success') {
    query = query.where(sql<boolean>`failures < seq_last - seq_first + 1`);
  }
  if (filters.actor_id !== undefined) {
    // The id's characters escaped, so `%`, `_` and `\` in a filter are plain characters (and a trailing `\`
    // no error on PostgreSQL). Still a superset (SQLite's LIKE folds case; one id inside another matches):
    // the events are checked exactly afterwards.
    const escaped = filters.actor_id.replace(/[\\%_]/g, (c) => `\\${c}`);
    query = query.where(sql<boolean>`actor_ids like ${`%${escaped}%`} escape '\\'`);
  }
  return query;
}

/** The filter on one event opened from a segment: the same rules as the SQL on rows. */
function matches(event: AuditEventRecord, filters: EventFilters): boolean {
  if (filters.actor_id !== undefined && event.actor_id !== filters.actor_id) return false;
  if (filters.result !== undefined && event.result !== filters.result) return false;
  if (filters.since !== undefined && event.at < filters.since) return false;
  if (filters.until !== undefined && event.at > filters.until) return false;
  return true;
}

/** Segments scanned per query while listing: most pages need one or two. */
const SEGMENT_PAGE = 8;

/**
 * Up to `count` matching events with ids below `before` (all when null), newest first by id: the rows'
 * best and the segments' best, merged. Segments are visited by their newest id, and the walk stops at the
 * first whose newest id is below the `count`-th event found: none after it can hold a better one.
 */
export async function listEvents(
  db: Kysely<DB>,
  orgId: string,
  filters: EventFilters,
  before: string | null,
  count: number,
): Promise<AuditEventRecord[]> {
  let rowsQuery = filteredRows(db, orgId, filters);
  if (before !== null) rowsQuery = rowsQuery.where('id', '<', before);
  const found: AuditEventRecord[] = await rowsQuery.orderBy('id', 'desc').limit(count).execute();
  if (!segmentsMayMatch(filters)) return found;
  let segmentsQuery = filteredSegments(db, orgId, filters);
  if (before !== null) segmentsQuery = segmentsQuery.where('id_first', '<', before);
  let below: string | null = null;
  for (;;) {
    let page = segmentsQuery;
    if (below !== null) page = page.where('id_last', '<', below);
    const segments: AuditSegmentsTable[] = await page
      .orderBy('id_last', 'desc')
      .limit(SEGMENT_PAGE)
      .execute();
    for (const segment of segments) {
      const worst = found.length >= count ? (found[count - 1] as AuditEventRecord).id : null;
      if (worst !== null && segment.id_last < worst) return found;
      for (const event of openSegment(segment)) {
        if ((before === null || event.id < before) && matches(event, filters)) found.push(event);
      }
      found.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
      if (found.length > count) found.length = count;
    }
    if (segments.length < SEGMENT_PAGE) return found;
    below = (segments.at(-1) as AuditSegmentsTable).id_last;
  }
}

/** Every matching event in chain order (by `seq`), a page of each table at a time. */
export async function* exportEvents(
  db: Kysely<DB>,
  orgId: string,
  filters: EventFilters,
): AsyncGenerator<AuditEventRecord> {
  const rows = (async function* () {
    let afterSeq = 0;
    for (;;) {
      const page = await filteredRows(db, orgId, filters)
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(500)
        .execute();
      yield* page;
      if (page.length < 500) return;
      afterSeq = Number((page.at(-1) as AuditEventRecord).seq);
    }
  })();
  const segmentEvents = (async function* () {
    if (!segmentsMayMatch(filters)) return;
    let afterSeq = 0;
    for (;;) {
      const page = await filteredSegments(db, orgId, filters)
        .where('seq_last', '>', afterSeq)
        .orderBy('seq_last')
        .limit(SEGMENT_PAGE)
        .execute();
      for (const segment of page) {
        for (const event of openSegment(segment)) if (matches(event, filters)) yield event;
      }
      if (page.length < SEGMENT_PAGE) return;
      afterSeq = Number((page.at(-1) as AuditSegmentsTable).seq_last);
    }
  })();
  let row = await rows.next();
  let call = await segmentEvents.next();
  while (!row.done || !call.done) {
    if (!row.done && (call.done || Number(row.value.seq) < Number(call.value.seq))) {
      yield row.value;
      row = await rows.next();
    } else if (!call.done) {
      yield call.value;
      call = await segmentEvents.next();
    }
  }
}
