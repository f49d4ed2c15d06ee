/**
 * Helpers for the leak-intake tests: reporting keys to the public endpoint, waiting for the leak worker,
 * reading a key as the API shows it, and variants of a key that fail its checksum.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateApiKey, parseApiKey } from '@cohera/shared';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp, TestOrg } from '../support/app.ts';

export interface KeyObject {
  id: string;
  status: 'active' | 'expired' | 'revoked';
  revoked_at: string | null;
  revoked_reason: 'requested' | 'leaked' | null;
  leaked_at: string | null;
  prefix: string;
  last4: string;
}

/** `POST /v1/credentials/revoke` from `ip` (each test uses its own address, so the hourly limit is its own). */
export function report(
  t: TestApp,
  credentials: unknown,
  ip = '198.51.100.1',
): Promise<LightMyRequestResponse> {
  return t.inject({
    method: 'POST',
    url: '/v1/credentials/revoke',
    remoteAddress: ip,
    payload: credentials === undefined ? undefined : (credentials as Record<string, unknown>),
  });
}

/** The key whose plaintext is `key`, as `GET /v1/api-keys` shows it to the org's admin. */
export async function keyObject(t: TestApp, org: TestOrg, key: string): Promise<KeyObject> {
  const parsed = parseApiKey(key);
  assert.ok(parsed, 'a generated key parses');
  const modes = parsed.mode === 'live' ? '' : '&mode=test';
  const res = await t.call(org.adminKey, 'GET', `/v1/api-keys?limit=100${modes}`);
  assert.equal(res.statusCode, 200, res.body);
  const found = res
    .json<{ data: KeyObject[] }>()
    .data.filter((k) => k.prefix === parsed.prefix && k.last4 === parsed.last4);
  assert.equal(found.length, 1, `one key with ${parsed.prefix}…${parsed.last4}`);
  return found[0] as KeyObject;
}

/** Polls until `check` holds (the leak worker runs off the request path); fails after `budgetMs`. */
export async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  check: (value: T) => boolean,
  budgetMs = 3000,
): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    assert.ok(Date.now() < deadline, `${what}: not within ${budgetMs} ms (last: ${JSON.stringify(value)})`);
    await sleep(25);
  }
}

/** The key with its last checksum character changed: right shape, wrong checksum. */
export function wrongChecksum(key: string): string {
  const last = key.at(-1);
  const variant = `${key.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`;
  assert.equal(parseApiKey(variant), null);
  return variant;
}

/** A key that passes its checksum but that no server ever issued. */
export function unknownKey(mode: 'live' | 'test' = 'live'): string {
  return generateApiKey(mode);
}

/** `PATCH /v1/organization` with the org's admin key. */
export async function setLeakPolicy(t: TestApp, org: TestOrg, action: 'revoke' | 'notify'): Promise<void> {
  const res = await t.call(org.adminKey, 'PATCH', '/v1/organization', {
    policy: { leaked_key_action: action },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json<{ policy: { leaked_key_action: string } }>().policy.leaked_key_action, action);
}

/** The `api_key.leaked` webhook messages of an org (written whether or not an endpoint subscribes). */
export async function leakMessages(t: TestApp, orgId: string): Promise<{ body: string }[]> {
  return t.app.deps.db
    .selectFrom('webhook_messages')
    .select('body')
    .where('org_id', '=', orgId)
    .where('type', '=', 'api_key.leaked')
    .execute();
}
