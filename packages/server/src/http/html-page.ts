/**
 * The server-rendered pages (sign-in, OAuth consent, OAuth errors): one layout and one style, plain and
 * accessible HTML with no script, sent with a CSP that allows nothing but the inline style and same-origin
 * form posts, and never cached.
 */
import type { FastifyReply } from 'fastify';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; background: #f5f6f8; color: #1b1f24; margin: 0; }
  main { max-width: 26rem; margin: 10vh auto; background: #fff; padding: 2rem; border-radius: 12px;
         box-shadow: 0 1px 3px rgb(0 0 0 / 0.12); }
  h1 { font-size: 1.4rem; margin: 0 0 1.5rem; }
  label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
  input { width: 100%; box-sizing: border-box; padding: 0.6rem; font: inherit; border: 1px solid #b8bec7;
          border-radius: 6px; }
  input:focus, button:focus { outline: 2px solid #2f6feb; outline-offset: 1px; }
  button { margin-top: 1.5rem; width: 100%; padding: 0.7rem; font: inherit; font-weight: 600; color: #fff;
           background: #2f6feb; border: 0; border-radius: 6px; cursor: pointer; }
  button.secondary { color: #1b1f24; background: #e7eaee; }
  .actions { display: flex; gap: 0.75rem; }
  .actions button { flex: 1; }
  .error { color: #a40e26; background: #ffebe9; padding: 0.6rem; border-radius: 6px; }
  .muted { color: #57606a; font-size: 0.9rem; }
  ul.scopes { padding-left: 1.2rem; }
  ul.scopes li { margin: 0.35rem 0; }
  code { font-size: 0.85rem; background: #f0f2f4; padding: 0.1rem 0.3rem; border-radius: 4px; }`;

/** A whole page; `body` is trusted HTML built by the caller with escapeHtml for every value. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Cohera</title>
<style>${STYLE}
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

/**
 * `formActions`: origins a form on the page may end up at. Browsers apply `form-action` to the redirects
 * that follow a form post too, and a sign-in or consent in the OAuth flow ends with a redirect to the
 * client's registered redirect URI, so those origins (and only those) are listed beside our own.
 */
export function pageCsp(formActions: readonly string[] = []): string {
  const sources = ["'self'", ...formActions].join(' ');
  return `default-src 'none'; style-src 'unsafe-inline'; form-action ${sources}; frame-ancestors 'none'`;
}

export function sendHtml(reply: FastifyReply, status: number, html: string, formActions?: readonly string[]) {
  return reply
    .code(status)
    .header('content-security-policy', pageCsp(formActions))
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(html);
}
