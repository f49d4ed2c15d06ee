/** Fixtures of the team tests: a person's dashboard session, and reading audit events of an org. */
import assert from 'node:assert/strict';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { TestApp } from '../support/app.ts';

export interface Session {
  userId: string;
  cookie: string;
  request(method: InjectOptions['method'], url: string, body?: unknown): Promise<LightMyRequestResponse>;
}

/** Signs in as the dashboard does (`POST /auth/login`, JSON), keeping the cookie and the CSRF token. */
export async function signIn(
  t: Pick<TestApp, 'inject'>,
  person: { email: string; password: string; userId: string },
): Promise<Session> {
  const res = await t.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: person.email, password: person.password },
  });
  assert.equal(res.statusCode, 200, res.body);
  const cookie = res.cookies.find((c) => c.name === 'cohera_session');
  assert.ok(cookie, 'login sets the session cookie');
  const csrf = res.json<{ csrf_token: string }>().csrf_token;
  return {
    userId: person.userId,
    cookie: cookie.value,
    request: (method, url, body) =>
      t.inject({
        method,
        url,
        cookies: { cohera_session: cookie.value },
        headers: { 'x-csrf-token': csrf },
        ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }),
      }),
  };
}

export interface AuditRow {
  action: string;
  actor: { kind: string; id: string };
  target: { kind: string; id: string } | null;
  metadata: Record<string, unknown>;
}

/** The org's audit events with `action` (through the API, as an operator would read them). */
export async function auditEvents(t: TestApp, adminKey: string, action: string): Promise<AuditRow[]> {
  const res = await t.call(
    adminKey,
    'GET',
    `/v1/audit-events?action=${encodeURIComponent(action)}&limit=100`,
  );
  assert.equal(res.statusCode, 200, res.body);
  return res.json<{ data: AuditRow[] }>().data;
}
