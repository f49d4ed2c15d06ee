/**
 * Leaked keys in the dashboard (DESIGN §5.6): a leaked key must be unmistakable wherever keys are shown.
 * Where a leak was found is in the `api_key.leaked` audit events (the key object carries only when), so
 * owners and admins, who may read the audit log, also see where; members see when.
 */
import { useId } from 'react';
import { api } from '../../api/client.ts';
import type { ApiKey, AuditEvent } from '../../api/types.ts';
import { useResource } from '../../hooks.ts';
import { formatDateTime, keyLabel, relativeTime } from '../../lib/format.ts';

export interface LeakOrigin {
  source: string;
  url: string | null;
}

/** A leaked key that still works: the org's policy is `notify`, and nobody has rolled or revoked it yet. */
export function isLeakedAndActive(key: ApiKey): boolean {
  return key.leaked_at !== null && key.status === 'active';
}

/** Where each leaked key was found (first report), by key id; empty when the audit log is not readable. */
export function useLeakOrigins(keys: readonly ApiKey[] | null, canReadAudit: boolean) {
  const leaked = (keys ?? []).filter((k) => k.leaked_at !== null).map((k) => k.id);
  return useResource(async () => {
    const origins = new Map<string, LeakOrigin>();
    if (!canReadAudit || leaked.length === 0) return origins;
    try {
      const page = await api<{ data: AuditEvent[] }>('GET', '/v1/audit-events', {
        query: { action: 'api_key.leaked', limit: 100 },
      });
      // Newest first: the last one seen for a key is its first report.
      for (const event of page.data) {
        if (!event.target) continue;
        const { source, url } = event.metadata as { source?: unknown; url?: unknown };
        origins.set(event.target.id, {
          source: typeof source === 'string' ? source : 'unknown',
          url: typeof url === 'string' ? url : null,
        });
      }
    } catch {
      // The origin is a detail: without it the badge still says the key leaked, and when.
    }
    return origins;
  }, [leaked.join(','), canReadAudit]);
}

const SOURCES: Record<string, string> = {
  github: 'GitHub secret scanning',
  public: 'a public report (/v1/credentials/revoke)',
};

/**
 * "Leaked", when, and where: in words, so colour is never the only signal. `compact` (the key table's
 * status cell) says only when, with where in the tooltip: the alert above the table has the whole story,
 * and a long sentence in a narrow column would push the row's actions out of view.
 */
export function LeakedBadge({
  apiKey,
  origin,
  compact = false,
}: {
  apiKey: ApiKey;
  origin?: LeakOrigin | undefined;
  compact?: boolean;
}) {
  if (apiKey.leaked_at === null) return null;
  if (compact) {
    const where = origin ? ` by ${SOURCES[origin.source] ?? origin.source}` : '';
    return (
      <span className="leak" data-leaked="true" title={`${formatDateTime(apiKey.leaked_at)}${where}`}>
        <span className="badge badge-fail">Leaked</span>{' '}
        <span className="small">{relativeTime(apiKey.leaked_at)}</span>
      </span>
    );
  }
  return (
    <span className="leak" data-leaked="true">
      <span className="badge badge-fail">Leaked</span>{' '}
      <span className="small" title={formatDateTime(apiKey.leaked_at)}>
        reported {relativeTime(apiKey.leaked_at)}
        {origin ? <> by {SOURCES[origin.source] ?? origin.source}</> : null}
        {origin?.url ? (
          <>
            {' '}
            ·{' '}
            <a href={origin.url} target="_blank" rel="noopener noreferrer">
              where it was found
            </a>
          </>
        ) : null}
      </span>
    </span>
  );
}

/**
 * The alert for leaked keys that still work, with the remedy per key: the same on the Overview and above
 * the key list, where only the wording differs.
 */
export function LeakedKeysAlert({
  keys,
  origins,
  title,
  lead,
  onRemedy,
}: {
  keys: readonly ApiKey[];
  origins: ReadonlyMap<string, LeakOrigin> | undefined;
  title: (count: number) => string;
  lead: string;
  onRemedy: (key: ApiKey) => void;
}) {
  const titleId = useId();
  if (keys.length === 0) return null;
  return (
    <section className="notice notice-error" role="alert" aria-labelledby={titleId}>
      <h2 id={titleId} className="small">
        {title(keys.length)}
      </h2>
      <p>{lead}</p>
      <ul>
        {keys.map((key) => (
          <li key={key.id}>
            <strong>{key.name}</strong> <code>{keyLabel(key.prefix, key.last4)}</code>{' '}
            <LeakedBadge apiKey={key} origin={origins?.get(key.id)} />{' '}
            <button type="button" className="button danger" onClick={() => onRemedy(key)}>
              Roll and revoke {key.name}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
