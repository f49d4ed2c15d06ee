/**
 * The first-party client the server provisions (migration 0013): `cohera-cli`, the public client of
 * `cohera login` (DESIGN §5.3, §9.1). It is owned by the installation's system org, which has no members,
 * so no org's admin can see, edit or delete it (the console's queries are per org); it is usable by the
 * people of every org, and a token it gets acts in the org of the person who signed in, as for any app.
 *
 * It uses the device authorization grant (RFC 8628) and refresh tokens, nothing else: no redirect URIs, so
 * no authorization-code flow can ever end at it. Its scope ceiling is every API scope; what a login gets is
 * what was asked, cut to what the person's role holds, and what they allowed on the consent page.
 */
import { hasScope, SCOPES } from '@cohera/shared';
import type { AdapterPayload } from 'oidc-provider';
import { CLI_CLIENT_ID, SYSTEM_ORG_ID } from '../../storage/migrations/0013-oauth-revocation-device.ts';
import type { OAuthClientsTable } from '../../storage/schema.ts';
import { DEVICE_GRANT_TYPE } from './device-flow.ts';

export { CLI_CLIENT_ID, SYSTEM_ORG_ID };

export function isFirstPartyClient(row: Pick<OAuthClientsTable, 'id' | 'org_id'>): boolean {
  return row.org_id === SYSTEM_ORG_ID && row.id === CLI_CLIENT_ID;
}

/** The engine's metadata for `cohera-cli`: a public device-flow client (see artifact-adapter.ts for apps). */
export function firstPartyClientMetadata(row: OAuthClientsTable): AdapterPayload {
  const ceiling = JSON.parse(row.scopes) as string[];
  return {
    cohera_scopes: SCOPES.filter((scope) => hasScope(ceiling, scope)),
    client_id: row.id,
    client_name: row.name,
    redirect_uris: [],
    grant_types: [DEVICE_GRANT_TYPE, 'refresh_token'],
    response_types: [],
    token_endpoint_auth_method: 'none',
    scope: 'offline_access',
  };
}
