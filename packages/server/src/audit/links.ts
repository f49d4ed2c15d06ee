/**
 * An org's chain as stored: its links are events (`audit_events`, one per row) and segments
 * (`audit_segments`, a run of API-call events each), interleaved by sequence number. Verification, retention
 * and the operator's reseal walk links; listing and export open segments into events (routes.ts).
 */
import type { Kysely, Transaction } from 'kysely';
import type { AuditEventsTable, AuditSegmentsTable, DB } from '../storage/schema.ts';
import { segmentSize } from './segments.ts';

type Executor = Kysely<DB> | Transaction<DB>;

/** One link of the chain: an event, or a segment of events. */
export type ChainLink =
  | { kind: 'event'; seqFirst: number; seqLast: number; row: AuditEventsTable }
  | { kind: 'segment'; seqFirst: number; seqLast: number; row: AuditSegmentsTable };

/** The id named for a link in a verdict: the event's, or the segment's first event's. */
export function linkId(link: ChainLink): string {
  return link.kind === 'event' ? link.row.id : link.row.id_first;
}

/** The id of a link's last event. */
export function linkLastId(link: ChainLink): string {
  return link.kind === 'event' ? link.row.id : link.row.id_last;
}

export function linkSize(link: ChainLink): number {
  return link.kind === 'event' ? 1 : segmentSize(link.row);
}

export const eventLink = (row: AuditEventsTable): ChainLink => ({
  kind: 'event',
  seqFirst: Number(row.seq),
  seqLast: Number(row.seq),
  row,
});

export const segmentLink = (row: AuditSegmentsTable): ChainLink => ({
  kind: 'segment',
  seqFirst: Number(row.seq_first),
  seqLast: Number(row.seq_last),
  row,
});

const PAGE = 500;

/**
 * The org's links after `afterSeq`, in chain order: both tables are read a page at a time and merged, so
 * a long chain holds two pages in memory. A segment is placed by its first event, an event by its own.
 */
export async function* chainLinks(db: Executor, orgId: string, afterSeq: number): AsyncGenerator<ChainLink> {
  const events = pages(async (after) =>
    (
      await db
        .selectFrom('audit_events')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(PAGE)
        .execute()
    ).map(eventLink),
  );
  const segments = pages(async (after) =>
    (
      await db
        .selectFrom('audit_segments')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('seq_last', '>', after)
        .orderBy('seq_last')
        .limit(PAGE)
        .execute()
    ).map(segmentLink),
  );
  let event = await events.next(afterSeq);
  let segment = await segments.next(afterSeq);
  while (event || segment) {
    if (event && (!segment || event.seqFirst <= segment.seqFirst)) {
      yield event;
      event = await events.next(event.seqLast);
    } else if (segment) {
      yield segment;
      segment = await segments.next(segment.seqLast);
    }
  }
}

/** A reader of one table's links in order, a page at a time; `next(after)` gives the link after the last. */
function pages(load: (after: number) => Promise<ChainLink[]>) {
  let page: ChainLink[] = [];
  let index = 0;
  let done = false;
  return {
    async next(after: number): Promise<ChainLink | undefined> {
      if (index >= page.length) {
        if (done) return undefined;
        page = await load(after);
        index = 0;
        done = page.length < PAGE;
        if (page.length === 0) return undefined;
      }
      return page[index++];
    },
  };
}

/** The org's newest link's end: where a head rebuilt after a deletion continues. */
export async function newestLink(db: Executor, orgId: string): Promise<{ seq: number; hash: string } | null> {
  const event = await db
    .selectFrom('audit_events')
    .select(['seq', 'hash'])
    .where('org_id', '=', orgId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const segment = await db
    .selectFrom('audit_segments')
    .select(['seq_last as seq', 'hash'])
    .where('org_id', '=', orgId)
    .orderBy('seq_last', 'desc')
    .limit(1)
    .executeTakeFirst();
  const newest = [event, segment]
    .filter((link) => link !== undefined)
    .sort((a, b) => Number(b.seq) - Number(a.seq))[0];
  return newest ? { seq: Number(newest.seq), hash: newest.hash } : null;
}

/** The org's oldest link's start: where a head rebuilt after a deletion says retention cut. */
export async function oldestLink(
  db: Executor,
  orgId: string,
): Promise<{ seq: number; prevHash: string } | null> {
  const event = await db
    .selectFrom('audit_events')
    .select(['seq', 'prev_hash'])
    .where('org_id', '=', orgId)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  const segment = await db
    .selectFrom('audit_segments')
    .select(['seq_first as seq', 'prev_hash'])
    .where('org_id', '=', orgId)
    .orderBy('seq_last')
    .limit(1)
    .executeTakeFirst();
  const oldest = [event, segment]
    .filter((link) => link !== undefined)
    .sort((a, b) => Number(a.seq) - Number(b.seq))[0];
  return oldest ? { seq: Number(oldest.seq), prevHash: oldest.prev_hash } : null;
}

/** Whether the org has any event stored, as a row or in a segment. */
export async function hasEvents(db: Executor, orgId: string): Promise<boolean> {
  const event = await db
    .selectFrom('audit_events')
    .select('org_id')
    .where('org_id', '=', orgId)
    .limit(1)
    .executeTakeFirst();
  if (event) return true;
  const segment = await db
    .selectFrom('audit_segments')
    .select('org_id')
    .where('org_id', '=', orgId)
    .limit(1)
    .executeTakeFirst();
  return segment !== undefined;
}

/** The id of a link that starts at or before `seq` (retention's cut): one was put there. */
export async function linkAtOrBefore(db: Executor, orgId: string, seq: number): Promise<string | null> {
  const event = await db
    .selectFrom('audit_events')
    .select('id')
    .where('org_id', '=', orgId)
    .where('seq', '<=', seq)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  if (event) return event.id;
  const segment = await db
    .selectFrom('audit_segments')
    .select('id_first')
    .where('org_id', '=', orgId)
    .where('seq_first', '<=', seq)
    .orderBy('seq_last')
    .limit(1)
    .executeTakeFirst();
  return segment?.id_first ?? null;
}

/** Deletes the org's links up to and including `seq`; returns how many events went. */
export async function deleteThrough(trx: Executor, orgId: string, seq: number): Promise<number> {
  const events = await trx
    .deleteFrom('audit_events')
    .where('org_id', '=', orgId)
    .where('seq', '<=', seq)
    .executeTakeFirst();
  const segments = await trx
    .deleteFrom('audit_segments')
    .where('org_id', '=', orgId)
    .where('seq_last', '<=', seq)
    .returning(['seq_first', 'seq_last'])
    .execute();
  return segments.reduce((sum, segment) => sum + segmentSize(segment), Number(events.numDeletedRows));
}
