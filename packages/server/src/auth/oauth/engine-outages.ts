/**
 * A database outage during an OAuth request answers like everywhere else: `503` with `Retry-After`
 * (http/errors.ts, docs/operations.md), not the engine's `500 server_error`. oidc-provider renders its own
 * errors, so our error handler never sees them; the engine reports each unexpected error through its
 * `server_error` event before rendering it, which is where the cause is classified. A Koa step around every
 * engine route then rewrites such an answer: JSON endpoints (token, introspection, revocation, device
 * authorization) get `{"error":"temporarily_unavailable"}` — RFC 6749's code for a server that cannot
 * answer for now — and pages keep their body with the status and header changed. A redirect back to the app
 * (an authorization request's error) is left as the engine made it: the app must get it, and a 503 would
 * strand the user on our host.
 */
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { DATABASE_RETRY_AFTER_SECONDS, type DatabaseAvailability } from '../../storage/availability.ts';
import { isDatabaseUnavailable } from '../../storage/unavailable.ts';

const ERROR_DESCRIPTION =
  'The service cannot reach its database just now; retry after the time in Retry-After';

export function answerEngineOutages(provider: Provider, availability: DatabaseAvailability): void {
  // The contexts whose request met an outage. A WeakSet: nothing to clean up when a request ends.
  const outages = new WeakSet<object>();
  provider.on('server_error', (ctx: KoaContextWithOIDC, error: unknown) => {
    if (!isDatabaseUnavailable(error)) return;
    outages.add(ctx);
    availability.suspect(error);
  });
  provider.use(async (ctx, next) => {
    await next();
    if (!outages.has(ctx) || ctx.status < 500) return;
    ctx.status = 503;
    ctx.set('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
    ctx.set('cache-control', 'no-store');
    if (!ctx.response.is('html')) {
      ctx.body = { error: 'temporarily_unavailable', error_description: ERROR_DESCRIPTION };
    }
  });
}
