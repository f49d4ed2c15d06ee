/**
 * The `api_key.leaked` webhook event — the hook point for issue 16's leak handler (DESIGN §5.6): when
 * `/v1/credentials/revoke` or `/v1/leaks/github` finds a valid key, the handler revokes it and, in that same
 * transaction, calls `emitApiKeyLeaked(trx, …)` with the key's row as it is after the revoke. The event is
 * produced once per key (dedupe key `api_key.leaked:<key id>`), however many scanners report it.
 */
import type { Transaction } from 'kysely';
import type { ApiKeysTable, DB } from '../../storage/schema.ts';
import { emitChange } from '../../webhooks/produce.ts';
import { presentApiKey } from './present.ts';

export interface LeakReport {
  /** Who reported the key: `github` (secret scanning) or `public` (`/v1/credentials/revoke`). */
  source: 'github' | 'public';
  /** Where it was found, when the reporter says (GitHub's `url`); never the key itself. */
  url?: string | null;
}

/**
 * Writes `api_key.leaked` for `row` in `trx`. `data` is the API key object (no secret) with a `leak`
 * member saying who reported it. Returns the message id, or null when this key's leak was already produced.
 * After the transaction commits, the caller wakes delivery with `deps.webhooks.wake()`.
 */
export function emitApiKeyLeaked(
  trx: Transaction<DB>,
  row: ApiKeysTable,
  report: LeakReport,
  now: number,
): Promise<string | null> {
  const data = { ...presentApiKey(row, now), leak: { source: report.source, url: report.url ?? null } };
  return emitChange(
    trx,
    { orgId: row.org_id, mode: row.mode },
    'api_key.leaked',
    data,
    now,
    `api_key.leaked:${row.id}`,
  );
}
