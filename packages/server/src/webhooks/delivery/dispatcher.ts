/**
 * The delivery worker every node runs (DESIGN §5.5). It polls for due deliveries (every 250 ms, and at
 * once on `wake()` after a local commit), claims a batch under a lease (claims.ts), sends each attempt
 * (send.ts) and records it (record.ts).
 *
 * Concurrency is bounded twice: at most `concurrency` attempts in flight on this node and at most
 * `perEndpoint` to one endpoint, so one slow receiver uses a few slots and the others keep flowing.
 * Only what can start at once is claimed: a claimed delivery never waits in a local queue, where its lease
 * could run out and another node send it too.
 *
 * `stop()` stops claiming, lets attempts in flight finish for up to `stopGraceMs`, then aborts the rest and
 * gives their claims back (clears the lease), so another node, or this one after a restart, sends them
 * without waiting for the lease to run out. A process killed without `stop()` loses nothing either: its
 * leases run out and the deliveries are claimed again (at least once; `webhook-id` lets receivers dedupe).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../../audit/log.ts';
import type { Clock } from '../../clock.ts';
import type { Config } from '../../config.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import { LatencyHistogram } from '../../metrics/latency-histogram.ts';
import type { DB } from '../../storage/schema.ts';
import { isDatabaseUnavailable, logTaskFailure } from '../../storage/unavailable.ts';
import { signingSecrets, webhookSecretBox } from '../secrets.ts';
import { type Claim, claimDue, dueCount, releaseClaim } from './claims.ts';
import { recordAttempt } from './record.ts';
import { type SendOutcome, sendWebhook } from './send.ts';

/** The logger methods the worker uses (pino's). */
export interface DispatcherLog {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export interface WebhookDispatcherOptions {
  db: Kysely<DB>;
  clock: Clock;
  config: Pick<
    Config,
    | 'masterKey'
    | 'webhooksAllowPrivate'
    | 'webhookTimeoutSeconds'
    | 'webhookRetrySchedule'
    | 'webhookDisableAfterHours'
  >;
  log: DispatcherLog;
  /** Where automatic disabling writes its `webhook_endpoint.disabled` entry. */
  audit: AuditLog;
  /** Attempts in flight on this node (default 32). */
  concurrency?: number;
  /** Attempts in flight to one endpoint from this node (default 4). */
  perEndpoint?: number;
  /** How often to look for due deliveries without a wake-up (default 250 ms). */
  pollIntervalMs?: number;
  /** How long `stop()` lets attempts in flight finish (default 5 s). */
  stopGraceMs?: number;
  /** Jitter source, [0, 1) (tests pass a constant). */
  random?: () => number;
}

/**
 * A claim is held for the attempt's timeout plus this: time to record the result after the answer. A worker
 * slower than that loses its claim and records nothing (record.ts), so the cost of a short margin is an
 * occasional second send, never a lost one; and a crashed node's deliveries wait only this long.
 */
const LEASE_MARGIN_MS = 5_000;

interface InFlight {
  claim: Claim;
  abort: AbortController;
  done: Promise<void>;
}

export class WebhookDispatcher {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #config: WebhookDispatcherOptions['config'];
  readonly #log: DispatcherLog;
  readonly #audit: AuditLog;
  readonly #box: SecretBox;
  readonly #concurrency: number;
  readonly #perEndpoint: number;
  readonly #pollIntervalMs: number;
  readonly #stopGraceMs: number;
  readonly #random: () => number;
  readonly #inFlight = new Set<InFlight>();
  readonly #perEndpointCount = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #polling: Promise<void> | null = null;
  #pollAgain = false;
  #pollFailing = false;

  /** Attempts since start by outcome (`cohera_webhook_attempts_total`). */
  readonly attempts: Record<SendOutcome, number> = {
    succeeded: 0,
    http_error: 0,
    timeout: 0,
    network_error: 0,
    address_refused: 0,
  };
  /** Seconds from a message's creation to its successful delivery (`cohera_webhook_delivery_seconds`). */
  readonly deliveryLatency = new LatencyHistogram({
    name: 'cohera_webhook_delivery_seconds',
    help: 'Time from an event to its successful delivery to an endpoint (retries included)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 86_400],
  });

  constructor(options: WebhookDispatcherOptions) {
    this.#db = options.db;
    this.#clock = options.clock;
    this.#config = options.config;
    this.#log = options.log;
    this.#audit = options.audit;
    this.#box = webhookSecretBox(options.config.masterKey);
    this.#concurrency = options.concurrency ?? 32;
    this.#perEndpoint = options.perEndpoint ?? 4;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
    this.#stopGraceMs = options.stopGraceMs ?? 5_000;
    this.#random = options.random ?? Math.random;
  }

  /** Attempts in flight on this node now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Due pending deliveries of enabled endpoints, fleet-wide (`cohera_webhook_queue_depth`). */
  queueDepth(): Promise<number> {
    return dueCount(this.#db, this.#clock.now());
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Looks for due deliveries now (after a commit that wrote some), instead of at the next poll. */
  wake(): void {
    if (this.#running) this.#schedule(0);
  }

  /** Stops claiming; waits up to the grace for attempts in flight, then aborts and releases the rest. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#polling;
    const pending = [...this.#inFlight].map((flight) => flight.done);
    const grace = new AbortController();
    await Promise.race([
      Promise.allSettled(pending),
      sleep(this.#stopGraceMs, undefined, { signal: grace.signal, ref: false }).catch(() => {}),
    ]);
    grace.abort();
    for (const flight of this.#inFlight) flight.abort.abort();
    await Promise.allSettled([...this.#inFlight].map((flight) => flight.done));
  }

  #schedule(delayMs: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#poll();
    }, delayMs);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    if (this.#polling) {
      // A poll is under way: run once more after it, so a wake-up during the claim is not lost.
      this.#pollAgain = true;
      return;
    }
    this.#polling = this.#claimAndSend().then(
      () => {
        if (this.#pollFailing) this.#log.info({}, 'webhook delivery polling works again');
        this.#pollFailing = false;
      },
      (error: unknown) => {
        // An outage is logged once when it starts and once when it ends by storage/availability.ts (the
        // pool told it of this error): debug here. Any other failure once per streak, not four times a second.
        if (isDatabaseUnavailable(error)) logTaskFailure(this.#log, error, 'webhook delivery poll failed');
        else if (!this.#pollFailing) {
          this.#log.error({ err: error }, 'webhook delivery poll failed');
          this.#pollFailing = true;
        }
      },
    );
    await this.#polling;
    this.#polling = null;
    if (!this.#running) return;
    if (this.#pollAgain) {
      this.#pollAgain = false;
      this.#schedule(0);
    } else {
      this.#schedule(this.#pollIntervalMs);
    }
  }

  async #claimAndSend(): Promise<void> {
    const free = this.#concurrency - this.#inFlight.size;
    if (!this.#running || free <= 0) return;
    const busy = [...this.#perEndpointCount].filter(([, n]) => n >= this.#perEndpoint).map(([id]) => id);
    const now = this.#clock.now();
    const claims = await claimDue(this.#db, {
      now,
      leaseMs: this.#config.webhookTimeoutSeconds * 1000 + LEASE_MARGIN_MS,
      limit: free,
      perEndpoint: this.#perEndpoint,
      busyEndpoints: busy,
    });
    for (const claim of claims) {
      const count = this.#perEndpointCount.get(claim.endpoint_id) ?? 0;
      // The claim ranked at most perEndpoint per endpoint; ones partly busy here may have got too many.
      if (count >= this.#perEndpoint || !this.#running) {
        await releaseClaim(this.#db, claim);
        continue;
      }
      this.#perEndpointCount.set(claim.endpoint_id, count + 1);
      const abort = new AbortController();
      const flight: InFlight = { claim, abort, done: Promise.resolve() };
      flight.done = this.#attempt(claim, abort.signal)
        .catch((error: unknown) => {
          // The lease runs out and the delivery is claimed again: nothing is lost, it is only late.
          this.#log.error(
            { err: error, endpoint_id: claim.endpoint_id, message_id: claim.message_id },
            'webhook delivery attempt failed',
          );
        })
        .finally(() => {
          this.#inFlight.delete(flight);
          const left = (this.#perEndpointCount.get(claim.endpoint_id) ?? 1) - 1;
          if (left <= 0) this.#perEndpointCount.delete(claim.endpoint_id);
          else this.#perEndpointCount.set(claim.endpoint_id, left);
          // A slot is free: fill it now rather than at the next poll.
          if (this.#running) this.#schedule(0);
        });
      this.#inFlight.add(flight);
    }
  }

  async #attempt(claim: Claim, signal: AbortSignal): Promise<void> {
    const target = await this.#db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_messages as m', 'm.id', 'd.message_id')
      .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .select([
        'm.body',
        'm.created_at as message_created_at',
        'e.id',
        'e.url',
        'e.status',
        'e.secret_sealed',
        'e.previous_secret_sealed',
        'e.previous_secret_expires_at',
      ])
      .where('d.endpoint_id', '=', claim.endpoint_id)
      .where('d.message_id', '=', claim.message_id)
      .executeTakeFirst();
    // Deleted meanwhile (the cascade took the delivery too) or disabled since the claim: nothing to send.
    if (!target) return;
    if (target.status !== 'enabled') {
      await releaseClaim(this.#db, claim);
      return;
    }
    const now = this.#clock.now();
    const result = await sendWebhook({
      url: target.url,
      messageId: claim.message_id,
      body: target.body,
      secrets: signingSecrets(this.#box, target, now),
      timestampSeconds: Math.floor(now / 1000),
      timeoutMs: this.#config.webhookTimeoutSeconds * 1000,
      allowPrivate: this.#config.webhooksAllowPrivate,
      signal,
    });
    if (result.aborted) {
      // Shutdown cut the attempt short: it is not the receiver's failure, so it is given back unrecorded.
      await releaseClaim(this.#db, claim);
      return;
    }
    this.attempts[result.outcome] += 1;
    const recordedAt = this.#clock.now();
    const recorded = await recordAttempt(
      this.#db,
      this.#audit,
      claim,
      result,
      {
        schedule: this.#config.webhookRetrySchedule,
        disableAfterMs: this.#config.webhookDisableAfterHours * 3_600_000,
        random: this.#random,
      },
      recordedAt,
    );
    if (recorded.as === 'succeeded') {
      const seconds = Math.max(0, recordedAt - Date.parse(target.message_created_at)) / 1000;
      this.deliveryLatency.observe('all', () => ({}), seconds);
    }
    if (recorded.disabled) {
      this.#log.warn(
        { endpoint_id: claim.endpoint_id, reason: recorded.disabled },
        'webhook endpoint disabled',
      );
      // Its `webhook_endpoint.disabled` event is now in the outbox for the org's other endpoints.
      this.wake();
    }
  }
}
