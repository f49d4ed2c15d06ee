/**
 * Everything the org checks look at, asked of the API once through the SDK: the security report (which
 * already answers scopes, key age and leaks), the webhook endpoints with their latest deliveries, the audit
 * chain's verification, and the key list (to name the keys the project checks find). All of it needs the
 * `admin` scope; a credential without it, or none, makes the org items `skip`, never a failure.
 */
import {
  type ApiKey,
  type AuditVerification,
  type Cohera,
  PermissionError,
  type SecurityReport,
  type WebhookDelivery,
  type WebhookEndpoint,
} from '../../sdk.ts';

/** How many of an endpoint's latest deliveries are looked at. */
const RECENT_DELIVERIES = 20;

export interface EndpointHealth {
  endpoint: WebhookEndpoint;
  /** Newest first; empty for a disabled endpoint (not asked). */
  recent: WebhookDelivery[];
}

export type OrgData =
  | {
      state: 'ok';
      report: SecurityReport;
      endpoints: EndpointHealth[];
      audit: AuditVerification;
      keys: ApiKey[];
    }
  /** Not asked: `detail` says why, `fix` how to get the items answered. */
  | { state: 'skipped'; detail: string; fix: string | null }
  /** A call failed (server unreachable, credential rejected): the items are skipped and doctor exits 1. */
  | { state: 'error'; detail: string };

export const NOT_SIGNED_IN: OrgData = {
  state: 'skipped',
  detail: 'no credential',
  fix: '`cohera login`, or set COHERA_API_KEY',
};

export const OFFLINE: OrgData = { state: 'skipped', detail: '--offline', fix: null };

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function endpointHealth(client: Cohera, endpoint: WebhookEndpoint): Promise<EndpointHealth> {
  if (endpoint.status !== 'enabled') return { endpoint, recent: [] };
  const page = await client.webhookEndpoints.deliveries(endpoint.id, { limit: RECENT_DELIVERIES });
  return { endpoint, recent: page.data };
}

export async function gatherOrg(client: Cohera): Promise<OrgData> {
  try {
    // The report first: it is the call a credential without `admin` is refused, before any other.
    const report = await client.security.report();
    const [endpoints, audit, keys] = await Promise.all([
      all(client.webhookEndpoints.list({ limit: 100 })),
      client.auditEvents.verify(),
      all(client.apiKeys.list({ limit: 100 })),
    ]);
    return {
      state: 'ok',
      report,
      endpoints: await Promise.all(endpoints.map((endpoint) => endpointHealth(client, endpoint))),
      audit,
      keys,
    };
  } catch (error) {
    if (error instanceof PermissionError) {
      return {
        state: 'skipped',
        detail: 'needs an admin credential',
        fix: '`cohera login` as an owner or admin, or set COHERA_API_KEY to a key with the admin scope',
      };
    }
    return { state: 'error', detail: (error as Error).message };
  }
}
