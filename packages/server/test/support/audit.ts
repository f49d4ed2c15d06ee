/** What the audit tests read back from the API: an event, a verdict of `/verify`, and the call that gets one. */
import assert from 'node:assert/strict';
import type { TestApp, TestOrg } from './app.ts';

/** An event as `GET /v1/audit-events` and its export show it. */
export interface AuditEventJson {
  id: string;
  object: string;
  at: string;
  org_id: string;
  actor: { kind: string; id: string };
  action: string;
  target: { kind: string; id: string } | null;
  result: 'success' | 'failure';
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  metadata: Record<string, unknown>;
  seq: number;
}

/** The answer of `GET /v1/audit-events/verify`. */
export interface Verdict {
  ok: boolean;
  checked: number;
  first_bad: string | null;
  reason: string | null;
  head_seq: number;
  digest: { seq: number; issued_at: string } | null;
}

/** `GET /v1/audit-events/verify` with the org's admin key (and a digest to check against), answered 200. */
export async function verifyChain(t: TestApp, org: TestOrg, digest?: string): Promise<Verdict> {
  const query = digest === undefined ? '' : `?digest=${encodeURIComponent(digest)}`;
  const response = await t.call(org.adminKey, 'GET', `/v1/audit-events/verify${query}`);
  assert.equal(response.statusCode, 200, response.body);
  return response.json<Verdict>();
}
