/**
 * The audit log every part of the server records through (DESIGN §5.4). Two ways in:
 *
 * - `record(trx, event)`: for management actions, inside the transaction of the change it describes, so an
 *   acknowledged change always has its event (and a failed change none).
 * - `enqueue(event)`: for high-volume events (failed authentication, rate-limit hits, API calls), into a
 *   bounded buffer flushed in batches off the request path, and on graceful shutdown. A full buffer never
 *   blocks a request: the event is dropped, counted in a metric, and an `audit.events_dropped` event with the
 *   count is recorded at the next flush. API-call events (`api.request`) are kept apart and written as one
 *   segment per org and flush (segments.ts): one row and one MAC for all of them.
 *
 * Every event is also a structured `audit` log line, for log shipping. Metadata must never hold a secret:
 * callers pass ids and names only, and a test searches every stored event for every secret it made.
 */
import { MonotonicIds, newId } from '@cohera/shared';
import type { FastifyRequest } from 'fastify';
import type { Kysely, Transaction } from 'kysely';
import { type Logger, pino } from 'pino';
import type { AuthContext, Principal } from '../auth/context.ts';
import { type Clock, isoAt } from '../clock.ts';
import type { AuditEventsTable, AuditResult, DB } from '../storage/schema.ts';
import { describeUnavailable, isDatabaseUnavailable, logTaskFailure } from '../storage/unavailable.ts';
import type { AuditAction } from './actions.ts';
import { AuditChain, type UnchainedEvent } from './chain.ts';
import { AuditDigestEmitter } from './digest-emitter.ts';
import { AuditDigestSigner } from './digest-signer.ts';
import { purgeAuditEvents } from './retention.ts';
import { CALL_ACTION, PendingSegment, SEGMENT_MAX_EVENTS } from './segments.ts';

export interface AuditActor {
  kind: Principal['kind'] | 'operator' | 'system' | 'anonymous';
  id: string;
}

export interface AuditEventInput {
  orgId: string;
  actor: AuditActor;
  action: AuditAction;
  target?: { kind: string; id: string } | null;
  result?: AuditResult;
  metadata?: Record<string, unknown>;
  /** Where the request came from; absent for events of the operator CLI or the server itself. */
  request?: { ip: string | null; userAgent: string | null; requestId: string | null };
}

/** The request part of an event. */
export function requestOf(request: FastifyRequest): NonNullable<AuditEventInput['request']> {
  return { ip: request.ip, userAgent: userAgentOf(request), requestId: request.id };
}

/** The request's User-Agent as events keep it: its first 512 characters, or null. */
export function userAgentOf(request: FastifyRequest): string | null {
  const agent = request.headers['user-agent'];
  return typeof agent === 'string' ? agent.slice(0, 512) : null;
}

/** Who acted: the principal of the request's credential. */
export function actorOf(auth: AuthContext): AuditActor {
  return { kind: auth.principal.kind, id: auth.principal.id };
}

export interface AuditLogOptions {
  /** Buffered events held at most before new ones are dropped (default 10,000). */
  bufferSize?: number;
  /** How often the buffer is flushed (default 1 s). */
  flushMs?: number;
  /** A buffer this full is flushed at once, not at the next tick (default 1,000). */
  flushAt?: number;
  /** How often signed digests of the moved chains are made (default and maximum 5 minutes). */
  digestIntervalMs?: number;
  /** A file each digest is also appended to (COHERA_AUDIT_DIGEST_SINK). */
  digestSink?: string | null;
}

export class AuditLog {
  readonly chain: AuditChain;
  /** Signs and checks digests; its public key is published for auditors. */
  readonly digestSigner: AuditDigestSigner;
  readonly digests: AuditDigestEmitter;
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  /** API-call event ids: many per millisecond under COHERA_AUDIT_API_CALLS=all (MonotonicIds). */
  readonly #callIds = new MonotonicIds('audit_event');
  readonly #log: Logger;
  readonly #bufferSize: number;
  readonly #flushMs: number;
  readonly #flushAt: number;
  #buffer: UnchainedEvent[] = [];
  /** Buffered API-call events, per org, in segments of at most SEGMENT_MAX_EVENTS; the bound covers both. */
  #calls = new Map<string, PendingSegment[]>();
  #callCount = 0;
  /** Dropped since the last flush, per org (each gets its own `audit.events_dropped` event). */
  #dropped = new Map<string, number>();
  /** Dropped since start, for the metric. */
  droppedTotal = 0;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;

  constructor(db: Kysely<DB>, masterKey: Buffer, clock: Clock, log: Logger, options: AuditLogOptions = {}) {
    this.#db = db;
    this.chain = new AuditChain(masterKey, {
      onUnauthenticatedHead: (orgId, found) =>
        log.error(
          { event: 'audit_head_unauthenticated', org_id: orgId, seq: found.seq },
          'audit chain head fails its MAC (set back or forged in the database): it stays unauthenticated ' +
            'and verify reports it; see `cohera admin audit-reseal`',
        ),
    });
    this.digestSigner = new AuditDigestSigner(masterKey);
    this.digests = new AuditDigestEmitter(db, this.chain, this.digestSigner, clock, log, {
      ...(options.digestIntervalMs === undefined ? {} : { intervalMs: options.digestIntervalMs }),
      sink: options.digestSink ?? null,
    });
    this.#clock = clock;
    this.#log = log;
    this.#bufferSize = options.bufferSize ?? 10_000;
    this.#flushMs = options.flushMs ?? 1000;
    this.#flushAt = options.flushAt ?? 1000;
  }

  get bufferDepth(): number {
    return this.#buffer.length + this.#callCount;
  }

  #prepare(input: AuditEventInput): UnchainedEvent {
    const now = this.#clock.now();
    const event: UnchainedEvent = {
      id: newId('audit_event', now),
      org_id: input.orgId,
      at: isoAt(now),
      actor_kind: input.actor.kind,
      actor_id: input.actor.id,
      action: input.action,
      target_kind: input.target?.kind ?? null,
      target_id: input.target?.id ?? null,
      result: input.result ?? 'success',
      ip: input.request?.ip ?? null,
      user_agent: input.request?.userAgent ?? null,
      request_id: input.request?.requestId ?? null,
      metadata: JSON.stringify(input.metadata ?? {}),
    };
    // The line's object is built only when it will be written: a server logging at `warn` (or a busy one
    // under COHERA_AUDIT_API_CALLS=all) would otherwise copy every event for nothing.
    if (this.#log.isLevelEnabled('info')) {
      this.#log.info({ audit: { ...event, metadata: input.metadata ?? {} } }, 'audit');
    }
    return event;
  }

  /** Records a management action in the transaction that makes the change. */
  async record(trx: Kysely<DB> | Transaction<DB>, input: AuditEventInput): Promise<AuditEventsTable> {
    const [row] = await this.chain.append(trx, input.orgId, [this.#prepare(input)]);
    return row as AuditEventsTable;
  }

  /** The pending segment an org's next call goes into. */
  #segmentOf(orgId: string): PendingSegment {
    let segments = this.#calls.get(orgId);
    if (!segments) {
      segments = [];
      this.#calls.set(orgId, segments);
    }
    let last = segments.at(-1);
    if (!last || last.size >= SEGMENT_MAX_EVENTS) {
      last = new PendingSegment(orgId);
      segments.push(last);
    }
    return last;
  }

  /** Whether one more event fits the buffer; counts it as dropped when not. */
  #admit(orgId: string): boolean {
    if (this.#buffer.length + this.#callCount < this.#bufferSize) return true;
    this.droppedTotal++;
    this.#dropped.set(orgId, (this.#dropped.get(orgId) ?? 0) + 1);
    return false;
  }

  /** Busy: write in batches as they fill, so the buffer absorbs bursts instead of overflowing between ticks. */
  #flushIfFull(): void {
    if (
      this.#buffer.length + this.#callCount >= this.#flushAt &&
      this.#flushing === null &&
      this.#timer !== null
    ) {
      this.flush().catch(() => {});
    }
  }

  /**
   * An API call (`api.request`, no target), as the request path records one per request under
   * COHERA_AUDIT_API_CALLS=all: its fields go straight into the org's pending segment, with no input,
   * actor, request or event object built on the way. `actor` is the credential's principal, as it is.
   * Never blocks, never throws.
   */
  enqueueCall(
    orgId: string,
    actor: AuditActor,
    result: 'success' | 'failure',
    metadata: Readonly<Record<string, unknown>>,
    ip: string | null,
    userAgent: string | null,
    requestId: string | null,
  ): void {
    if (!this.#admit(orgId)) return;
    const now = this.#clock.now();
    const ids = this.#callIds;
    ids.advance(now);
    if (this.#log.isLevelEnabled('info')) {
      this.#log.info(
        {
          audit: {
            id: ids.current(),
            org_id: orgId,
            at: isoAt(now),
            actor_kind: actor.kind,
            actor_id: actor.id,
            action: CALL_ACTION,
            target_kind: null,
            target_id: null,
            result,
            ip,
            user_agent: userAgent,
            request_id: requestId,
            metadata,
          },
        },
        'audit',
      );
    }
    this.#segmentOf(orgId).add(ids, now, actor.kind, actor.id, result, ip, userAgent, requestId, metadata);
    this.#callCount++;
    this.#flushIfFull();
  }

  /** Queues a high-volume event; never blocks, never throws. */
  enqueue(input: AuditEventInput): void {
    // An API call with a target would lose it in a segment (whose events have none): it goes as a row.
    if (input.action === CALL_ACTION && !input.target) {
      this.enqueueCall(
        input.orgId,
        input.actor,
        input.result ?? 'success',
        input.metadata ?? {},
        input.request?.ip ?? null,
        input.request?.userAgent ?? null,
        input.request?.requestId ?? null,
      );
      return;
    }
    if (!this.#admit(input.orgId)) return;
    this.#buffer.push(this.#prepare(input));
    this.#flushIfFull();
  }

  /**
   * Flushes every `flushMs`, makes signed digests when they are due (after the flush, so they cover what
   * it wrote), and applies retention (`retentionDays`) once an hour.
   */
  start(retentionDays?: number): void {
    let nextPurge = 0;
    this.#timer ??= setInterval(() => {
      this.flush()
        .catch(() => {}) // flush() logs its own failures
        .then(() => this.digests.tick())
        .catch((error: unknown) => logTaskFailure(this.#log, error, 'audit digests failed'));
      const now = this.#clock.now();
      if (retentionDays !== undefined && now >= nextPurge) {
        nextPurge = now + 3_600_000;
        purgeAuditEvents(this.#db, this.chain, retentionDays, now, (orgId, reason) =>
          this.#log.error(
            { event: 'audit_retention_refused', org_id: orgId, reason },
            'audit retention left an org alone: its chain does not authenticate where it would cut',
          ),
        ).catch((error: unknown) => logTaskFailure(this.#log, error, 'audit retention failed'));
      }
    }, this.#flushMs);
    this.#timer.unref();
  }

  /** Writes what is buffered and, when the log was started, digests the final state of what moved. */
  async stop(): Promise<void> {
    const started = this.#timer !== null;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush();
    if (started) {
      await this.digests
        .emit()
        .catch((error: unknown) => this.#log.error({ err: error }, 'final audit digests failed'));
    }
  }

  /** Writes the buffer: one chain append (one transaction) per org. Concurrent calls share one flush. */
  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = null;
      // What arrived while writing, if it is already a full batch.
      if (this.bufferDepth >= this.#flushAt && this.#timer !== null) this.flush().catch(() => {});
    });
    return this.#flushing;
  }

  async #write(): Promise<void> {
    if (this.#buffer.length === 0 && this.#callCount === 0 && this.#dropped.size === 0) return;
    const events = this.#buffer;
    const calls = this.#calls;
    const dropped = this.#dropped;
    this.#buffer = [];
    this.#calls = new Map();
    this.#callCount = 0;
    this.#dropped = new Map();
    for (const [orgId, count] of dropped) {
      events.push(
        this.#prepare({
          orgId,
          actor: { kind: 'system', id: 'audit' },
          action: 'audit.events_dropped',
          result: 'failure',
          metadata: { count },
        }),
      );
    }
    const byOrg = new Map<string, UnchainedEvent[]>();
    for (const event of events) {
      const list = byOrg.get(event.org_id) ?? [];
      list.push(event);
      byOrg.set(event.org_id, list);
    }
    // One transaction per org, so one org's trouble never holds back another's events; in org id order,
    // so two nodes flushing the same orgs take the chain heads' locks in the same order (no deadlock).
    const failedEvents: UnchainedEvent[] = [];
    const failedCalls = new Map<string, PendingSegment[]>();
    let failed = 0;
    let firstError: unknown = null;
    for (const orgId of [...new Set([...byOrg.keys(), ...calls.keys()])].sort()) {
      const orgEvents = byOrg.get(orgId) ?? [];
      const orgCalls = calls.get(orgId) ?? [];
      try {
        await this.chain.append(this.#db, orgId, orgEvents, orgCalls);
      } catch (error) {
        firstError ??= error;
        failedEvents.push(...orgEvents);
        if (orgCalls.length > 0) failedCalls.set(orgId, orgCalls);
        failed += orgCalls.reduce((sum, segment) => sum + segment.size, orgEvents.length);
      }
    }
    if (failed === 0) return;
    // Put them back in front (oldest first). What no longer fits is counted as dropped: API calls first
    // (the least telling events), a whole pending segment at a time, the newest first.
    this.#buffer = [...failedEvents, ...this.#buffer];
    for (const [orgId, segments] of this.#calls) {
      const kept = failedCalls.get(orgId) ?? [];
      failedCalls.set(orgId, [...kept, ...segments]);
    }
    this.#calls = failedCalls;
    this.#callCount = 0;
    for (const segments of failedCalls.values())
      for (const segment of segments) this.#callCount += segment.size;
    const drop = (orgId: string, count: number) => {
      this.droppedTotal += count;
      this.#dropped.set(orgId, (this.#dropped.get(orgId) ?? 0) + count);
    };
    for (const [orgId, segments] of [...this.#calls].reverse()) {
      while (this.bufferDepth > this.#bufferSize && segments.length > 0) {
        const newest = segments.pop() as PendingSegment;
        this.#callCount -= newest.size;
        drop(orgId, newest.size);
      }
      if (segments.length === 0) this.#calls.delete(orgId);
    }
    while (this.bufferDepth > this.#bufferSize) drop((this.#buffer.pop() as UnchainedEvent).org_id, 1);
    // Retried every tick with the events kept: during an outage that would be a line a second, and the
    // outage is already logged once when it starts and once when it ends (storage/availability.ts, which
    // the pool told of this error), so an outage error is only worth a debug line here.
    if (isDatabaseUnavailable(firstError)) {
      this.#log.debug(
        { error: describeUnavailable(firstError), events: failed },
        'audit flush waits for the database; will retry',
      );
    } else {
      this.#log.warn(
        { err: (firstError as Error).message, events: failed },
        'audit flush failed; will retry',
      );
    }
    throw firstError;
  }
}

/**
 * The audit log of the operator CLI: its events go to the org's chain in the change's transaction. It writes
 * no log line, because the CLI's stdout is its answer (`--json` prints exactly one object).
 */
export function operatorAuditLog(db: Kysely<DB>, masterKey: Buffer, clock: Clock): AuditLog {
  return new AuditLog(db, masterKey, clock, pino({ level: 'silent' }));
}
