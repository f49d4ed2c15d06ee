/**
 * Audit segments: how the API-call events (`api.request`) of one flush are stored, as one row of
 * `audit_segments` that is one link of the org's chain (migration 0016). Under COHERA_AUDIT_API_CALLS=all an
 * event is written for every request; one row and one HMAC per event cost about a third of the request
 * itself, one row and one HMAC per flush cost almost nothing per event. The events are still separate
 * events to everyone who reads the log: listing, export and verification open segments (routes.ts,
 * links.ts), and every event keeps its own id, time and place (`seq`) in the chain.
 *
 * The events column is a JSON array of arrays, in UTF-8 compressed with raw DEFLATE (RFC 1951, level 1). A
 * call is `[id, at, actor kind, actor id, result, ip, user agent, request id, {metadata}]` (EncodedEvent, the
 * metadata as an object, not a string inside a string), or `[id, at, request id]` (RepeatedEvent) when its
 * actor, result, IP, user agent and metadata are those of the call before it in the segment: a client's
 * calls to one route repeat them, and the short form is what most calls are. Writing the repeated fields
 * again, then having DEFLATE find them again, was a third of an audited call's cost. What remains of a call
 * compresses to about a tenth, and compressing costs less than the database writing the bytes it saves
 * (twice: to its log, then to its file) and the MAC hashing them. The chain's MAC covers the stored bytes,
 * so a segment is never re-encoded, and verifying never inflates one. Segments written before the short
 * form have full calls only, which `openSegment` reads as ever.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { isoAt, writeIsoAt } from '../clock.ts';
import type { AuditEventsTable, AuditSegmentsTable } from '../storage/schema.ts';

/** The action a segment's events have: the only high-volume one with no target. */
export const CALL_ACTION = 'api.request';

/** A segment holds at most this many events, so that listing opens small rows (a flush makes several). */
export const SEGMENT_MAX_EVENTS = 1000;

/** An event as the API shows it: a stored row or an event opened from a segment (no per-event hash). */
export type AuditEventRecord = Omit<AuditEventsTable, 'prev_hash' | 'hash'>;

/** One call as a segment stores it: id, time, actor kind and id, result, IP, user agent, request id, metadata. */
type EncodedEvent = [
  string,
  string,
  string,
  string,
  'success' | 'failure',
  string | null,
  string | null,
  string | null,
  Record<string, unknown>,
];

/** A call whose actor, result, IP, user agent and metadata are those of the call before it: id, time, request id. */
type RepeatedEvent = [string, string, string | null];

/**
 * A call's id as its generator holds it (MonotonicIds): the ids a segment is given come from one generator,
 * in the order it made them, so that two ids of the same draw sort in the order they came.
 */
export interface CallId {
  /** The id, one byte per (ASCII) character. */
  readonly ascii: Uint8Array;
  /** Which draw of its generator the id belongs to. */
  readonly draws: number;
}

/** A segment but for its place in the chain (`prev_hash`, `hash`), which the chain gives it. */
export type UnlinkedSegment = Omit<AuditSegmentsTable, 'prev_hash' | 'hash'>;

/** The first size of a pending segment's bytes: most of a segment of small calls, grown by doubling. */
const PENDING_INITIAL_BYTES = 128 * 1024;
const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;

/** The JSON (UTF-8) of metadata objects frozen by their maker to be shared (app.ts memoizes one per route and status). */
const frozenJson = new WeakMap<object, Buffer>();

function metadataJson(metadata: Readonly<Record<string, unknown>>): Buffer {
  if (!Object.isFrozen(metadata)) return Buffer.from(JSON.stringify(metadata));
  let json = frozenJson.get(metadata);
  if (json === undefined) {
    json = Buffer.from(JSON.stringify(metadata));
    frozenJson.set(metadata, json);
  }
  return json;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Writes `text` as a JSON string at `at` if it is printable ASCII with no quote or backslash (what ids, times
 * and request ids are), one byte per character: its JSON is then the text in quotes. Returns the end, or -1
 * for text JSON.stringify must escape or encode, leaving the bytes after `at` unspecified.
 */
function writePlainString(bytes: Buffer, at: number, text: string): number {
  let end = at;
  bytes[end++] = QUOTE;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === QUOTE || code === BACKSLASH) return -1;
    bytes[end++] = code;
  }
  bytes[end++] = QUOTE;
  return end;
}

/** Writes `text` (or null) as JSON at `at`; returns the end. */
function writeJsonString(bytes: Buffer, at: number, text: string | null): number {
  if (text === null) return at + bytes.write('null', at, 'latin1');
  const end = writePlainString(bytes, at, text);
  return end >= 0 ? end : at + bytes.write(JSON.stringify(text), at);
}

/**
 * The calls of one org waiting for their segment, each encoded at once into the segment's text, as UTF-8
 * in a buffer outside the JavaScript heap. Nothing of a call stays on the heap until the flush: a string
 * per call (as before) lived through several young-generation collections while the segment filled, was
 * copied by each and then promoted, and the old generation's collections cost the main thread ~1.3 µs a
 * call under COHERA_AUDIT_API_CALLS=all; the segment's text also needed a join and an encoding pass. The
 * bounds beside the events are kept as calls come.
 */
export class PendingSegment {
  readonly orgId: string;
  #bytes: Buffer = Buffer.allocUnsafe(PENDING_INITIAL_BYTES);
  /** Bytes of `#bytes` written: `[` and the calls so far, comma-separated (the `]` is added by encode). */
  #length = 0;
  #count = 0;
  /**
   * Where the smallest and the largest id so far are in `#bytes` (their text is read back from there by
   * `encode`), and the draw of the largest: a call of that draw is the new largest without a comparison.
   */
  #idMinAt = 0;
  #idMaxAt = 0;
  #idMaxDraws = 0;
  #idLength = 0;
  /** The earliest and latest times so far (ms): their text is made by `encode`. */
  #msFirst = 0;
  #msLast = 0;
  #actors = new Set<string>();
  #failures = 0;
  /**
   * The JSON of the last call's middle fields (actor kind and id, result, IP, user agent), with the commas
   * around them, and the fields it was made of. A client's calls repeat them, and re-encoding them was most
   * of a call's cost: a call that repeats them copies the bytes.
   */
  #middle: Buffer = Buffer.alloc(0);
  /** The middle fields and the metadata the last call was written with (the short form repeats them). */
  #lastMiddle: Buffer | null = null;
  #lastMeta: Buffer | null = null;
  /** The last call's metadata object and actor: a client's next call has the same ones (no lookup then). */
  #lastMetadata: Readonly<Record<string, unknown>> | null = null;
  #lastActor = '';
  #middleOf: [string, string, string, string | null, string | null] = ['', '', '', null, null];

  constructor(orgId: string) {
    this.orgId = orgId;
  }

  get size(): number {
    return this.#count;
  }

  /**
   * One call: its id as its generator holds it, its time (ms), then its fields as they are, in the order its
   * JSON keeps them (positional: the request path builds no event object for it). The id and the time are
   * written from bytes, not text (MonotonicIds, writeIsoAt): most of a call's cost was building their
   * strings, flattening them and reading them back a character at a time. The metadata is written as an
   * object; a frozen one is a caller's memo, shared by every call of a credential to a route with one status,
   * and its JSON is made once (`metadataJson`).
   */
  add(
    id: CallId,
    ms: number,
    actorKind: string,
    actorId: string,
    result: 'success' | 'failure',
    ip: string | null,
    userAgent: string | null,
    requestId: string | null,
    metadata: Readonly<Record<string, unknown>>,
  ): void {
    if (actorId !== this.#lastActor) {
      this.#actors.add(actorId);
      this.#lastActor = actorId;
    }
    if (result === 'failure') this.#failures++;
    const ascii = id.ascii;
    const middle = this.#middleFor(actorKind, actorId, result, ip, userAgent);
    // The same frozen object as the last call's is the same JSON (a frozen object cannot change). Asking
    // whether an object is frozen is a call into C++: only a new object is asked.
    let meta: Buffer;
    if (metadata === this.#lastMetadata && this.#lastMeta !== null) meta = this.#lastMeta;
    else {
      meta = metadataJson(metadata);
      this.#lastMetadata = Object.isFrozen(metadata) ? metadata : null;
    }
    // `[id,at,kind,actor,result,ip,agent,requestId,{metadata}]`, or `[id,at,requestId]` for a repeat, byte
    // for byte the text JSON.stringify gives (a test holds them equal), written in place: no string of the
    // call is made. A frozen metadata object's JSON and unchanged middle fields are the same Buffer as the
    // last call's (metadataJson, #middleFor); other metadata is a new Buffer, and never a repeat.
    const repeat = middle === this.#lastMiddle && meta === this.#lastMeta;
    // The id is ASCII with no quote or backslash (base62 and a prefix); the time is at most 30 characters
    // (`toISOString` of any date); a UTF-16 code unit of the request id is at most 6 bytes escaped;
    // brackets, quotes and commas, 12 at most.
    const needed =
      this.#length +
      ascii.length +
      30 +
      (requestId?.length ?? 4) * 6 +
      (repeat ? 0 : middle.length + meta.length) +
      12;
    if (needed > this.#bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.#bytes.length * 2));
      this.#bytes.copy(grown, 0, 0, this.#length);
      this.#bytes = grown;
    }
    const bytes = this.#bytes;
    let end = this.#length;
    bytes[end++] = this.#count === 0 ? OPEN_BRACKET : COMMA;
    bytes[end++] = OPEN_BRACKET;
    bytes[end++] = QUOTE;
    const idAt = end;
    for (let i = 0; i < ascii.length; i++) bytes[end++] = ascii[i] as number;
    bytes[end++] = QUOTE;
    bytes[end++] = COMMA;
    bytes[end++] = QUOTE;
    const timeEnd = writeIsoAt(bytes, end, ms);
    if (timeEnd >= 0) {
      bytes[timeEnd] = QUOTE;
      end = timeEnd + 1;
    } else {
      // A year `toISOString` writes with six digits: its text, over the opening quote.
      end = writeJsonString(bytes, end - 1, isoAt(ms));
    }
    if (repeat) {
      bytes[end++] = COMMA;
      end = writeJsonString(bytes, end, requestId);
    } else {
      bytes.set(middle, end);
      end += middle.length;
      end = writeJsonString(bytes, end, requestId);
      bytes[end++] = COMMA;
      bytes.set(meta, end);
      end += meta.length;
      this.#lastMiddle = middle;
      this.#lastMeta = meta;
    }
    bytes[end++] = CLOSE_BRACKET;
    this.#length = end;
    this.#bound(idAt, ascii.length, id.draws, ms);
    this.#count++;
  }

  /**
   * Keeps the bounds (listing's pre-filter and retention read them) with the call just written, whose id is
   * at `idAt`. Calls come in the order they were recorded, and the ids of one draw sort in that order: a call
   * of the largest id's draw is the new largest. Only after a draw (every 65,536 ids, or when the clock went
   * back) are the bytes compared. Times are compared as numbers: the clock can go back.
   */
  #bound(idAt: number, idLength: number, draws: number, ms: number): void {
    if (this.#count === 0) {
      this.#idMinAt = this.#idMaxAt = idAt;
      this.#idMaxDraws = draws;
      this.#idLength = idLength;
      this.#msFirst = this.#msLast = ms;
      return;
    }
    if (draws === this.#idMaxDraws) this.#idMaxAt = idAt;
    else if (this.#compareIds(idAt, this.#idMaxAt) > 0) {
      this.#idMaxAt = idAt;
      this.#idMaxDraws = draws;
    } else if (this.#compareIds(idAt, this.#idMinAt) < 0) this.#idMinAt = idAt;
    if (ms > this.#msLast) this.#msLast = ms;
    else if (ms < this.#msFirst) this.#msFirst = ms;
  }

  /** Compares two ids written in `#bytes` (ASCII, as their text sorts); ids of one kind have one length. */
  #compareIds(a: number, b: number): number {
    const bytes = this.#bytes;
    for (let i = 0; i < this.#idLength; i++) {
      const difference = (bytes[a + i] as number) - (bytes[b + i] as number);
      if (difference !== 0) return difference;
    }
    return 0;
  }

  /** `,"kind","actor","result",ip,agent,` as UTF-8: the last call's when they are the same. */
  #middleFor(
    actorKind: string,
    actorId: string,
    result: string,
    ip: string | null,
    userAgent: string | null,
  ): Buffer {
    const last = this.#middleOf;
    if (
      last[0] === actorKind &&
      last[1] === actorId &&
      last[2] === result &&
      last[3] === ip &&
      last[4] === userAgent &&
      this.#middle.length > 0
    ) {
      return this.#middle;
    }
    const json = JSON.stringify([actorKind, actorId, result, ip, userAgent]);
    // The array's JSON with its brackets turned into the commas around the fields.
    this.#middle = Buffer.from(`,${json.slice(1, -1)},`);
    this.#middleOf = [actorKind, actorId, result, ip, userAgent];
    return this.#middle;
  }

  /** The events' JSON text, as UTF-8 (a view of the pending bytes). */
  #text(): Buffer {
    this.#bytes[this.#length] = CLOSE_BRACKET;
    return this.#bytes.subarray(0, this.#length + 1);
  }

  /** The segment of these calls starting at `seqFirst` (at least one call). */
  encode(seqFirst: number): UnlinkedSegment {
    return {
      org_id: this.orgId,
      seq_first: seqFirst,
      seq_last: seqFirst + this.#count - 1,
      id_first: this.#bytes.toString('latin1', this.#idMinAt, this.#idMinAt + this.#idLength),
      id_last: this.#bytes.toString('latin1', this.#idMaxAt, this.#idMaxAt + this.#idLength),
      at_first: isoAt(this.#msFirst),
      at_last: isoAt(this.#msLast),
      failures: this.#failures,
      actor_ids: [...this.#actors].join(' '),
      events: deflateRawSync(this.#text(), { level: 1 }),
    };
  }
}

/**
 * The most a segment's events may inflate to: far above what SEGMENT_MAX_EVENTS calls make (each at most a
 * few kilobytes), so that a row altered into a decompression bomb fails to open instead of filling memory.
 */
const MAX_OPENED_BYTES = 64 * 1024 * 1024;

/** The events of a segment, as the API shows events, in chain order. */
export function openSegment(segment: AuditSegmentsTable): AuditEventRecord[] {
  const text = inflateRawSync(segment.events, { maxOutputLength: MAX_OPENED_BYTES }).toString('utf8');
  const encoded = JSON.parse(text) as (EncodedEvent | RepeatedEvent)[];
  const seqFirst = Number(segment.seq_first);
  const events: AuditEventRecord[] = [];
  let last: AuditEventRecord | null = null;
  for (const [index, call] of encoded.entries()) {
    let event: AuditEventRecord;
    if (call.length === 3) {
      // A repeat of the call before it; the first call of a segment is always written whole.
      if (last === null) throw new Error(`audit segment at seq ${seqFirst} starts with a repeated call`);
      event = { ...last, id: call[0], seq: seqFirst + index, at: call[1], request_id: call[2] };
    } else {
      event = {
        id: call[0],
        org_id: segment.org_id,
        seq: seqFirst + index,
        at: call[1],
        actor_kind: call[2],
        actor_id: call[3],
        action: CALL_ACTION,
        target_kind: null,
        target_id: null,
        result: call[4],
        ip: call[5],
        user_agent: call[6],
        request_id: call[7],
        metadata: JSON.stringify(call[8]),
      };
    }
    events.push(event);
    last = event;
  }
  return events;
}

/** The number of events in a segment. */
export function segmentSize(segment: Pick<AuditSegmentsTable, 'seq_first' | 'seq_last'>): number {
  return Number(segment.seq_last) - Number(segment.seq_first) + 1;
}
