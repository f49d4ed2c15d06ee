/**
 * Handling a leaked key (DESIGN §5.6): the one function both intakes use, the GitHub endpoint for each token
 * in its report and the leak worker for each hash the public revoke endpoint queued.
 *
 * In one transaction: the key gets `leaked_at` (the first report wins: later reports keep the time), and
 * when the org's `leaked_key_action` is `revoke` and the key still works, `revoked_at` with
 * `revoked_reason: "leaked"`. The audit event `api_key.leaked` and the webhook `api_key.leaked` are written
 * in the same transaction, so a committed leak always has both and a rolled-back one neither. After the
 * commit, the caller publishes the invalidations (`afterCommit`), so every node's credential cache drops
 * the key within a second, exactly as a revoke through the API does.
 *
 * Idempotent: a key reported a thousand times is marked, audited and announced once (the webhook is also
 * deduplicated by the outbox, per key). A later report does something only if it can still revoke: a key
 * first reported under the `notify` policy and reported again after the org switched to `revoke` is revoked
 * then, with an audit event that says so.
 */
import type { Kysely, Transaction } from 'kysely';
import type { AuditActor, AuditLog } from '../audit/log.ts';
import { emitApiKeyLeaked } from '../auth/api-keys/leak-event.ts';
import { presentApiKey, statusOf } from '../auth/api-keys/present.ts';
import { isoAt } from '../clock.ts';
import type { InvalidationBus } from '../state/invalidation-bus.ts';
import type { ApiKeysTable, DB } from '../storage/schema.ts';
import { emitChange } from '../webhooks/produce.ts';

/** Who acts in the audit log when a reported leak changes a key: the server's leak intake. */
export const LEAK_ACTOR: AuditActor = { kind: 'system', id: 'leaks' };

/** Where a leak was reported and found. Never the key itself. */
export interface LeakSource {
  /** `github` (secret scanning) or `public` (`POST /v1/credentials/revoke`). */
  source: 'github' | 'public';
  /** Where it was found (GitHub's `url`), or null. */
  url: string | null;
  /** GitHub's `source` (`content`, `commit`, `gist`, `npm`, …), when GitHub sent one. */
  githubSource?: string | null;
  /** The reporting request, for the audit event. */
  request?: { ip: string | null; userAgent: string | null; requestId: string | null };
}

export interface LeakOutcome {
  /** Whether the hash is a key this server issued (GitHub's `true_positive`). */
  found: boolean;
  /** Whether this report revoked the key. */
  revoked: boolean;
  /** The key's hash, to publish once the transaction commits (when it was revoked). */
  keyHash: string | null;
}

/**
 * Applies one reported leak of the key whose SHA-256 is `keyHash`, inside `trx`. A hash that is no key of
 * this server changes nothing (`found: false`).
 */
export async function applyLeak(
  trx: Transaction<DB>,
  audit: AuditLog,
  keyHash: string,
  report: LeakSource,
  now: number,
): Promise<LeakOutcome> {
  // The one tenant-free look-up, as authentication's: the hash is how the tenant is found.
  const key = await trx.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
  if (!key) return { found: false, revoked: false, keyHash: null };
  const org = await trx
    .selectFrom('orgs')
    .select('leaked_key_action')
    .where('id', '=', key.org_id)
    .executeTakeFirst();
  const at = isoAt(now);

  // Conditional updates decide who was first, on both engines: a concurrent report of the same key (another
  // node, GitHub and the worker at once) re-checks these conditions against the committed row.
  const marked = await trx
    .updateTable('api_keys')
    .set({ leaked_at: at })
    .where('id', '=', key.id)
    .where('leaked_at', 'is', null)
    .executeTakeFirst();
  const firstReport = marked.numUpdatedRows === 1n;
  let revoked = false;
  if ((org?.leaked_key_action ?? 'revoke') === 'revoke' && statusOf(key, now) === 'active') {
    const result = await trx
      .updateTable('api_keys')
      .set({ revoked_at: at, revoked_reason: 'leaked' })
      .where('id', '=', key.id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    revoked = result.numUpdatedRows === 1n;
  }
  if (!firstReport && !revoked) return { found: true, revoked: false, keyHash: null };

  const row = (await trx
    .selectFrom('api_keys')
    .selectAll()
    .where('id', '=', key.id)
    .executeTakeFirst()) as ApiKeysTable;
  await audit.record(trx, {
    orgId: row.org_id,
    actor: LEAK_ACTOR,
    action: 'api_key.leaked',
    target: { kind: 'api_key', id: row.id },
    metadata: {
      source: report.source,
      url: report.url,
      ...(report.githubSource ? { github_source: report.githubSource } : {}),
      action: revoked ? 'revoked' : 'notified',
      name: row.name,
      prefix: row.prefix,
      mode: row.mode,
    },
    ...(report.request ? { request: report.request } : {}),
  });
  const tenant = { orgId: row.org_id, mode: row.mode };
  await emitApiKeyLeaked(trx, row, { source: report.source, url: report.url }, now);
  if (revoked) {
    // Subscribers to `api_key.revoked` learn the key is dead, whatever ended it (same dedupe key as a
    // revoke through the API, so a key is announced revoked once).
    await emitChange(
      trx,
      tenant,
      'api_key.revoked',
      presentApiKey(row, now),
      now,
      `api_key.revoked:${row.id}`,
    );
  }
  return { found: true, revoked, keyHash: revoked ? row.key_hash : null };
}

/** What runs once the leak's transaction has committed: every node forgets revoked keys; deliveries wake. */
export async function afterCommit(
  deps: { bus: InvalidationBus; webhooks: { wake(): void } },
  outcomes: readonly LeakOutcome[],
): Promise<void> {
  if (outcomes.some((outcome) => outcome.found)) deps.webhooks.wake();
  for (const outcome of outcomes) {
    if (outcome.keyHash) await deps.bus.publish({ kind: 'api_key', keyHash: outcome.keyHash });
  }
}

/** Applies reports of several hashes in one transaction, then publishes; for the GitHub endpoint. */
export async function handleLeaks(
  deps: { db: Kysely<DB>; audit: AuditLog; bus: InvalidationBus; webhooks: { wake(): void } },
  reports: readonly { keyHash: string; source: LeakSource }[],
  now: number,
): Promise<LeakOutcome[]> {
  const outcomes = await deps.db.transaction().execute(async (trx) => {
    const results: LeakOutcome[] = [];
    for (const report of reports)
      results.push(await applyLeak(trx, deps.audit, report.keyHash, report.source, now));
    return results;
  });
  await afterCommit(deps, outcomes);
  return outcomes;
}
