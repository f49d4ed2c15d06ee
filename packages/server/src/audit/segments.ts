/**
 * Audit segments: how the API-call events (`api.request`) of one flush are stored, as one row of
 * `audit_segments` that is one link of the org's chain (migration 0016). Under COHERA_AUDIT_API_CALLS=all an
 * event is written for every request; one row and one HMAC per event cost about a third of the request
 * itself, one row and one HMAC per flush cost almost nothing per event. The events are still separate
 * events to everyone who reads the log: listing, export and verification open segments (routes.ts,
 * links.ts), and every event keeps its own id, time and place (`seq`) in the chain.
 *
 * The events column is a JSON array of arrays in SEGMENT_FIELDS order, the metadata as an object (not a
 * string inside a string). The chain's MAC covers the column's exact text, so it is never re-encoded.
 */
import type { AuditEventsTable, AuditSegmentsTable } from '../storage/schema.ts';

/** The action a segment's events have: the only high-volume one with no target. */
export const CALL_ACTION = 'api.request';

/** A segment holds at most this many events, so that listing opens small rows (a flush makes several). */
export const SEGMENT_MAX_EVENTS = 1000;

/** An API-call event as buffered: metadata still an object, encoded with its segment in one pass. */
export interface CallEvent {
  id: string;
  org_id: string;
  at: string;
  actor_kind: string;
  actor_id: string;
  result: 'success' | 'failure';
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  metadata: Record<string, unknown>;
}

/** An event as the API shows it: a stored row or an event opened from a segment (no per-event hash). */
export type AuditEventRecord = Omit<AuditEventsTable, 'prev_hash' | 'hash'>;

type EncodedEvent = [
  id: string,
  at: string,
  actorKind: string,
  actorId: string,
  result: 'success' | 'failure',
  ip: string | null,
  userAgent: string | null,
  requestId: string | null,
  metadata: Record<string, unknown>,
];

/** A segment but for its place in the chain (`prev_hash`, `hash`), which the chain gives it. */
export type UnlinkedSegment = Omit<AuditSegmentsTable, 'prev_hash' | 'hash'>;

/** The segment of `calls` (one org's, in order, at least one) starting at `seqFirst`. */
export function encodeSegment(orgId: string, seqFirst: number, calls: readonly CallEvent[]): UnlinkedSegment {
  const encoded: EncodedEvent[] = new Array(calls.length);
  const actors = new Set<string>();
  let failures = 0;
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i] as CallEvent;
    encoded[i] = [
      call.id,
      call.at,
      call.actor_kind,
      call.actor_id,
      call.result,
      call.ip,
      call.user_agent,
      call.request_id,
      call.metadata,
    ];
    actors.add(call.actor_id);
    if (call.result === 'failure') failures++;
  }
  const first = calls[0] as CallEvent;
  const last = calls[calls.length - 1] as CallEvent;
  return {
    org_id: orgId,
    seq_first: seqFirst,
    seq_last: seqFirst + calls.length - 1,
    // Events are recorded in time order on one node, but ids and times carry the recording node's clock:
    // the first and last are bounds only for listing's pre-filter, so the true bounds are taken.
    id_first: minOf(calls, 'id', first.id),
    id_last: maxOf(calls, 'id', last.id),
    at_first: minOf(calls, 'at', first.at),
    at_last: maxOf(calls, 'at', last.at),
    failures,
    actor_ids: [...actors].join(' '),
    events: JSON.stringify(encoded),
  };
}

function minOf(calls: readonly CallEvent[], field: 'id' | 'at', start: string): string {
  let min = start;
  for (const call of calls) if (call[field] < min) min = call[field];
  return min;
}

function maxOf(calls: readonly CallEvent[], field: 'id' | 'at', start: string): string {
  let max = start;
  for (const call of calls) if (call[field] > max) max = call[field];
  return max;
}

/** The events of a segment, as the API shows events, in chain order. */
export function openSegment(segment: AuditSegmentsTable): AuditEventRecord[] {
  const encoded = JSON.parse(segment.events) as EncodedEvent[];
  const seqFirst = Number(segment.seq_first);
  return encoded.map((event, index) => ({
    id: event[0],
    org_id: segment.org_id,
    seq: seqFirst + index,
    at: event[1],
    actor_kind: event[2],
    actor_id: event[3],
    action: CALL_ACTION,
    target_kind: null,
    target_id: null,
    result: event[4],
    ip: event[5],
    user_agent: event[6],
    request_id: event[7],
    metadata: JSON.stringify(event[8]),
  }));
}

/** The number of events in a segment. */
export function segmentSize(segment: Pick<AuditSegmentsTable, 'seq_first' | 'seq_last'>): number {
  return Number(segment.seq_last) - Number(segment.seq_first) + 1;
}
