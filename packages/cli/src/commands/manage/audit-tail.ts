/**
 * Following the audit log (`cohera audit tail`). The API lists newest first by id, and a buffered event
 * (a failed authentication, say) can reach the log a moment after a later one, so "everything after the
 * last id printed" would skip it. Instead each poll asks for the events since a minute before the newest
 * one printed, and prints those not printed yet whose chain position (`seq`) is past where the tail
 * started: every new event once, in chain order, and nothing from before the start unless `--since` asks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent, AuditEventFilters, Cohera } from '../../sdk.ts';

const LOOKBACK_MS = 60_000;

export interface TailOptions {
  filters: AuditEventFilters;
  intervalMs: number;
  signal?: AbortSignal;
  /** Called once per new event, oldest first. */
  onEvent(event: AuditEvent): void;
}

export async function tailAudit(client: Cohera, options: TailOptions): Promise<void> {
  const { filters, signal } = options;
  let startSeq = 0;
  let since: string | undefined = filters.since === undefined ? undefined : String(filters.since);
  if (since === undefined) {
    const newest = (await client.auditEvents.list({ limit: 1 })).data[0];
    startSeq = newest?.seq ?? 0;
    since = new Date((newest ? Date.parse(newest.at) : Date.now()) - LOOKBACK_MS).toISOString();
  }
  const printed = new Map<string, number>();
  while (!signal?.aborted) {
    const fresh: AuditEvent[] = [];
    const params = { ...filters, limit: 100, ...(since === undefined ? {} : { since }) };
    for await (const event of client.auditEvents.list(params)) {
      if (event.seq > startSeq && !printed.has(event.id)) fresh.push(event);
    }
    fresh.sort((a, b) => a.seq - b.seq);
    for (const event of fresh) {
      printed.set(event.id, Date.parse(event.at));
      options.onEvent(event);
    }
    const newestAt = Math.max(...printed.values(), since === undefined ? 0 : Date.parse(since) + LOOKBACK_MS);
    if (newestAt > 0) {
      const from = newestAt - LOOKBACK_MS;
      since = new Date(from).toISOString();
      // Forget what the next window cannot return again, so a long tail holds a minute of ids only.
      for (const [id, at] of printed) if (at < from) printed.delete(id);
    }
    try {
      await sleep(options.intervalMs, undefined, signal ? { signal } : undefined);
    } catch {
      return;
    }
  }
}
