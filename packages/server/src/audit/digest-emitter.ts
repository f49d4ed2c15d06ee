/**
 * Emits signed digests of the audit chains (digest-signer.ts) every COHERA_AUDIT_DIGEST_INTERVAL seconds
 * (at most 5 minutes): one per org whose chain head moved since the last digest, as an `audit_digest` log
 * line and, when COHERA_AUDIT_DIGEST_SINK names a file, a line appended to it. An org whose log did not
 * move gets none: its last digest still names its newest event, and a digest of the same state again
 * would prove nothing more. A digest's `seq` below an earlier one's for the same org is itself evidence
 * of a rollback.
 *
 * Which heads moved is kept on the head row (`digested_seq`), claimed with one conditional update per
 * org, so a fleet makes each digest once, on whichever node claims it first, and a restart neither
 * repeats nor skips one. The claim is no security boundary: setting `digested_seq` by hand only makes a
 * digest come again (any difference from `seq` counts as moved). A head whose MAC fails is never signed:
 * a digest vouches for the state it names.
 */
import { closeSync, constants, fchmodSync, openSync, writeSync } from 'node:fs';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { DB } from '../storage/schema.ts';
import type { AuditChain } from './chain.ts';
import type { AuditDigestSigner } from './digest-signer.ts';

/** One digest as it is logged and written to the sink (one NDJSON line). */
export interface DigestRecord {
  event: 'audit_digest';
  org_id: string;
  seq: number;
  hash: string;
  /** When it was made (ISO 8601 UTC); the signed `iat` is the same instant in seconds. */
  at: string;
  /** The signing key's id (RFC 7638 thumbprint), as at `GET /v1/audit-events/digest-keys`. */
  kid: string;
  /** The signed digest (a compact JWS) to keep and to pass to `GET /v1/audit-events/verify?digest=`. */
  digest: string;
}

export interface DigestEmitterOptions {
  /** How often a round runs (default and maximum 5 minutes). */
  intervalMs?: number;
  /** A file to append each digest to (NDJSON), created 0600; null for log lines only. */
  sink?: string | null;
}

export const DEFAULT_DIGEST_INTERVAL_MS = 300_000;

/**
 * Appends lines to the sink: opened append-only (O_APPEND, so lines are never written over) for each round,
 * so a rotated or removed file is created anew, and created owner-only. A FIFO to a shipping agent works too.
 */
function appendToSink(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL,
      0o600,
    );
    // The umask can only take bits away from 0600; set it exactly, as the docs promise.
    fchmodSync(fd, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND);
  }
  try {
    const bytes = Buffer.from(text);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
  } finally {
    closeSync(fd);
  }
}

export class AuditDigestEmitter {
  readonly #db: Kysely<DB>;
  readonly #chain: AuditChain;
  readonly #signer: AuditDigestSigner;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #sink: string | null;
  #next: number | null = null;
  #running: Promise<DigestRecord[]> | null = null;

  constructor(
    db: Kysely<DB>,
    chain: AuditChain,
    signer: AuditDigestSigner,
    clock: Clock,
    log: Logger,
    options: DigestEmitterOptions = {},
  ) {
    this.#db = db;
    this.#chain = chain;
    this.#signer = signer;
    this.#clock = clock;
    this.#log = log;
    this.#intervalMs = Math.min(options.intervalMs ?? DEFAULT_DIGEST_INTERVAL_MS, DEFAULT_DIGEST_INTERVAL_MS);
    this.#sink = options.sink ?? null;
  }

  /** Runs a round when one is due by the clock (the first tick runs one); called by the audit log's timer. */
  async tick(): Promise<DigestRecord[]> {
    const now = this.#clock.now();
    if (this.#next !== null && now < this.#next) return [];
    this.#next = now + this.#intervalMs;
    return this.emit();
  }

  /** A round now: a digest of every org whose head moved since its last one. Rounds never overlap. */
  emit(): Promise<DigestRecord[]> {
    this.#running ??= this.#round().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #round(): Promise<DigestRecord[]> {
    const moved = await this.#db
      .selectFrom('audit_chain_heads')
      .select('org_id')
      .whereRef('digested_seq', '<>', 'seq')
      .orderBy('org_id')
      .execute();
    const records: DigestRecord[] = [];
    for (const { org_id: orgId } of moved) {
      // One org per statement: a claim holds one head's lock for one statement, never several at once.
      const head = await this.#db
        .updateTable('audit_chain_heads')
        .set((eb) => ({ digested_seq: eb.ref('seq') }))
        .where('org_id', '=', orgId)
        .whereRef('digested_seq', '<>', 'seq')
        .returning(['seq', 'hash', 'head_mac'])
        .executeTakeFirst();
      if (!head || Number(head.seq) === 0) continue; // another node claimed it, or nothing to state
      const seq = Number(head.seq);
      if (!this.#chain.seal.isHead(orgId, seq, head.hash, head.head_mac)) {
        this.#log.error(
          { event: 'audit_digest_refused', org_id: orgId, seq },
          'audit chain head fails its MAC: no digest signed (GET /v1/audit-events/verify says more)',
        );
        continue;
      }
      const now = this.#clock.now();
      const digest = this.#signer.sign({ org_id: orgId, seq, hash: head.hash, iat: Math.floor(now / 1000) });
      const record: DigestRecord = {
        event: 'audit_digest',
        org_id: orgId,
        seq,
        hash: head.hash,
        at: new Date(Math.floor(now / 1000) * 1000).toISOString(),
        kid: this.#signer.kid,
        digest,
      };
      this.#log.info(record, 'audit digest');
      records.push(record);
    }
    if (this.#sink && records.length > 0) {
      try {
        appendToSink(this.#sink, records.map((record) => `${JSON.stringify(record)}\n`).join(''));
      } catch (error) {
        // The digests are in the log lines already; the next round that has any tries the file again.
        this.#log.error(
          { err: (error as Error).message, digests: records.length },
          'could not append to COHERA_AUDIT_DIGEST_SINK',
        );
      }
    }
    return records;
  }
}
