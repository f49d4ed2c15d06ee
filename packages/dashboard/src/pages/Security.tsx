/**
 * Security: the reference's key checklist for the organization (`GET /v1/security/report`,
 * docs/security-report.md). At the top, the reference's best practices, each tied to the checks that
 * measure it, with how many checks pass, warn and fail; then every check with the keys it found and, for
 * owners and admins, the fix: set an expiration, roll, narrow the scopes (a roll with fewer scopes),
 * revoke, or delete an old service-account key. After every change the report is computed again.
 */
import { useEffect, useRef, useState } from 'react';
import { api } from '../api/client.ts';
import type {
  ApiKey,
  Organization,
  SecurityCheck,
  SecurityKeyItem,
  SecurityReport,
  ServiceAccountKeyItem,
  UnusedScopesItem,
} from '../api/types.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { EmptyState, ErrorNotice, Loading, StatusBadge } from '../components/Notice.tsx';
import { canManage, useApp } from '../context.ts';
import { useResource } from '../hooks.ts';
import { formatDate, formatDateTime, keyLabel, relativeTime } from '../lib/format.ts';
import {
  type CheckId,
  checkAnchor,
  checkInfo,
  checksOf,
  days,
  type ItemAction,
  isServiceAccountCheck,
  itemAction,
  PRACTICES,
  type Practice,
  summarize,
} from '../lib/security-checks.ts';
import { Link } from '../router.tsx';
import { RollKeyDialog, type RollPreset } from './api-keys/RollKeyDialog.tsx';

type Item = SecurityCheck['items'][number];

/** A key about to be revoked, and the check that listed it (the dialog says why). */
interface Revoking {
  checkId: string;
  item: SecurityKeyItem;
}

/** A service-account key about to be deleted, and the check that listed it (its heading gets the focus). */
interface Deleting {
  checkId: string;
  item: ServiceAccountKeyItem;
}

export function SecurityPage() {
  const { mode, session } = useApp();
  const manage = canManage(session.role);
  // Only owners and admins may read the report (it needs `admin`): members get an explanation, no request.
  const report = useResource<SecurityReport | null>(
    () => (manage ? api<SecurityReport>('GET', '/v1/security/report') : Promise.resolve(null)),
    [mode, manage],
  );
  // For the organization's maximum key lifetime, which caps "Set an expiration"; without it, 90 days.
  const org = useResource<Organization | null>(
    () => (manage ? api<Organization>('GET', '/v1/organization') : Promise.resolve(null)),
    [manage],
  );
  const maxLifetimeDays = org.data?.policy.max_key_lifetime_days ?? null;

  const [rolling, setRolling] = useState<{
    checkId: string;
    key: ApiKey;
    preset: RollPreset | undefined;
  } | null>(null);
  const [revoking, setRevoking] = useState<Revoking | null>(null);
  const [deleting, setDeleting] = useState<Deleting | null>(null);
  /** The item whose key is being fetched for the roll dialog (`checkId:keyId`). */
  const [opening, setOpening] = useState<string | null>(null);
  const [openFailure, setOpenFailure] = useState<{ checkId: string; error: Error } | null>(null);

  // After an action the report is computed again. When that removes the row whose button had the focus (a
  // revoked key leaves the report), the focus goes to the heading of the check rather than being lost.
  const restore = useRef<{ checkId: string; data: SecurityReport | null } | null>(null);
  const afterAction = (checkId: string) => {
    restore.current = { checkId, data: report.data };
    report.reload();
  };
  const dialogOpen = rolling !== null || revoking !== null || deleting !== null;
  useEffect(() => {
    const pending = restore.current;
    if (!pending || dialogOpen || report.loading || report.data === pending.data) return;
    restore.current = null;
    const active = document.activeElement;
    if (active === null || active === document.body)
      document.getElementById(checkAnchor(pending.checkId))?.focus();
  });

  // RollKeyDialog needs the key itself: fetched when asked, so it is current (the report may be minutes old).
  const openRoll = async (check: SecurityCheck, item: Item, preset: RollPreset | undefined) => {
    if (opening) return;
    setOpening(`${check.id}:${item.key_id}`);
    try {
      const key = await api<ApiKey>('GET', `/v1/api-keys/${encodeURIComponent(item.key_id)}`);
      if (key.status === 'active' && key.replaced_by === null) {
        setRolling({ checkId: check.id, key, preset });
      } else {
        const state =
          key.status === 'active' ? `already rolled into ${key.replaced_by}` : `${key.status} now`;
        setOpenFailure({
          checkId: check.id,
          error: new Error(
            `“${key.name}” is ${state}, so there is nothing to roll. The report was refreshed.`,
          ),
        });
        afterAction(check.id);
      }
    } catch (caught) {
      setOpenFailure({
        checkId: check.id,
        error: caught instanceof Error ? caught : new Error(String(caught)),
      });
    } finally {
      setOpening(null);
    }
  };

  const act = (check: SecurityCheck, item: Item, action: ItemAction) => {
    setOpenFailure(null);
    if (action.kind === 'revoke') setRevoking({ checkId: check.id, item: item as SecurityKeyItem });
    else if (action.kind === 'delete_service_account_key')
      setDeleting({ checkId: check.id, item: item as ServiceAccountKeyItem });
    else void openRoll(check, item, action.preset);
  };

  if (!manage) {
    return (
      <>
        <Intro />
        <Practices report={null} />
        <EmptyState title="Only owners and admins can see the security report">
          <p>It lists every API key and service-account key of the organization. Ask an owner or admin.</p>
        </EmptyState>
      </>
    );
  }

  const data = report.data;
  const now = data ? Date.parse(data.generated_at) : Date.now();
  return (
    <>
      <Intro />
      {report.loading && !data ? <Loading what="the security report" /> : null}
      {report.error ? <ErrorNotice error={report.error} onRetry={report.reload} /> : null}
      {data ? (
        <>
          <Practices report={data} />
          <div className="toolbar">
            <p className="muted small security-meta">
              Generated {formatDateTime(data.generated_at)} for{' '}
              {data.modes.includes('live') ? 'live and test keys' : 'test keys only'}. Policy: keys are due
              for rotation at {days(data.policy.key_rotation_days)}; a key or scope unused for{' '}
              {days(data.policy.unused_days)} counts as unused. A rolled key stays listed until its grace
              period ends, since it works until then.
            </p>
            <span className="spacer" />
            <span className="muted small" role="status">
              {report.loading ? 'Refreshing…' : ''}
            </span>
            <button type="button" className="button secondary" onClick={report.reload}>
              Refresh
            </button>
          </div>
          {data.checks.length === 0 ? (
            <EmptyState title="The report has no checks">
              <p>The server reported no checks for this organization.</p>
            </EmptyState>
          ) : (
            <ol className="checklist" aria-label="Checks">
              {data.checks.map((check) => (
                <CheckItem
                  key={check.id}
                  check={check}
                  now={now}
                  unusedDays={data.policy.unused_days}
                  manage={manage}
                  maxLifetimeDays={maxLifetimeDays}
                  opening={opening}
                  failure={openFailure?.checkId === check.id ? openFailure.error : null}
                  onAct={act}
                />
              ))}
            </ol>
          )}
        </>
      ) : null}

      <RollKeyDialog
        apiKey={rolling?.key ?? null}
        preset={rolling?.preset}
        onClose={() => setRolling(null)}
        onRolled={() => {
          if (rolling) afterAction(rolling.checkId);
        }}
      />
      <ConfirmDialog
        title={revoking ? `Revoke “${revoking.item.name}”?` : 'Revoke key?'}
        open={revoking !== null}
        confirmLabel="Revoke key"
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return;
          await api('POST', `/v1/api-keys/${encodeURIComponent(revoking.item.key_id)}/revoke`);
          afterAction(revoking.checkId);
        }}
      >
        {revoking ? <RevokeText checkId={revoking.checkId} item={revoking.item} now={now} /> : null}
      </ConfirmDialog>
      <ConfirmDialog
        title={deleting ? `Delete a key of “${deleting.item.service_account_name}”?` : 'Delete key?'}
        open={deleting !== null}
        confirmLabel="Delete key"
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          const { service_account_id: accountId, key_id: keyId } = deleting.item;
          await api(
            'DELETE',
            `/v1/service-accounts/${encodeURIComponent(accountId)}/keys/${encodeURIComponent(keyId)}`,
          );
          afterAction(deleting.checkId);
        }}
      >
        {deleting ? (
          <>
            <p>
              Tokens signed with <code>{deleting.item.key_id}</code> stop working at once, on every server.
              This cannot be undone.
            </p>
            <p>
              Generate a new key first on the <Link to="/service-accounts">Service accounts</Link> page and
              move the service to it, or the service stops until you do.
            </p>
          </>
        ) : null}
      </ConfirmDialog>
    </>
  );
}

function Intro() {
  return (
    <p className="muted">
      The key checklist of the reference documentation, answered for your organization from its keys and their
      recorded use. It only reads: nothing changes until you act on a key.
    </p>
  );
}

/** The reference's practices, each with the checks that measure it and how they came out. */
function Practices({ report }: { report: SecurityReport | null }) {
  const counts = report ? summarize(report.checks) : null;
  return (
    <section className="panel security-practices" aria-labelledby="security-practices">
      <h2 id="security-practices">Best practices</h2>
      {counts ? (
        <p role="status">
          <span className="visually-hidden">Checks: </span>
          <span className="badge badge-fail">{counts.fail} fail</span>{' '}
          <span className="badge badge-warn">{counts.warn} warn</span>{' '}
          <span className="badge badge-pass">{counts.pass} pass</span>
        </p>
      ) : null}
      <ul className="practice-list">
        {PRACTICES.map((practice) => (
          <li key={practice.id}>
            <strong>{practice.title}</strong> <span className="muted">{practice.detail}</span>
            <PracticeChecks practice={practice} report={report} />
          </li>
        ))}
      </ul>
    </section>
  );
}

function PracticeChecks({ practice, report }: { practice: Practice; report: SecurityReport | null }) {
  if (practice.id === 'monitor') {
    return (
      <p className="muted small">
        Requests, errors and rate limiting per day and per key are on the <Link to="/usage">Usage</Link> page.
      </p>
    );
  }
  // Without a report (a member's view) there is nothing to say about the checks.
  const checks = report
    ? checksOf(practice.id).flatMap((id) => report.checks.filter((check) => check.id === id))
    : [];
  // Where keys are kept is not visible from here; reported leaks are (the `leaked_keys` check below).
  const neverCommit =
    practice.id === 'never_commit' ? (
      <p className="muted small">
        Cohera keys have a checksummed format (<code>ck_live_…</code>, <code>ck_test_…</code>) that{' '}
        <code>cohera scan</code>, pre-commit hooks and GitHub secret scanning recognise; a key reported as
        leaked is handled by your leak policy on the <Link to="/settings/api-keys">API keys</Link> page.
      </p>
    ) : null;
  if (checks.length === 0) return neverCommit;
  return (
    <>
      {neverCommit}
      <ul className="practice-checks">
        {checks.map((check) => (
          <li key={check.id}>
            <StatusBadge status={check.status} /> <a href={`#${checkAnchor(check.id)}`}>{check.title}</a>
            {check.items.length > 0 ? ` (${check.items.length})` : null}
          </li>
        ))}
      </ul>
    </>
  );
}

interface CheckItemProps {
  check: SecurityCheck;
  now: number;
  unusedDays: number;
  manage: boolean;
  maxLifetimeDays: number | null;
  opening: string | null;
  failure: Error | null;
  onAct: (check: SecurityCheck, item: Item, action: ItemAction) => void;
}

function CheckItem(props: CheckItemProps) {
  const { check, failure } = props;
  const info = checkInfo(check.id);
  const practice = info ? PRACTICES.find((p) => p.id === info.practice) : undefined;
  return (
    <li className="check-item">
      <header>
        <StatusBadge status={check.status} />
        <h2 id={checkAnchor(check.id)} tabIndex={-1}>
          {check.title}
        </h2>
      </header>
      {practice ? <p className="muted small">Practice: {practice.title}</p> : null}
      {check.items.length === 0 ? (
        <p className="notice notice-ok">Nothing to do.</p>
      ) : (
        <>
          <p>{info ? info.advice : check.suggested_action}</p>
          <CheckLinks check={check} />
          {isServiceAccountCheck(check) ? (
            <p className="notice notice-warn">
              Deleting a key ends the tokens it signed at once: generate a new key first on the{' '}
              <Link to="/service-accounts">Service accounts</Link> page and move the service to it.
            </p>
          ) : null}
          {failure ? <ErrorNotice error={failure} /> : null}
          <ItemsTable {...props} />
        </>
      )}
    </li>
  );
}

function ItemsTable(props: CheckItemProps) {
  const { check } = props;
  if (!checkInfo(check.id)) return <UnknownItems items={check.items} />;
  if (isServiceAccountCheck(check)) {
    return <ServiceAccountItems {...props} items={check.items} />;
  }
  return <KeyItems {...props} items={check.items} scopeUse={check.id === 'unused_scopes'} />;
}

function ActionButton({
  check,
  item,
  manage,
  maxLifetimeDays,
  opening,
  onAct,
}: CheckItemProps & { item: Item }) {
  if (!manage) return null;
  const action = itemAction(check, item, maxLifetimeDays);
  if (!action) return null;
  const busy = opening === `${check.id}:${item.key_id}`;
  return (
    <div className="row-actions">
      <button
        type="button"
        className={action.kind === 'roll' ? undefined : 'danger-text'}
        aria-label={action.ariaLabel}
        aria-busy={busy || undefined}
        onClick={() => onAct(check, item, action)}
      >
        {busy ? 'Opening…' : action.label}
      </button>
    </div>
  );
}

function ScopeList({ scopes }: { scopes: readonly string[] }) {
  if (scopes.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="scope-list">
      {scopes.map((scope) => (
        <li key={scope}>{scope}</li>
      ))}
    </ul>
  );
}

/** The age, and the expiry when there is one (a rolled key's grace period ends then). */
function Age({ days: age, expiresAt }: { days: number; expiresAt: string | null }) {
  return (
    <td data-label="Age">
      {days(age)}
      {expiresAt ? <span className="muted small security-note">expires {formatDate(expiresAt)}</span> : null}
    </td>
  );
}

function LastUsed({ iso, now }: { iso: string | null; now: number }) {
  return (
    <td data-label="Last used" title={iso ? formatDateTime(iso) : undefined}>
      {relativeTime(iso, now)}
    </td>
  );
}

function KeyItems(
  props: CheckItemProps & { items: (SecurityKeyItem | UnusedScopesItem)[]; scopeUse: boolean },
) {
  const { check, items, scopeUse, now, unusedDays } = props;
  return (
    <div className="table-wrap">
      <table className="table stack-on-narrow">
        <caption className="visually-hidden">Keys found: {check.title}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Mode</th>
            <th scope="col">Scopes</th>
            <th scope="col">Age</th>
            <th scope="col">Last used</th>
            <th scope="col">What to do</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.key_id} data-key-id={item.key_id}>
              <th scope="row">{item.name}</th>
              <td data-label="Key">
                <code>{keyLabel(item.prefix, item.last4)}</code>
              </td>
              <td data-label="Mode">{item.mode}</td>
              <td data-label="Scopes">
                {scopeUse && 'unused' in item ? (
                  <dl className="security-scopes">
                    <dt>Holds</dt>
                    <dd>
                      <ScopeList scopes={item.scopes} />
                    </dd>
                    <dt>Used in {days(unusedDays)}</dt>
                    <dd>
                      <ScopeList scopes={item.used} />
                    </dd>
                    <dt>Unused</dt>
                    <dd>
                      <ScopeList scopes={item.unused} />
                    </dd>
                  </dl>
                ) : (
                  <ScopeList scopes={item.scopes} />
                )}
              </td>
              <Age days={item.age_days} expiresAt={item.expires_at} />
              <LastUsed iso={item.last_used_at} now={now} />
              <td className="security-action" data-label="What to do">
                {checkInfo(check.id)?.itemAdvice ?? item.action}
                <ActionButton {...props} item={item} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ServiceAccountItems(props: CheckItemProps & { items: ServiceAccountKeyItem[] }) {
  const { check, items, now } = props;
  return (
    <div className="table-wrap">
      <table className="table stack-on-narrow">
        <caption className="visually-hidden">Keys found: {check.title}</caption>
        <thead>
          <tr>
            <th scope="col">Service account</th>
            <th scope="col">Key</th>
            <th scope="col">Mode</th>
            <th scope="col">Scope ceiling</th>
            <th scope="col">Age</th>
            <th scope="col">Last used</th>
            <th scope="col">What to do</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.key_id} data-key-id={item.key_id}>
              <th scope="row">{item.service_account_name}</th>
              <td data-label="Key">
                <code>{item.key_id}</code>
                <span className="muted small security-note">
                  {item.algorithm}, {item.origin}
                </span>
              </td>
              <td data-label="Mode">{item.mode}</td>
              <td data-label="Scope ceiling">
                <ScopeList scopes={item.scopes} />
              </td>
              <Age days={item.age_days} expiresAt={item.expires_at} />
              <LastUsed iso={item.last_used_at} now={now} />
              <td className="security-action" data-label="What to do">
                {checkInfo(check.id)?.itemAdvice ?? item.action}
                <ActionButton {...props} item={item} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Where the rest of a check's remedy is done, as buttons (the per-key ones are in the table). */
function CheckLinks({ check }: { check: SecurityCheck }) {
  const checkId = check.id;
  if (checkId === 'leaked_keys') {
    return (
      <p>
        <Link className="button secondary" to="/settings/api-keys">
          Choose what a reported leak does
        </Link>
      </p>
    );
  }
  if (isServiceAccountCheck(check)) {
    return (
      <p>
        <Link className="button secondary" to="/service-accounts">
          Generate new keys on Service accounts
        </Link>
      </p>
    );
  }
  if (checkId === 'admin_keys') {
    return (
      <p>
        <Link className="button secondary" to="/settings/api-keys">
          Create a narrower key
        </Link>
      </p>
    );
  }
  return null;
}

/** The items of a check newer than this dashboard: whatever names the key, and what to do. */
function UnknownItems({ items }: { items: readonly unknown[] }) {
  return (
    <ul>
      {items.map((raw, index) => {
        const item = raw as { key_id?: string; name?: string; action?: string };
        return (
          <li key={item.key_id ?? index}>
            {item.name ? <strong>{item.name}</strong> : null}{' '}
            {item.key_id ? <code>{item.key_id}</code> : null}
            {item.action ? `: ${item.action}` : null}
          </li>
        );
      })}
    </ul>
  );
}

/** What revoking a key means, with the reason the check listed it. */
function RevokeText({ checkId, item, now }: { checkId: string; item: SecurityKeyItem; now: number }) {
  const why: Partial<Record<CheckId, string>> = {
    unused_keys: `It was ${item.last_used_at ? `last used ${relativeTime(item.last_used_at, now)}` : 'never used'}: check that nothing still needs it.`,
    unused_scopes: 'It used none of its scopes recently: check that nothing still needs it.',
    admin_keys: 'It holds admin. Check that no script or tool still administers the organization with it.',
  };
  const reason = checkInfo(checkId) ? why[checkId as CheckId] : undefined;
  return (
    <>
      <p>
        Requests with <code>{keyLabel(item.prefix, item.last4)}</code> fail from now on, on every server
        within a second. This cannot be undone.
      </p>
      {reason ? <p>{reason}</p> : null}
    </>
  );
}
