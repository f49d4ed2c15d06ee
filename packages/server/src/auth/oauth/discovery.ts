/**
 * The authorization server metadata (RFC 8414) as the engine writes it, corrected where it describes the
 * engine's OpenID defaults rather than this server: `scopes_supported` lists what an app may request here
 * (RFC 8414 §2: the scope values used at the authorization endpoint) — every API scope, the wildcards
 * included (DESIGN §3), and `offline_access`, which is accepted and changes nothing — and not `openid`,
 * which is refused with `invalid_scope` (this is not an OpenID provider).
 */
import { SCOPES } from '@cohera/shared';
import type Provider from 'oidc-provider';

export const SCOPES_SUPPORTED: readonly string[] = [...SCOPES, 'offline_access'];

export function correctDiscoveryMetadata(provider: Provider): void {
  provider.use(async (ctx, next) => {
    await next();
    const body: unknown = ctx.body;
    if (ctx.oidc?.route === 'discovery' && ctx.status === 200 && body && typeof body === 'object') {
      (body as { scopes_supported?: string[] }).scopes_supported = [...SCOPES_SUPPORTED];
    }
  });
}
