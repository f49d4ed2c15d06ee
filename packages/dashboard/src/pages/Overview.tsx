/**
 * The landing page: the organization's tier and limits, where it stands now, last week's traffic, what the
 * security checklist says, and how to make a first call. A leaked key comes first: one that still works is
 * an alert with its remedy (Roll and revoke); one the server revoked on a report in the last 30 days is a
 * notice, since whatever used it needs a new key.
 */
import { useState } from 'react';
import { api, listAll } from '../api/client.ts';
import type { ApiKey, Organization, OrgUsage, SecurityReport } from '../api/types.ts';
import { ErrorNotice, Loading } from '../components/Notice.tsx';
import { RateMeter } from '../components/RateMeter.tsx';
import { UsageChart } from '../components/UsageChart.tsx';
import { canManage, useApp } from '../context.ts';
import { useResource } from '../hooks.ts';
import { formatCount, keyLabel } from '../lib/format.ts';
import { Link } from '../router.tsx';
import { isLeakedAndActive, LeakedBadge, LeakedKeysAlert, useLeakOrigins } from './api-keys/leaks.tsx';
import { RollAndRevokeDialog } from './api-keys/RollAndRevokeDialog.tsx';

const RECENT_MS = 30 * 86_400_000;

export function OverviewPage() {
  const { session, mode } = useApp();
  const manage = canManage(session.role);
  const org = useResource(() => api<Organization>('GET', '/v1/organization'), []);
  const usage = useResource(() => api<OrgUsage>('GET', '/v1/usage', { query: { days: 7 } }), [mode]);
  const keys = useResource(
    () => (manage ? listAll<ApiKey>('/v1/api-keys', { mode }) : Promise.resolve([] as ApiKey[])),
    [mode, manage],
  );
  const report = useResource(
    async () => ({
      mode,
      report: manage ? await api<SecurityReport>('GET', '/v1/security/report') : null,
    }),
    // The report follows the live/test switch (test mode reports test keys only), as the Security page's:
    // without the mode here the card kept the live count after a switch to test.
    [mode, manage],
  );
  // Only the current mode's report: the previous one stays loaded until the new one comes, and the card
  // must not show the live count under "Test mode" meanwhile.
  const shownReport = report.data?.mode === mode ? report.data.report : null;
  const activeKeys = keys.data?.filter((k) => k.status === 'active').length ?? null;
  const [remedying, setRemedying] = useState<ApiKey | null>(null);
  const origins = useLeakOrigins(keys.data, manage);
  const leakedActive = keys.data?.filter(isLeakedAndActive) ?? [];
  const leakedRevoked =
    keys.data?.filter(
      (k) =>
        k.revoked_reason === 'leaked' &&
        k.leaked_at !== null &&
        Date.now() - Date.parse(k.leaked_at) < RECENT_MS,
    ) ?? [];
  const failing = shownReport?.checks.filter((c) => c.status !== 'pass') ?? [];

  return (
    <>
      <LeakedKeysAlert
        keys={leakedActive}
        origins={origins.data ?? undefined}
        title={(n) => (n === 1 ? 'A leaked API key still works' : `${n} leaked API keys still work`)}
        lead="Anyone who found it can call the API as your organization. Roll and revoke it now."
        onRemedy={setRemedying}
      />
      {leakedRevoked.length > 0 ? (
        <section className="notice notice-warn" aria-labelledby="overview-leaked-revoked">
          <h2 id="overview-leaked-revoked" className="small">
            Leaked keys revoked automatically
          </h2>
          <ul>
            {leakedRevoked.map((key) => (
              <li key={key.id}>
                <strong>{key.name}</strong> <code>{keyLabel(key.prefix, key.last4)}</code>{' '}
                <LeakedBadge apiKey={key} origin={origins.data?.get(key.id)} />
              </li>
            ))}
          </ul>
          <p className="small">
            Whatever used them now fails: <Link to="/settings/api-keys">create a replacement</Link> and deploy
            it.
          </p>
        </section>
      ) : null}
      <div className="cards">
        <div className="card">
          <h2 className="small muted">Organization</h2>
          <p className="big">{session.org.name}</p>
          <p className="muted">
            You are <strong>{session.role}</strong> · signed in as {session.user.email}
          </p>
        </div>
        <div className="card">
          <h2 className="small muted">Tier</h2>
          <p className="big">{session.org.tier}</p>
          {org.data ? (
            <p className="muted">
              {formatCount(org.data.rate_limits.per_minute)}/min · {formatCount(org.data.rate_limits.per_day)}
              /day
            </p>
          ) : null}
        </div>
        {manage ? (
          <div className="card">
            <h2 className="small muted">Active {mode} API keys</h2>
            <p className="big">{activeKeys ?? '…'}</p>
            <Link to="/settings/api-keys">Manage API keys</Link>
          </div>
        ) : null}
        {manage ? (
          <div className="card">
            <h2 className="small muted">Security checklist</h2>
            <p className="big">
              {shownReport ? (failing.length === 0 ? 'All clear' : `${failing.length} to review`) : '…'}
            </p>
            <Link to="/security">Open the checklist</Link>
          </div>
        ) : null}
      </div>

      {usage.loading && !usage.data ? <Loading what="usage" /> : null}
      {usage.error ? <ErrorNotice error={usage.error} onRetry={usage.reload} /> : null}
      {usage.data ? (
        <>
          <div className="panel">
            <RateMeter label="This minute" window={usage.data.current.minute} />
            <RateMeter label="Today (UTC)" window={usage.data.current.day} />
          </div>
          <UsageChart days={usage.data.data} title="Requests per day, last 7 days" />
        </>
      ) : null}

      <section className="panel" aria-labelledby="first-call">
        <h2 id="first-call">Make a first call</h2>
        <p>
          Create a key with the scopes you need on the <Link to="/settings/api-keys">API keys</Link> page,
          then:
        </p>
        {/* The SDK and the CLI have no default server (a live key must never travel to a host the user
            does not run): the base URL is set beside the key, to this server's own origin. */}
        <pre className="code-block">
          {`export COHERA_BASE_URL=${window.location.origin}\nexport COHERA_API_KEY=ck_${mode}_…   # the key you created\ncurl -sS --fail-with-body -H "Authorization: Bearer $COHERA_API_KEY" "$COHERA_BASE_URL/v1/certificates"`}
        </pre>
        <p className="muted small">
          or with the TypeScript SDK, in the same shell: <code>new Cohera().certificates.list()</code> reads{' '}
          <code>COHERA_BASE_URL</code> and <code>COHERA_API_KEY</code>.
        </p>
        {org.error ? <ErrorNotice error={org.error} /> : null}
      </section>
      <RollAndRevokeDialog
        apiKey={remedying}
        onClose={() => setRemedying(null)}
        onDone={() => {
          keys.reload();
          report.reload();
        }}
      />
    </>
  );
}
