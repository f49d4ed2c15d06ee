/**
 * The audit log's actors and targets in people's words: a user's e-mail, a key's name (and prefix…last4),
 * a service account's or an app's name, instead of `user:usr_…`. Read from the lists an owner or admin
 * can already see (members, API keys of both modes, service accounts, OAuth apps); anything not found
 * (a deleted key, a removed member) keeps its id. Best effort: a list that fails leaves its ids as they are.
 */
import { listAll } from '../../api/client.ts';
import type { ApiKey, Member, Mode, OAuthClient, ServiceAccountObject } from '../../api/types.ts';
import { keyLabel } from '../../lib/format.ts';

/** `kind:id` → the words for it. */
export type Names = ReadonlyMap<string, string>;

async function settled<T>(read: () => Promise<T[]>): Promise<T[]> {
  try {
    return await read();
  } catch {
    return [];
  }
}

const MODES: readonly Mode[] = ['live', 'test'];

export async function loadNames(): Promise<Names> {
  const [members, keys, accounts, apps] = await Promise.all([
    settled(() => listAll<Member>('/v1/organization/members')),
    Promise.all(MODES.map((mode) => settled(() => listAll<ApiKey>('/v1/api-keys', { mode })))),
    // These two lists follow the session's mode (the audit log is read in live mode): live ones are named.
    settled(() => listAll<ServiceAccountObject>('/v1/service-accounts')),
    settled(() => listAll<OAuthClient>('/v1/oauth/clients')),
  ]);
  const names = new Map<string, string>();
  for (const member of members) names.set(`user:${member.user_id}`, member.email);
  for (const key of keys.flat())
    names.set(`api_key:${key.id}`, `${key.name} (${keyLabel(key.prefix, key.last4)})`);
  for (const account of accounts) names.set(`service_account:${account.id}`, account.name);
  for (const app of apps) {
    // Audit events name an app by its record id or by its client ID (tokens carry the client ID).
    names.set(`oauth_client:${app.id}`, app.name);
    names.set(`oauth_client:${app.client_id}`, app.name);
  }
  return names;
}

const KIND_WORDS: Record<string, string> = {
  user: 'User',
  api_key: 'API key',
  service_account: 'Service account',
  oauth_client: 'App',
  operator: 'Operator',
  system: 'Cohera',
  anonymous: 'Anonymous',
};

/** What a person reads for `{kind, id}`: the kind in words and the name, or the id when none is known. */
export function describe(
  party: { kind: string; id: string },
  names: Names | null,
): {
  kind: string;
  name: string | null;
} {
  return {
    kind: KIND_WORDS[party.kind] ?? party.kind,
    name: names?.get(`${party.kind}:${party.id}`) ?? null,
  };
}
