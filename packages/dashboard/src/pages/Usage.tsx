/**
 * Usage (the reference's "Monitor usage: review API key usage in the dashboard"): the organization's daily
 * requests, errors and rate-limited requests in the current mode, where it stands against its tier's limits
 * right now, and the same chart for any one key.
 */
import { useId, useState } from 'react';
import { api, listAll } from '../api/client.ts';
import type { ApiKey, ApiKeyUsage, OrgUsage } from '../api/types.ts';
import { EmptyState, ErrorNotice, Loading } from '../components/Notice.tsx';
import { RateMeter } from '../components/RateMeter.tsx';
import { UsageChart } from '../components/UsageChart.tsx';
import { useApp } from '../context.ts';
import { useResource } from '../hooks.ts';
import { keyLabel } from '../lib/format.ts';
import { navigate, usePath } from '../router.tsx';

const PERIODS = [7, 30, 90] as const;

export function UsagePage() {
  const { mode, session } = useApp();
  const { search } = usePath();
  const [days, setDays] = useState<number>(30);
  // `key_id`, not `key`: a parameter named like a credential is refused by the server's guard against keys
  // in URLs, and this URL is loaded from the server when reloaded or shared.
  const keyId = search.get('key_id') ?? '';
  const ids = { period: useId(), key: useId() };

  const org = useResource(() => api<OrgUsage>('GET', '/v1/usage', { query: { days } }), [days, mode]);
  const keys = useResource(() => listAll<ApiKey>('/v1/api-keys', { mode }), [mode]);
  const keyUsage = useResource(
    () =>
      keyId
        ? api<ApiKeyUsage>('GET', `/v1/api-keys/${encodeURIComponent(keyId)}/usage`, { query: { days } })
        : Promise.resolve(null),
    [keyId, days],
  );
  const selected = keys.data?.find((k) => k.id === keyId) ?? null;

  return (
    <>
      <div className="toolbar">
        <div>
          <label htmlFor={ids.period}>Period</label>
          <select
            id={ids.period}
            value={days}
            onChange={(event) => setDays(Number(event.currentTarget.value))}
          >
            {PERIODS.map((period) => (
              <option key={period} value={period}>
                Last {period} days
              </option>
            ))}
          </select>
        </div>
      </div>

      <section aria-labelledby="standing">
        <h2 id="standing">Rate limits right now</h2>
        {org.loading && !org.data ? <Loading what="usage" /> : null}
        {org.error ? <ErrorNotice error={org.error} onRetry={org.reload} /> : null}
        {org.data ? (
          <div className="panel">
            <p className="muted">
              {session.org.name} is on the <strong>{session.org.tier}</strong> tier:{' '}
              {org.data.rate_limits.per_minute.toLocaleString('en-US')} requests a minute and{' '}
              {org.data.rate_limits.per_day.toLocaleString('en-US')} a day, shared by every credential of the
              organization.
            </p>
            <RateMeter label="This minute" window={org.data.current.minute} />
            <RateMeter label="Today (UTC)" window={org.data.current.day} />
          </div>
        ) : null}
      </section>

      <section aria-labelledby="org-usage">
        <h2 id="org-usage">All requests ({mode})</h2>
        {org.data ? <UsageChart days={org.data.data} title={`Requests per day, last ${days} days`} /> : null}
      </section>

      <section aria-labelledby="key-usage">
        <h2 id="key-usage">One key</h2>
        {keys.error ? <ErrorNotice error={keys.error} onRetry={keys.reload} /> : null}
        {keys.data && keys.data.length === 0 ? (
          <EmptyState title={`No ${mode} API keys`}>
            <p>Usage per key appears here once you have keys.</p>
          </EmptyState>
        ) : null}
        {keys.data && keys.data.length > 0 ? (
          <>
            <label htmlFor={ids.key}>API key</label>
            <select
              id={ids.key}
              value={keyId}
              onChange={(event) => {
                const id = event.currentTarget.value;
                navigate(id ? `/usage?key_id=${encodeURIComponent(id)}` : '/usage');
              }}
            >
              <option value="">Choose a key…</option>
              {keys.data.map((key) => (
                <option key={key.id} value={key.id}>
                  {key.name} ({keyLabel(key.prefix, key.last4)}, {key.status})
                </option>
              ))}
            </select>
            {keyUsage.error ? <ErrorNotice error={keyUsage.error} onRetry={keyUsage.reload} /> : null}
            {keyUsage.loading && keyId ? <Loading what="key usage" /> : null}
            {keyUsage.data && selected ? (
              <UsageChart days={keyUsage.data.data} title={`${selected.name}: requests per day`} />
            ) : null}
          </>
        ) : null}
      </section>
    </>
  );
}
