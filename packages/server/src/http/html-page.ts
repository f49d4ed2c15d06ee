/**
 * The server-rendered pages (sign-in, OAuth consent, OAuth errors): one layout and one style, plain and
 * accessible HTML with no script, sent with a CSP that allows nothing but the inline style and same-origin
 * form posts (and the OAuth client's origins, where a flow ends), refuses every frame, and never cached.
 */
import { isSerializedOrigin } from '@cohera/shared';
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

/**
 * A whole page; `body` is trusted HTML built by the caller with escapeHtml for every value. The icon is
 * the dashboard's (same origin, `img-src 'self'`): without one, browsers ask for /favicon.ico, a 404 on
 * every sign-in.
 */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Cohera</title>
<link rel="icon" type="image/svg+xml" href="/dashboard/favicon.svg">
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

const SCRIPT_HASH = /^'sha256-[A-Za-z0-9+/]{43}='$/;

/**
 * The Content-Security-Policy of every HTML page the server renders (and of the OAuth engine's, see
 * auth/oauth/engine-headers.ts). Built only from constants and values that match a strict grammar:
 * - `frame-ancestors 'none'` comes first. A browser obeys the first occurrence of a directive and ignores
 *   repeats, so nothing after it (an injected `; frame-ancestors https://evil`, say) can make the page
 *   frameable: the sign-in and consent pages must never be clickjacked into a grant;
 * - `formActions`: origins a form on the page may end up at. Browsers apply `form-action` to the redirects
 *   that follow a form post too, and a sign-in or consent in the OAuth flow ends with a redirect to the
 *   client's registered redirect URI, so those origins (and only those) are listed beside our own. Each must
 *   be a serialized origin (`scheme://host[:port]`, isSerializedOrigin); anything else is dropped, never
 *   pasted, whatever the caller passed;
 * - `scriptHashes`: `'sha256-…'` sources for an inline script (the engine's form_post page has one); none of
 *   our pages runs a script.
 */
export function pageCsp(formActions: readonly string[] = [], scriptHashes: readonly string[] = []): string {
  const origins = [...new Set(formActions.filter(isSerializedOrigin))];
  const hashes = [...new Set(scriptHashes.filter((hash) => SCRIPT_HASH.test(hash)))];
  return [
    "frame-ancestors 'none'",
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    // The page's icon only (the dashboard's favicon.svg); no page here shows any other image.
    "img-src 'self'",
    ...(hashes.length ? [`script-src ${hashes.join(' ')}`] : []),
    `form-action ${["'self'", ...origins].join(' ')}`,
    "base-uri 'none'",
  ].join('; ');
}

/**
 * The headers of an HTML page written straight to the raw response (a hijacked reply): the same policy, and
 * `X-Frame-Options: DENY` for browsers that predate `frame-ancestors`.
 */
export function pageHeaders(formActions?: readonly string[]): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': pageCsp(formActions),
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
  };
}

export function sendHtml(reply: FastifyReply, status: number, html: string, formActions?: readonly string[]) {
  return reply.code(status).headers(pageHeaders(formActions)).send(html);
}
