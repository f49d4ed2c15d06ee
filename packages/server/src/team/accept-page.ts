/**
 * The page at an invitation's link (docs/team.md#accepting-an-invitation): the same plain, script-free,
 * unframeable layout as the sign-in page (http/html-page.ts). A new person chooses a password; someone who
 * already has an account (in any org) signs in with theirs. The e-mail is the invitation's and cannot be
 * changed. The token travels back in a hidden field of a same-origin POST, never in a URL we log.
 */
import { escapeHtml, htmlPage } from '../http/html-page.ts';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

export interface AcceptPageOptions {
  token: string;
  email: string;
  orgName: string;
  role: string;
  /** The invitee already has an account: they sign in rather than choose a password. */
  existingUser: boolean;
  error?: string;
}

export function acceptPage(options: AcceptPageOptions): string {
  const error = options.error
    ? `<p class="error" role="alert" id="accept-error">${escapeHtml(options.error)}</p>`
    : '';
  const describedBy = options.error ? ' aria-describedby="accept-error"' : '';
  const fields = options.existingUser
    ? `<label for="password">Your Cohera password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required${describedBy}>
    <p class="muted">You already have a Cohera account: sign in to join.</p>
    <button type="submit">Sign in and join</button>`
    : `<label for="password">Choose a password</label>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" maxlength="${MAX_PASSWORD_LENGTH}" aria-describedby="password-rules"${options.error ? ' aria-invalid="true"' : ''}>
    <p class="muted" id="password-rules">At least ${MIN_PASSWORD_LENGTH} characters. A passphrase of a few words is easy to remember.</p>
    <label for="password_confirmation">Repeat the password</label>
    <input id="password_confirmation" name="password_confirmation" type="password" autocomplete="new-password" required>
    <button type="submit">Create account and join</button>`;
  return htmlPage(
    'Join organization',
    `  <h1>Join ${escapeHtml(options.orgName)}</h1>
  <p>You were invited as <strong>${escapeHtml(options.role)}</strong>.</p>
  ${error}
  <form method="post" action="/invitations/accept">
    <input type="hidden" name="token" value="${escapeHtml(options.token)}">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="username" value="${escapeHtml(options.email)}" readonly>
    ${fields}
  </form>`,
  );
}

/** A dead end: the link is invalid, used, withdrawn or expired, or guessing was too fast. */
export function acceptProblemPage(message: string): string {
  return htmlPage(
    'Invitation',
    `  <h1>Invitation</h1>
  <p class="error" role="alert">${escapeHtml(message)}</p>
  <p><a href="/auth/login?return_to=%2Fdashboard%2F">Sign in to Cohera</a></p>`,
  );
}

/** Password rules for a new account: why a choice is refused, or null. */
export function passwordProblem(
  password: string,
  confirmation: string | undefined,
  email: string,
): string | null {
  if (password.length < MIN_PASSWORD_LENGTH)
    return `The password must be at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password.length > MAX_PASSWORD_LENGTH)
    return `The password must be at most ${MAX_PASSWORD_LENGTH} characters.`;
  if (password.trim().toLowerCase() === email) return 'The password must not be your e-mail address.';
  if (confirmation !== password) return 'The two passwords are not the same.';
  return null;
}
