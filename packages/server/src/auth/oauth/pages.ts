/**
 * The consent page and the OAuth error page. The consent form has exactly the controls DESIGN §5.3 names
 * (`button[name=decision][value=allow|deny]`) so browsers and automated checks can drive it; every scope is
 * said in words, and scopes the user cannot grant are listed apart, so nobody believes they granted them.
 */
import { SCOPE_DESCRIPTIONS, type Scope } from '@cohera/shared';
import { escapeHtml, htmlPage } from '../../http/html-page.ts';

export interface ConsentView {
  uid: string;
  clientName: string;
  /** The org that registered the app (so a look-alike name from another org is visible as such). */
  developerOrgName: string;
  /** The org the user is granting access to. */
  orgName: string;
  userEmail: string;
  /** Where the browser goes back to; null in the device flow (the app is on another device). */
  redirectHost: string | null;
  /** The device flow's user code, `XXXX-XXXX`: the person checks their device shows the same. */
  userCode?: string;
  grantable: readonly Scope[];
  /** Requested, but beyond what the user holds or the app registered. */
  notGrantable: readonly string[];
  mode: 'live' | 'test';
  csrfToken: string;
}

function scopeItem(scope: string): string {
  const words = (SCOPE_DESCRIPTIONS as Record<string, string>)[scope] ?? 'Unknown permission';
  return `<li>${escapeHtml(words)} <code>${escapeHtml(scope)}</code></li>`;
}

export function consentPage(view: ConsentView): string {
  const notGrantable = view.notGrantable.length
    ? `<p class="muted">Also requested, but not yours to grant here; the app will not get it:</p>
  <ul class="scopes muted">${view.notGrantable.map(scopeItem).join('')}</ul>`
    : '';
  const deviceNote = view.userCode
    ? `<p>Check that your device shows the code <code id="user-code">${escapeHtml(view.userCode)}</code>. If it
  does not, or you did not start this sign-in yourself, deny.</p>`
    : '';
  const returnNote = view.redirectHost
    ? `You will be sent back to <code>${escapeHtml(view.redirectHost)}</code>.`
    : 'When you allow it, your device is signed in; you can go back to it.';
  const testNote =
    view.mode === 'test' ? '<p class="muted">This is a test-mode app: it sees only test data.</p>' : '';
  return htmlPage(
    'Authorize access',
    `  <h1>Authorize ${escapeHtml(view.clientName)}</h1>
  <p><strong>${escapeHtml(view.clientName)}</strong> (registered by ${escapeHtml(view.developerOrgName)}) wants to
  access <strong>${escapeHtml(view.orgName)}</strong> on your behalf, signed in as ${escapeHtml(view.userEmail)}.</p>
  ${deviceNote}
  ${testNote}
  <p>It will be able to:</p>
  <ul class="scopes" id="scopes">${view.grantable.map(scopeItem).join('')}</ul>
  ${notGrantable}
  <p class="muted">${returnNote} You can revoke this access at any time.</p>
  <form method="post" action="/oauth/interaction/${escapeHtml(view.uid)}/decision">
    <input type="hidden" name="csrf_token" value="${escapeHtml(view.csrfToken)}">
    <div class="actions">
      <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
      <button type="submit" name="decision" value="allow">Allow</button>
    </div>
  </form>`,
  );
}

/** When the engine cannot redirect (unknown client, unregistered redirect URI), it shows this page. */
export function errorPage(error: string, description: string): string {
  return htmlPage(
    'Authorization failed',
    `  <h1>This authorization request cannot continue</h1>
  <p class="error" role="alert"><code>${escapeHtml(error)}</code>${description ? `: ${escapeHtml(description)}` : ''}</p>
  <p class="muted">Nothing was shared with the application. If you followed a link from an app, tell its
  developer; the request was not sent back to it because its redirect address could not be trusted.</p>`,
  );
}
