/**
 * The API's objects, as the SDK declares them (one source of truth, checked against the server's OpenAPI
 * document by the SDK's contract test), plus the session and the organization-usage shapes the dashboard
 * alone uses. Type-only: nothing of the SDK is bundled.
 */
export type * from '../../../sdk/src/types.ts';

import type { Mode, OrganizationUsage, UsageWindow } from '../../../sdk/src/types.ts';

export type Role = 'owner' | 'admin' | 'member' | 'viewer';

/** `GET /auth/session`. */
export interface Session {
  user: { id: string; email: string };
  org: { id: string; name: string; tier: string };
  role: Role;
  expires_at: string;
  csrf_token: string;
}

/** The SDK's names, shorter for the dashboard's components. */
export type WindowStanding = UsageWindow;
export type OrgUsage = OrganizationUsage;

/** `GET /v1/oauth/authorizations`: an app the signed-in user has authorized. */
export interface Authorization {
  id: string;
  object: 'oauth_authorization';
  client: { id: string; name: string };
  scopes: string[];
  mode: Mode;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
}
