/**
 * The dashboard: the built React app (packages/dashboard/dist) served at `/dashboard/`, and `/` sent there.
 * Files are the build's own: the list is read once at start-up, so a request names one of them or gets the
 * app's index.html (the SPA's client-side routes: `/dashboard/settings/api-keys`), and no path can reach
 * outside the build. Hashed assets are cached for a year; index.html never, so a new build shows at once.
 *
 * The app holds no secret of its own: it signs in with the session cookie of `/auth/login` and sends the
 * CSRF token from `GET /auth/session` on every state change, like any other same-origin page.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { htmlPage, sendHtml } from '../http/html-page.ts';

/** Where `npm run build -w @cohera/dashboard` writes (the install step runs it). */
export const DEFAULT_DASHBOARD_DIR = resolve(import.meta.dirname, '../../../dashboard/dist');

/**
 * The app's own scripts and styles only: no inline script, no eval, no third-party origin; framing refused
 * (clickjacking on the key and revoke buttons), first, as in every policy the server builds (a browser obeys
 * the first occurrence of a directive); API calls to this origin only.
 */
export const DASHBOARD_CSP = [
  "frame-ancestors 'none'",
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function listFiles(root: string): Set<string> {
  const files = new Set<string>();
  for (const entry of readdirSync(root, { recursive: true })) {
    const relative = String(entry);
    if (statSync(join(root, relative)).isFile()) files.add(relative.split(sep).join('/'));
  }
  return files;
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'same-origin')
    .header('cross-origin-opener-policy', 'same-origin');
}

export function dashboardRoutes(options: { dir?: string } = {}): FastifyPluginAsync {
  return async function dashboard(app) {
    const dir = options.dir ?? DEFAULT_DASHBOARD_DIR;
    const built = existsSync(join(dir, 'index.html'));
    const files = built ? listFiles(dir) : new Set<string>();
    if (!built) {
      app.log.warn(
        { dir },
        'the dashboard is not built: run `npm run build -w @cohera/dashboard` (npm install does it)',
      );
    }
    const route = { config: { access: { public: true as const } }, schema: { hide: true } };
    await app.register(fastifyStatic, { root: dir, serve: false });

    app.get('/', route, async (_request, reply) => reply.redirect('/dashboard/', 302));
    const serve = async (path: string, reply: FastifyReply) => {
      if (!built) {
        return sendHtml(
          reply,
          503,
          htmlPage(
            'Dashboard not built',
            '<h1>The dashboard is not built</h1><p>Run <code>npm install</code> (or <code>npm run build -w @cohera/dashboard</code>) and restart the server.</p>',
          ),
        );
      }
      securityHeaders(reply);
      if (files.has(path) && path !== 'index.html') {
        // Vite names every asset by its content hash: a changed file is a new name.
        const immutable = path.startsWith('assets/');
        return reply.sendFile(path, {
          maxAge: immutable ? 365 * 24 * 3600 * 1000 : 0,
          immutable,
          cacheControl: true,
        });
      }
      // Anything else under /dashboard/ is a client-side route of the app.
      reply.header('cache-control', 'no-cache');
      return reply.sendFile('index.html', { cacheControl: false });
    };

    // The router ignores trailing slashes, so this route also answers `/dashboard/`: only the bare path
    // is sent to the canonical one (the app's links and its relative URLs assume the slash).
    app.get('/dashboard', route, async (request, reply) =>
      request.url.split('?')[0] === '/dashboard' ? reply.redirect('/dashboard/', 301) : serve('', reply),
    );
    app.get<{ Params: { '*': string } }>('/dashboard/*', route, async (request, reply) =>
      serve(request.params['*'], reply),
    );
  };
}
