/**
 * The sign-in page, shared by the dashboard and the OAuth flow. Plain, accessible HTML with the field
 * names browsers, password managers and automated checks expect (DESIGN §5.3).
 */
import { escapeHtml, htmlPage } from '../../http/html-page.ts';

export function loginPage(options: { returnTo: string; error?: string; email?: string }): string {
  const error = options.error
    ? `<p class="error" role="alert" id="login-error">${escapeHtml(options.error)}</p>`
    : '';
  return htmlPage(
    'Sign in',
    `  <h1>Sign in to Cohera</h1>
  ${error}
  <form method="post" action="/auth/login">
    <input type="hidden" name="return_to" value="${escapeHtml(options.returnTo)}">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(options.email ?? '')}"${error ? ' aria-describedby="login-error"' : ''}>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit">Sign in</button>
  </form>`,
  );
}

/** Only same-site relative paths may be returned to: never an open redirect (`//evil`, `/\\evil`). */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || !/^\/(?![/\\])[\x21-\x7e]*$/.test(value) || value.length > 2048)
    return '/';
  return value;
}
