/**
 * The shell: signs in (or sends the browser to the shared sign-in page), then shows the organization, the
 * role, the tier and the live/test switch on every page, the navigation, and the current page. A page
 * change moves the focus to the page's heading and updates the document title.
 */
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiProblem, api, configureApi, signInUrl } from './api/client.ts';
import type { Mode, Session } from './api/types.ts';
import { ErrorNotice, Loading } from './components/Notice.tsx';
import { AppContext, type AppState, useApp } from './context.ts';
import { ApiKeysPage } from './pages/ApiKeys.tsx';
import { AuditLogPage } from './pages/AuditLog.tsx';
import { AuthorizedAppsPage } from './pages/AuthorizedApps.tsx';
import { DevelopersPage } from './pages/Developers.tsx';
import { OverviewPage } from './pages/Overview.tsx';
import { SecurityPage } from './pages/Security.tsx';
import { ServiceAccountsPage } from './pages/ServiceAccounts.tsx';
import { TeamPage } from './pages/Team.tsx';
import { UsagePage } from './pages/Usage.tsx';
import { WebhooksPage } from './pages/Webhooks.tsx';
import { BASE, Link, usePath } from './router.tsx';

interface PageEntry {
  path: string;
  title: string;
  nav: string;
  render: () => ReactNode;
}

export const PAGES: PageEntry[] = [
  { path: '/', title: 'Overview', nav: 'Overview', render: () => <OverviewPage /> },
  { path: '/settings/api-keys', title: 'API keys', nav: 'API keys', render: () => <ApiKeysPage /> },
  { path: '/usage', title: 'Usage', nav: 'Usage', render: () => <UsagePage /> },
  {
    path: '/service-accounts',
    title: 'Service accounts',
    nav: 'Service accounts',
    render: () => <ServiceAccountsPage />,
  },
  {
    path: '/developers',
    title: 'Developer console',
    nav: 'Developer console',
    render: () => <DevelopersPage />,
  },
  { path: '/settings/webhooks', title: 'Webhooks', nav: 'Webhooks', render: () => <WebhooksPage /> },
  {
    path: '/settings/authorized-apps',
    title: 'Authorized apps',
    nav: 'Authorized apps',
    render: () => <AuthorizedAppsPage />,
  },
  { path: '/settings/team', title: 'Team', nav: 'Team', render: () => <TeamPage /> },
  { path: '/audit', title: 'Audit log', nav: 'Audit log', render: () => <AuditLogPage /> },
  { path: '/security', title: 'Security', nav: 'Security', render: () => <SecurityPage /> },
];

function signIn(): void {
  window.location.assign(signInUrl(window.location.pathname + window.location.search));
}

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const [mode, setModeState] = useState<Mode>('live');
  // After Sign out: a page that says so (and drops everything of the organization from the screen),
  // instead of a bare sign-in form that leaves the person wondering whether it worked.
  const [signedOut, setSignedOut] = useState(false);
  const onSignedOut = useCallback(() => {
    setSession(null);
    setSignedOut(true);
  }, []);

  const load = useCallback(() => {
    setFailure(null);
    api<Session>('GET', '/auth/session').then(
      (found) => {
        configureApi({ csrfToken: found.csrf_token, onSignedOut: signIn });
        setSession(found);
      },
      (error: unknown) => {
        if (error instanceof ApiProblem && error.status === 401) signIn();
        else setFailure(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }, []);
  useEffect(() => load(), [load]);

  const setMode = useCallback((next: Mode) => {
    configureApi({ mode: next });
    setModeState(next);
  }, []);

  const state = useMemo<AppState | null>(
    () => (session ? { session, mode, setMode } : null),
    [session, mode, setMode],
  );

  if (signedOut) {
    return (
      <main className="boot signed-out">
        <h1>You are signed out</h1>
        <p role="status">Your session has ended on this browser. Close the tab, or sign in again.</p>
        <a className="button" href={signInUrl(BASE)}>
          Sign in again
        </a>
      </main>
    );
  }
  if (failure) {
    return (
      <main className="boot">
        <h1>Cohera</h1>
        <ErrorNotice error={failure} onRetry={load} />
      </main>
    );
  }
  if (!state) {
    return (
      <main className="boot">
        <Loading what="your session" />
      </main>
    );
  }
  return (
    <AppContext.Provider value={state}>
      <Shell onSignedOut={onSignedOut} />
    </AppContext.Provider>
  );
}

function Shell({ onSignedOut }: { onSignedOut: () => void }) {
  const { path } = usePath();
  const page = PAGES.find((p) => p.path === path);
  const heading = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);
  const [menuOpen, setMenuOpen] = useState(false);

  useEffect(() => {
    document.title = `${page?.title ?? 'Not found'} · Cohera Dashboard`;
    setMenuOpen(false);
    // Not on the first render: the browser's own focus start is right for a fresh page load.
    if (first.current) first.current = false;
    else heading.current?.focus();
  }, [page]);

  return (
    <div className="layout">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header
        menuOpen={menuOpen}
        onToggleMenu={() => setMenuOpen((open) => !open)}
        onSignedOut={onSignedOut}
      />
      <nav id="primary-nav" className={menuOpen ? 'sidebar open' : 'sidebar'} aria-label="Dashboard">
        <ul>
          {PAGES.map((p) => (
            <li key={p.path}>
              <Link to={p.path} aria-current={p.path === path ? 'page' : undefined}>
                {p.nav}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" className="content">
        <h1 ref={heading} tabIndex={-1}>
          {page?.title ?? 'Page not found'}
        </h1>
        {page ? (
          page.render()
        ) : (
          <p>
            There is no page at <code>{`${BASE}${path}`}</code>. <Link to="/">Go to the overview</Link>.
          </p>
        )}
      </main>
    </div>
  );
}

function Header({
  menuOpen,
  onToggleMenu,
  onSignedOut,
}: {
  menuOpen: boolean;
  onToggleMenu: () => void;
  onSignedOut: () => void;
}) {
  const { session, mode, setMode } = useApp();
  const [signingOut, setSigningOut] = useState(false);
  const signOut = async () => {
    setSigningOut(true);
    try {
      await api('POST', '/auth/logout');
      onSignedOut();
    } catch {
      // Whatever failed (the session had already ended, say), the sign-in page is where to go next.
      window.location.assign(signInUrl(BASE));
    }
  };
  return (
    <header className="topbar">
      <button
        type="button"
        className="menu-button"
        aria-expanded={menuOpen}
        aria-controls="primary-nav"
        onClick={onToggleMenu}
      >
        Menu
      </button>
      <Link to="/" className="brand">
        Cohera
      </Link>
      <div className="org">
        <span className="org-name">{session.org.name}</span>
        <span className="badge" title="Your role">
          {session.role}
        </span>
        <span className={`badge badge-tier-${session.org.tier}`} title="Tier">
          {session.org.tier}
        </span>
      </div>
      <fieldset className="mode-switch">
        <legend className="visually-hidden">Data mode</legend>
        <button type="button" aria-pressed={mode === 'live'} onClick={() => setMode('live')}>
          Live
        </button>
        <button type="button" aria-pressed={mode === 'test'} onClick={() => setMode('test')}>
          Test
        </button>
      </fieldset>
      <span className="user muted">{session.user.email}</span>
      <button type="button" className="button secondary" onClick={signOut} disabled={signingOut}>
        Sign out
      </button>
      {mode === 'test' ? (
        <p className="test-banner" role="status">
          Test mode: you are seeing test data. Test keys (ck_test_…) cannot touch live data.
        </p>
      ) : null}
    </header>
  );
}
