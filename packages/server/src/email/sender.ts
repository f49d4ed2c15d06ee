/**
 * Drains the e-mail outbox (outbox.ts) to SMTP with nodemailer, when `COHERA_SMTP_URL` is set. Every node
 * runs one; a message is claimed with a lease (a conditional UPDATE only one node's matches), so two nodes
 * never send it at once, and a node killed mid-send loses nothing: the lease runs out and it is sent again
 * (at least once, as e-mail always is).
 *
 * A failed attempt waits before the next (30 s, doubling, at most an hour) and the message gives up after
 * MAX_ATTEMPTS, keeping its `last_error` for the operator. An error text never carries the relay's
 * credentials: it is nodemailer's message with the SMTP URL's password removed.
 */
import type { Kysely } from 'kysely';
import nodemailer, { type Transporter } from 'nodemailer';
import { type Clock, isoAt } from '../clock.ts';
import type { DB, EmailOutboxTable } from '../storage/schema.ts';
import { isDatabaseUnavailable } from '../storage/unavailable.ts';

export const MAX_ATTEMPTS = 8;
const FIRST_RETRY_MS = 30_000;
const LONGEST_RETRY_MS = 3_600_000;
const LEASE_MS = 60_000;
const BATCH = 20;

export interface EmailSenderLog {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface EmailSenderOptions {
  db: Kysely<DB>;
  clock: Clock;
  log: EmailSenderLog;
  smtpUrl: string | null;
  from: string;
  /** How often to look for due messages without a wake-up (default 5 s). */
  pollIntervalMs?: number;
}

/** The wait before attempt `attempts + 1`, after `attempts` failures. */
export function retryDelayMs(attempts: number): number {
  return Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
}

/** An SMTP URL without its password, for logs. */
export function redactSmtpUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return '[unparseable SMTP URL]';
  }
}

export class EmailSender {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #log: EmailSenderLog;
  readonly #from: string;
  readonly #smtpUrl: string | null;
  readonly #transport: Transporter | null;
  readonly #pollIntervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = true;
  /** Messages this node delivered since start (a metric, and what tests wait on). */
  sent = 0;

  constructor(options: EmailSenderOptions) {
    this.#db = options.db;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#from = options.from;
    this.#smtpUrl = options.smtpUrl;
    this.#pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.#transport = options.smtpUrl
      ? nodemailer.createTransport(options.smtpUrl, { from: options.from })
      : null;
  }

  /** Whether a relay is configured (without one, messages stay in the outbox). */
  get configured(): boolean {
    return this.#transport !== null;
  }

  start(): void {
    if (!this.#transport) return;
    this.#stopped = false;
    this.#log.info({ smtp: redactSmtpUrl(this.#smtpUrl ?? '') }, 'e-mail outbox delivered over SMTP');
    this.#schedule(0);
  }

  /** Look for due messages now (after a commit that queued one). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
    this.#transport?.close();
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#drain()
        .catch((error: unknown) => {
          // Polled again shortly, the mails kept in the outbox: an outage is logged once when it starts and
          // once when it ends by storage/availability.ts (the pool told it of this error), not on every poll.
          if (!isDatabaseUnavailable(error)) this.#log.warn({ err: error }, 'e-mail outbox scan failed');
        })
        .finally(() => {
          this.#running = null;
          const again = this.#again;
          this.#again = false;
          this.#schedule(again ? 0 : this.#pollIntervalMs);
        });
    }, delayMs);
    this.#timer.unref();
  }

  async #drain(): Promise<void> {
    for (;;) {
      const due = await this.#claim();
      if (due.length === 0) return;
      for (const message of due) {
        if (this.#stopped) return;
        await this.#send(message);
      }
    }
  }

  /** Claims due messages one conditional UPDATE each: only the node whose UPDATE matched sends it. */
  async #claim(): Promise<EmailOutboxTable[]> {
    const now = this.#clock.now();
    const nowIso = isoAt(now);
    const candidates = await this.#db
      .selectFrom('email_outbox')
      .selectAll()
      .where('sent_at', 'is', null)
      .where('attempts', '<', MAX_ATTEMPTS)
      .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', nowIso)]))
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', nowIso)]))
      .orderBy('created_at')
      .limit(BATCH)
      .execute();
    const claimed: EmailOutboxTable[] = [];
    for (const row of candidates) {
      const result = await this.#db
        .updateTable('email_outbox')
        .set({ lease_until: isoAt(now + LEASE_MS) })
        .where('id', '=', row.id)
        .where('sent_at', 'is', null)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', nowIso)]))
        .executeTakeFirst();
      if (result.numUpdatedRows === 1n) claimed.push(row);
    }
    return claimed;
  }

  async #send(message: EmailOutboxTable): Promise<void> {
    const transport = this.#transport;
    if (!transport) return;
    try {
      await transport.sendMail({
        from: this.#from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
      await this.#db
        .updateTable('email_outbox')
        .set({
          sent_at: isoAt(this.#clock.now()),
          attempts: message.attempts + 1,
          lease_until: null,
          last_error: null,
        })
        .where('id', '=', message.id)
        .execute();
      this.sent++;
      this.#log.info({ event: 'email_sent', email_id: message.id }, 'e-mail sent');
    } catch (error) {
      const attempts = message.attempts + 1;
      const reason = this.#describe(error);
      await this.#db
        .updateTable('email_outbox')
        .set({
          attempts,
          last_error: reason,
          lease_until: null,
          next_attempt_at: isoAt(this.#clock.now() + retryDelayMs(attempts)),
        })
        .where('id', '=', message.id)
        .execute();
      this.#log.warn(
        { event: 'email_failed', email_id: message.id, attempts, error: reason },
        attempts >= MAX_ATTEMPTS
          ? 'e-mail gave up after its last attempt'
          : 'e-mail attempt failed; will retry',
      );
    }
  }

  /** nodemailer's error message, bounded, with the relay's password taken out if it appears. */
  #describe(error: unknown): string {
    let text = error instanceof Error ? error.message : String(error);
    const password = this.#smtpUrl ? safePassword(this.#smtpUrl) : '';
    if (password) text = text.replaceAll(password, '***');
    return text.slice(0, 500);
  }
}

function safePassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}
