/**
 * The time-based webhook events (DESIGN §5.5): `certificate.expiring` (30, 7 and 1 days before
 * `expires_at`), `certificate.expired`, `api_key.expiring` (7 and 1 days before), `api_key.expired`.
 *
 * Every node runs a scheduler; none is elected. Each event carries the dedupe key
 * `<type>:<object id>:<threshold>:<expires_at>` and the outbox's UNIQUE (org_id, dedupe_key) lets exactly
 * one insert win, so an event is produced once however many nodes scan the same instant and however often
 * a node restarts. A new `expires_at` (a renewed certificate, a key shortened by a roll) is a new key, so
 * the new expiry is announced again.
 *
 * Which threshold: only the NEAREST one already crossed. An object whose time left is 5 days has crossed
 * 30 and 7 days: it gets the 7-day event only, never a stale 30-day one — whether it was created inside the
 * threshold or the scheduler was down while it crossed several. The expiry itself is the last threshold
 * (`0d`): once `expires_at` has passed, only the `expired` event is due. Expiries further back than
 * `EXPIRED_LOOKBACK_MS` are not announced: they happened before this feature ran or during an outage longer
 * than that, and a flood of stale `expired` events would bury the live ones.
 *
 * Not announced: revoked certificates and revoked keys (their owners ended them), and `expiring` of a key
 * already rolled (its owner has replaced it; its `expired`, at the end of the grace period, is announced).
 *
 * Cost: one range query on the (expires_at, id) index per page of objects (200) in the window
 * (now − lookback, now + 30 days], one indexed look-up of the page's dedupe keys, and writes only for the
 * events not yet produced.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import { presentApiKey } from '../auth/api-keys/present.ts';
import { type Clock, isoAt } from '../clock.ts';
import { presentCertificate } from '../resources/certificates/present.ts';
import { getCertificate } from '../resources/certificates/repository.ts';
import { inTransaction } from '../storage/database.ts';
import type { ApiKeysTable, CertificatesTable, DB } from '../storage/schema.ts';
import { logTaskFailure } from '../storage/unavailable.ts';
import { emitChange } from './produce.ts';

const DAY_MS = 86_400_000;
/** Thresholds before expiry, farthest first; 0 is the expiry itself. */
export const CERTIFICATE_THRESHOLD_DAYS = [30, 7, 1, 0] as const;
export const API_KEY_THRESHOLD_DAYS = [7, 1, 0] as const;
/** How far back an expiry is still announced (downtime this long loses no `expired` event). */
export const EXPIRED_LOOKBACK_MS = 7 * DAY_MS;
const PAGE_SIZE = 200;

/**
 * The nearest threshold (in days) that `expiresAt` has crossed at `now`, or null when none has (more time
 * left than the largest threshold) or the expiry is older than the lookback.
 */
export function nearestCrossed(thresholds: readonly number[], expiresAt: string, now: number): number | null {
  const left = Date.parse(expiresAt) - now;
  if (left <= -EXPIRED_LOOKBACK_MS) return null;
  let nearest: number | null = null;
  for (const days of thresholds) {
    if (left <= days * DAY_MS) nearest = days;
  }
  return nearest;
}

export function expiryDedupeKey(type: string, id: string, days: number, expiresAt: string): string {
  return `${type}:${id}:${days}d:${expiresAt}`;
}

export interface WebhookSchedulerDeps {
  db: Kysely<DB>;
  clock: Clock;
  log: FastifyBaseLogger;
  intervalSeconds: number;
  /** Called after a scan produced events, so the local worker sends them at once. */
  wake?: () => void;
  /** The usage recorder's merge of the not-yet-flushed last use (so `last_used_at` is as the API shows it). */
  lastUseOf?: (id: string, stored: string | null) => string | null;
  /** Objects read per query (default 200). */
  pageSize?: number;
}

interface Due {
  orgId: string;
  mode: CertificatesTable['mode'];
  type: 'certificate.expiring' | 'certificate.expired' | 'api_key.expiring' | 'api_key.expired';
  dedupeKey: string;
  data: () => Promise<unknown>;
}

export class WebhookScheduler {
  readonly #deps: WebhookSchedulerDeps;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  readonly #pageSize: number;

  constructor(deps: WebhookSchedulerDeps) {
    this.#deps = deps;
    this.#pageSize = deps.pageSize ?? PAGE_SIZE;
  }

  /** Scans now and then every interval. A scan still running when the next is due is not doubled. */
  start(): void {
    if (this.#timer) return;
    const tick = () => {
      if (this.#running) return;
      this.#running = this.runOnce(this.#deps.clock.now())
        .catch((error: unknown) => {
          logTaskFailure(this.#deps.log, error, 'webhook expiry scan failed');
          return 0;
        })
        .finally(() => {
          this.#running = null;
        });
    };
    this.#timer = setInterval(tick, this.#deps.intervalSeconds * 1000);
    this.#timer.unref();
    tick();
  }

  /** Stops scanning and waits for a scan in progress. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** One scan at `now`; returns how many events this node produced (another node may have produced others). */
  async runOnce(now: number): Promise<number> {
    const produced = (await this.#scanCertificates(now)) + (await this.#scanApiKeys(now));
    if (produced > 0) this.#deps.wake?.();
    return produced;
  }

  async #scanCertificates(now: number): Promise<number> {
    const { db } = this.#deps;
    let produced = 0;
    let after: { expiresAt: string; id: string } | null = null;
    for (;;) {
      let query = db
        .selectFrom('certificates')
        .selectAll()
        .where('expires_at', '>', isoAt(now - EXPIRED_LOOKBACK_MS))
        .where('expires_at', '<=', isoAt(now + (CERTIFICATE_THRESHOLD_DAYS[0] as number) * DAY_MS));
      // Keyset pagination on (expires_at, id), the order of the expiry index.
      if (after) {
        const { expiresAt, id } = after;
        query = query.where((eb) =>
          eb.or([
            eb('expires_at', '>', expiresAt),
            eb.and([eb('expires_at', '=', expiresAt), eb('id', '>', id)]),
          ]),
        );
      }
      const rows = await query.orderBy('expires_at').orderBy('id').limit(this.#pageSize).execute();
      const due: Due[] = [];
      for (const row of rows) {
        if (row.status !== 'valid') continue;
        const days = nearestCrossed(CERTIFICATE_THRESHOLD_DAYS, row.expires_at, now);
        if (days === null) continue;
        const type = days === 0 ? 'certificate.expired' : 'certificate.expiring';
        const tenant = { orgId: row.org_id, mode: row.mode };
        due.push({
          orgId: row.org_id,
          mode: row.mode,
          type,
          dedupeKey: expiryDedupeKey(type, row.id, days, row.expires_at),
          data: async () => {
            const full = await getCertificate(db, tenant, row.id);
            return full && presentCertificate(full, now);
          },
        });
      }
      produced += await this.#produce(due, now);
      const last = rows.at(-1);
      if (rows.length < this.#pageSize || !last) return produced;
      after = { expiresAt: last.expires_at, id: last.id };
    }
  }

  async #scanApiKeys(now: number): Promise<number> {
    const { db, lastUseOf } = this.#deps;
    let produced = 0;
    let after: { expiresAt: string; id: string } | null = null;
    for (;;) {
      let query = db
        .selectFrom('api_keys')
        .selectAll()
        .where('expires_at', '>', isoAt(now - EXPIRED_LOOKBACK_MS))
        .where('expires_at', '<=', isoAt(now + (API_KEY_THRESHOLD_DAYS[0] as number) * DAY_MS));
      // Keyset pagination on (expires_at, id), the order of the expiry index.
      if (after) {
        const { expiresAt, id } = after;
        query = query.where((eb) =>
          eb.or([
            eb('expires_at', '>', expiresAt),
            eb.and([eb('expires_at', '=', expiresAt), eb('id', '>', id)]),
          ]),
        );
      }
      const rows: ApiKeysTable[] = await query
        .orderBy('expires_at')
        .orderBy('id')
        .limit(this.#pageSize)
        .execute();
      const due: Due[] = [];
      for (const row of rows) {
        if (row.revoked_at !== null || row.expires_at === null) continue;
        const days = nearestCrossed(API_KEY_THRESHOLD_DAYS, row.expires_at, now);
        if (days === null || (days > 0 && row.replaced_by_id !== null)) continue;
        const type = days === 0 ? 'api_key.expired' : 'api_key.expiring';
        due.push({
          orgId: row.org_id,
          mode: row.mode,
          type,
          dedupeKey: expiryDedupeKey(type, row.id, days, row.expires_at),
          data: async () => presentApiKey(row, now, lastUseOf),
        });
      }
      produced += await this.#produce(due, now);
      const last = rows.at(-1);
      if (rows.length < this.#pageSize || !last || last.expires_at === null) return produced;
      after = { expiresAt: last.expires_at, id: last.id };
    }
  }

  /**
   * Writes the events of a page not produced yet: one indexed look-up finds the keys already in the outbox
   * (the common case on every scan after the first), then each missing event is its own transaction whose
   * INSERT … ON CONFLICT DO NOTHING settles a race with another node.
   */
  async #produce(due: readonly Due[], now: number): Promise<number> {
    if (due.length === 0) return 0;
    const { db } = this.#deps;
    const existing = await db
      .selectFrom('webhook_messages')
      .select(['org_id', 'dedupe_key'])
      .where('org_id', 'in', [...new Set(due.map((d) => d.orgId))])
      .where(
        'dedupe_key',
        'in',
        due.map((d) => d.dedupeKey),
      )
      .execute();
    const seen = new Set(existing.map((row) => `${row.org_id} ${row.dedupe_key}`));
    let produced = 0;
    for (const event of due) {
      if (seen.has(`${event.orgId} ${event.dedupeKey}`)) continue;
      const data = await event.data();
      if (data === null) continue; // deleted since the page was read
      const id = await inTransaction(db, (trx) =>
        emitChange(trx, { orgId: event.orgId, mode: event.mode }, event.type, data, now, event.dedupeKey),
      );
      if (id !== null) produced++;
    }
    return produced;
  }
}
