/**
 * The sign-in page, shared by the dashboard and the OAuth flow. Plain, accessible HTML with the field
 * names browsers, password managers and automated checks expect (DESIGN §5.3).
 */
function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function loginPage(options: { returnTo: string; error?: string; email?: string }): string {
  const error = options.error
    ? `<p class="error" role="alert" id="login-error">${escapeHtml(options.error)}</p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Cohera</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; background: #f5f6f8; color: #1b1f24; margin: 0; }
  main { max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem; border-radius: 12px;
         box-shadow: 0 1px 3px rgb(0 0 0 / 0.12); }
  h1 { font-size: 1.4rem; margin: 0 0 1.5rem; }
  label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
  input { width: 100%; box-sizing: border-box; padding: 0.6rem; font: inherit; border: 1px solid #b8bec7;
          border-radius: 6px; }
  input:focus { outline: 2px solid #2f6feb; outline-offset: 1px; }
  button { margin-top: 1.5rem; width: 100%; padding: 0.7rem; font: inherit; font-weight: 600; color: #fff;
           background: #2f6feb; border: 0; border-radius: 6px; cursor: pointer; }
  .error { color: #a40e26; background: #ffebe9; padding: 0.6rem; border-radius: 6px; }
</style>
</head>
<body>
<main>
  <h1>Sign in to Cohera</h1>
  ${error}
  <form method="post" action="/auth/login">
    <input type="hidden" name="return_to" value="${escapeHtml(options.returnTo)}">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(options.email ?? '')}"${error ? ' aria-describedby="login-error"' : ''}>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit">Sign in</button>
  </form>
</main>
</body>
</html>`;
}

/** Only same-site relative paths may be returned to: never an open redirect (`//evil`, `/\\evil`). */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || !/^\/(?![/\\])[\x21-\x7e]*$/.test(value) || value.length > 2048)
    return '/';
  return value;
}
