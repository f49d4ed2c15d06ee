/**
 * Dashboard sign-in (src/auth/sessions, DESIGN §5.3): the login page's markup and its open-redirect guard,
 * cookie attributes, uniform failures, login CSRF by Origin, CSRF on state changes, the per-request data
 * mode, rotation at login, sign-out, expiry, and roles — on both storage engines.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { CSRF_COOKIE, SESSION_COOKIE, SESSION_TTL_MS } from '../../src/auth/sessions/store.ts';
import { apiTime, isoAt, ManualClock } from '../../src/clock.ts';
import { hashPassword } from '../../src/users/passwords.ts';
import { addMembership, insertUser } from '../../src/users/repository.ts';
import { capturedLogs, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

const FORM = 'application/x-www-form-urlencoded';

interface SetCookie {
  value: string;
  /** Attribute names lower-cased; flags map to `true`. */
  attributes: Map<string, string | true>;
}

function setCookies(response: LightMyRequestResponse): Map<string, SetCookie> {
  const header = response.headers['set-cookie'];
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [String(header)];
  const cookies = new Map<string, SetCookie>();
  for (const line of lines) {
    const [pair = '', ...parts] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const attributes = new Map<string, string | true>();
    for (const part of parts) {
      const at = part.indexOf('=');
      if (at === -1) attributes.set(part.toLowerCase(), true);
      else attributes.set(part.slice(0, at).toLowerCase(), part.slice(at + 1));
    }
    cookies.set(pair.slice(0, eq), { value: decodeURIComponent(pair.slice(eq + 1)), attributes });
  }
  return cookies;
}

function cookieOf(response: LightMyRequestResponse, name: string): SetCookie {
  const cookie = setCookies(response).get(name);
  assert.ok(
    cookie,
    `expected a set-cookie for ${name}, got ${JSON.stringify(response.headers['set-cookie'])}`,
  );
  return cookie;
}

/** `<tag …>` elements of an HTML string with their attributes (enough for our own, simple markup). */
function elements(html: string, tag: string): Map<string, string>[] {
  const found: Map<string, string>[] = [];
  for (const match of html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'gi'))) {
    const attributes = new Map<string, string>();
    for (const attr of (match[1] ?? '').matchAll(/([a-z-]+)(?:="([^"]*)")?/gi)) {
      attributes.set((attr[1] ?? '').toLowerCase(), attr[2] ?? '');
    }
    found.push(attributes);
  }
  return found;
}

function hiddenReturnTo(html: string): string | undefined {
  return elements(html, 'input')
    .find((input) => input.get('name') === 'return_to')
    ?.get('value');
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

interface Session {
  token: string;
  csrf: string;
}

forEachEngine('sign-in sessions', (_engine, handle) => {
  const clock = new ManualClock();
  let t: TestApp;
  let org: TestOrg;
  let origin: string;
  /** Every session token and CSRF token handed out, and every password used: none may reach a log. */
  const issued: string[] = [];

  before(async () => {
    t = await startTestApp(handle(), { clock });
    org = await createOrg(t.app);
    origin = new URL(t.config.publicUrl).origin;
    issued.push(org.password);
  });
  after(() => t.close());

  async function login(email = org.email, password = org.password): Promise<Session> {
    const response = await t.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password },
    });
    assert.equal(response.statusCode, 200, response.body);
    const session = { token: cookieOf(response, SESSION_COOKIE).value, csrf: response.json().csrf_token };
    issued.push(session.token, session.csrf);
    return session;
  }

  function withSession(
    session: Session | { token: string; csrf?: string },
    method: 'GET' | 'POST',
    url: string,
    options: { body?: unknown; csrf?: string | null; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = {
      cookie: `${SESSION_COOKIE}=${session.token}`,
      ...options.headers,
    };
    const csrf = options.csrf === undefined ? session.csrf : options.csrf;
    if (csrf) headers['x-csrf-token'] = csrf;
    return t.inject({
      method,
      url,
      headers,
      ...(options.body === undefined ? {} : { payload: options.body as Record<string, unknown> }),
    });
  }

  test('GET /auth/login serves an accessible form under a strict CSP', async () => {
    const response = await t.inject({ method: 'GET', url: '/auth/login' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    const csp = String(response.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /form-action 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(response.headers['cache-control'], 'no-store');

    const html = response.body;
    const forms = elements(html, 'form');
    assert.equal(forms.length, 1);
    assert.equal(forms[0]?.get('method'), 'post');
    assert.equal(forms[0]?.get('action'), '/auth/login');
    const inputs = elements(html, 'input');
    const labels = elements(html, 'label');
    for (const [name, type] of [
      ['email', 'email'],
      ['password', 'password'],
    ]) {
      const input = inputs.find((i) => i.get('name') === name);
      assert.ok(input, `input[name=${name}]`);
      assert.equal(input.get('type'), type);
      assert.ok(input.has('required'));
      const id = input.get('id');
      assert.ok(id, `input[name=${name}] has an id`);
      assert.ok(
        labels.some((label) => label.get('for') === id),
        `a <label for="${id}"> exists`,
      );
    }
    const buttons = elements(html, 'button');
    assert.ok(buttons.some((button) => button.get('type') === 'submit'));
    // The button sits inside the form.
    assert.ok(
      html.indexOf('<button') > html.indexOf('<form') && html.indexOf('<button') < html.indexOf('</form>'),
    );
    assert.equal(hiddenReturnTo(html), '/');
  });

  test('return_to is reflected only when it is a same-site relative path', async () => {
    const cases: [string, string][] = [
      ['/dashboard?x=1', '/dashboard?x=1'],
      ['//evil.com', '/'],
      ['https://evil.com', '/'],
      ['/\\evil', '/'],
      ['javascript:alert(1)', '/'],
      ['/ok path', '/'],
    ];
    for (const [given, expected] of cases) {
      const response = await t.inject({
        method: 'GET',
        url: `/auth/login?return_to=${encodeURIComponent(given)}`,
      });
      assert.equal(response.statusCode, 200, given);
      assert.equal(hiddenReturnTo(response.body), expected, given);
    }
  });

  test('a reflected return_to is HTML-escaped', async () => {
    const hostile = '/x"><script>alert(1)</script>';
    const response = await t.inject({
      method: 'GET',
      url: `/auth/login?return_to=${encodeURIComponent(hostile)}`,
    });
    assert.equal(response.statusCode, 200);
    assert.ok(!response.body.includes('<script>'), 'no raw script tag');
    assert.ok(!response.body.includes('"><'), 'the attribute is not broken out of');
    assert.ok(response.body.includes('value="/x&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"'));
  });

  test('form login: 303 to return_to with session and CSRF cookies', async () => {
    const response = await t.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': FORM, origin },
      payload: form({ email: org.email, password: org.password, return_to: '/dashboard?x=1' }),
    });
    assert.equal(response.statusCode, 303, response.body);
    assert.equal(response.headers.location, '/dashboard?x=1');

    const session = cookieOf(response, SESSION_COOKIE);
    assert.match(session.value, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(session.attributes.get('httponly'), true);
    assert.equal(String(session.attributes.get('samesite')).toLowerCase(), 'lax');
    assert.equal(session.attributes.get('path'), '/');
    assert.equal(session.attributes.get('max-age'), String(SESSION_TTL_MS / 1000));
    assert.ok(!session.attributes.has('secure'), 'no Secure on an http public URL');

    const csrf = cookieOf(response, CSRF_COOKIE);
    assert.ok(csrf.value.length > 0);
    assert.ok(!csrf.attributes.has('httponly'), 'the SPA must read the CSRF cookie');
    assert.equal(csrf.attributes.get('path'), '/');
    assert.ok(!csrf.attributes.has('secure'));

    // The cookie is a working session whose CSRF token is the cookie's.
    const info = await withSession({ token: session.value }, 'GET', '/auth/session');
    assert.equal(info.statusCode, 200);
    assert.equal(info.json().csrf_token, csrf.value);
  });

  test('form login without return_to, or with an unsafe one, redirects to /', async () => {
    for (const returnTo of [undefined, '//evil.com', 'https://evil.com/x', '/\\evil']) {
      const fields: Record<string, string> = { email: org.email, password: org.password };
      if (returnTo !== undefined) fields.return_to = returnTo;
      const response = await t.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': FORM },
        payload: form(fields),
      });
      assert.equal(response.statusCode, 303, String(returnTo));
      assert.equal(response.headers.location, '/', String(returnTo));
    }
  });

  test('JSON login answers the user, org, role and CSRF token; email is case-insensitive', async () => {
    const response = await t.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: `  ${org.email.toUpperCase()}`, password: org.password },
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual(body.user, { id: org.userId, email: org.email });
    assert.equal(body.org.id, org.orgId);
    assert.equal(body.org.tier, 'pro');
    assert.equal(typeof body.org.name, 'string');
    assert.equal(body.role, 'owner');
    assert.equal(body.expires_at, apiTime(isoAt(clock.now() + SESSION_TTL_MS)));
    assert.equal(body.csrf_token, cookieOf(response, CSRF_COOKIE).value);
    assert.notEqual(body.csrf_token, cookieOf(response, SESSION_COOKIE).value);
  });

  test('wrong password and unknown email fail identically (JSON)', async () => {
    const wrong = await t.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: org.email, password: `${org.password}x` },
    });
    const unknown = await t.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: `nobody.${Date.now()}@example.com`, password: org.password },
    });
    for (const response of [wrong, unknown]) {
      assert.equal(response.statusCode, 401, response.body);
      assert.equal(response.json().code, 'invalid_login');
      assert.equal(response.headers['set-cookie'], undefined, 'no cookie on failure');
    }
    assert.equal(wrong.headers['content-type'], unknown.headers['content-type']);
    const { request_id: wrongId, ...wrongBody } = wrong.json();
    const { request_id: unknownId, ...unknownBody } = unknown.json();
    assert.notEqual(wrongId, unknownId);
    assert.deepEqual(wrongBody, unknownBody);
  });

  test('wrong password and unknown email fail identically (form)', async () => {
    const unknownEmail = `nobody.${Date.now()}@example.com`;
    const post = (email: string, password: string) =>
      t.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': FORM },
        payload: form({ email, password, return_to: '/after' }),
      });
    const wrong = await post(org.email, `${org.password}x`);
    const unknown = await post(unknownEmail, org.password);
    for (const response of [wrong, unknown]) {
      assert.equal(response.statusCode, 401);
      assert.match(String(response.headers['content-type']), /^text\/html/);
      assert.equal(response.headers['set-cookie'], undefined);
      assert.match(response.body, /role="alert"/);
      assert.equal(hiddenReturnTo(response.body), '/after');
      assert.ok(!response.body.includes(org.password), 'the password is never echoed');
    }
    // The page echoes the typed email back; apart from that the two pages are the same.
    assert.deepEqual(wrong.body.replace(org.email, 'EMAIL'), unknown.body.replace(unknownEmail, 'EMAIL'));
    assert.ok(wrong.body.includes(`value="${org.email}"`));
  });

  test('a login POST from a foreign Origin is refused; our own origin works', async () => {
    for (const headers of [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: 'https://evil.example', 'content-type': FORM },
    ]) {
      const json = headers['content-type'] === undefined;
      const response = await t.inject({
        method: 'POST',
        url: '/auth/login',
        headers,
        payload: json
          ? { email: org.email, password: org.password }
          : form({ email: org.email, password: org.password }),
      });
      assert.equal(response.statusCode, 403, JSON.stringify(headers));
      assert.equal(response.json().code, 'csrf_failed');
      assert.equal(response.headers['set-cookie'], undefined);
    }
    const ours = await t.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { origin },
      payload: { email: org.email, password: org.password },
    });
    assert.equal(ours.statusCode, 200, ours.body);
  });

  test('GET /auth/session describes the signed-in user', async () => {
    const session = await login();
    const response = await withSession(session, 'GET', '/auth/session');
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual(body.user, { id: org.userId, email: org.email });
    assert.equal(body.org.id, org.orgId);
    assert.equal(body.role, 'owner');
    assert.equal(body.csrf_token, session.csrf);
  });

  test('a session reads the API and needs the CSRF header to change anything', async () => {
    const session = await login();
    const list = await withSession(session, 'GET', '/v1/suppliers', { csrf: null });
    assert.equal(list.statusCode, 200, list.body);
    assert.ok(Array.isArray(list.json().data));

    const body = { name: 'Session Supplier', country: 'fr' };
    const missing = await withSession(session, 'POST', '/v1/suppliers', { body, csrf: null });
    assert.equal(missing.statusCode, 403);
    assert.equal(missing.json().code, 'csrf_failed');

    const other = await login();
    for (const wrong of [
      'not-a-token',
      other.csrf,
      `${session.csrf.slice(0, -1)}${session.csrf.endsWith('A') ? 'B' : 'A'}`,
    ]) {
      if (wrong === session.csrf) continue;
      const response = await withSession(session, 'POST', '/v1/suppliers', { body, csrf: wrong });
      assert.equal(response.statusCode, 403, wrong);
      assert.equal(response.json().code, 'csrf_failed');
    }

    const created = await withSession(session, 'POST', '/v1/suppliers', { body });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().country, 'FR');
    // Only the successful create made a supplier.
    const listed = await t.call(org.adminKey, 'GET', '/v1/suppliers?limit=100');
    assert.equal(listed.json().data.filter((s: { name: string }) => s.name === body.name).length, 1);
  });

  test('cohera-mode picks the data mode of a session request', async () => {
    const session = await login();
    const name = `Test-mode supplier ${Date.now()}`;
    const created = await withSession(session, 'POST', '/v1/suppliers', {
      body: { name, country: 'DE' },
      headers: { 'cohera-mode': 'test' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;

    const inTest = await withSession(session, 'GET', `/v1/suppliers/${id}`, {
      headers: { 'cohera-mode': 'test' },
    });
    assert.equal(inTest.statusCode, 200);
    assert.equal(inTest.json().name, name);
    const inLive = await withSession(session, 'GET', `/v1/suppliers/${id}`);
    assert.equal(inLive.statusCode, 404);
    const explicitLive = await withSession(session, 'GET', `/v1/suppliers/${id}`, {
      headers: { 'cohera-mode': 'live' },
    });
    assert.equal(explicitLive.statusCode, 404);
    const liveList = await withSession(session, 'GET', '/v1/suppliers?limit=100');
    assert.ok(!liveList.json().data.some((s: { id: string }) => s.id === id));
    const testList = await withSession(session, 'GET', '/v1/suppliers?limit=100', {
      headers: { 'cohera-mode': 'test' },
    });
    assert.ok(testList.json().data.some((s: { id: string }) => s.id === id));

    const bad = await withSession(session, 'GET', '/v1/suppliers', { headers: { 'cohera-mode': 'staging' } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'validation_failed');
    assert.equal(bad.json().errors[0].field, 'header/cohera-mode');
  });

  test('logging in again with a session cookie ends the old session', async () => {
    const first = await login();
    const again = await t.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { cookie: `${SESSION_COOKIE}=${first.token}` },
      payload: { email: org.email, password: org.password },
    });
    assert.equal(again.statusCode, 200, again.body);
    const second = cookieOf(again, SESSION_COOKIE).value;
    assert.notEqual(second, first.token);
    const old = await withSession(first, 'GET', '/auth/session');
    assert.equal(old.statusCode, 401);
    assert.equal(old.json().code, 'invalid_credential');
    assert.equal((await withSession({ token: second }, 'GET', '/auth/session')).statusCode, 200);
  });

  test('logout needs CSRF, clears the cookies and ends the session', async () => {
    const session = await login();
    const refused = await withSession(session, 'POST', '/auth/logout', { csrf: null });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().code, 'csrf_failed');
    assert.equal((await withSession(session, 'GET', '/auth/session')).statusCode, 200, 'still signed in');

    const response = await withSession(session, 'POST', '/auth/logout');
    assert.equal(response.statusCode, 204, response.body);
    for (const name of [SESSION_COOKIE, CSRF_COOKIE]) {
      const cleared = cookieOf(response, name);
      assert.equal(cleared.value, '', name);
      const expires = cleared.attributes.get('expires');
      const maxAge = cleared.attributes.get('max-age');
      assert.ok(
        maxAge === '0' || (typeof expires === 'string' && Date.parse(expires) <= Date.now()),
        `${name} is expired`,
      );
      assert.equal(cleared.attributes.get('path'), '/');
    }
    const signedOut = await withSession(session, 'GET', '/auth/session');
    assert.equal(signedOut.statusCode, 401);
    const read = await withSession(session, 'GET', '/v1/suppliers');
    assert.equal(read.statusCode, 401);
  });

  test('session routes refuse bearer credentials', async () => {
    const response = await t.call(org.adminKey, 'GET', '/auth/session');
    assert.equal(response.statusCode, 401);
    assert.equal(response.json().code, 'missing_credential');
    const logout = await t.call(org.adminKey, 'POST', '/auth/logout');
    assert.equal(logout.statusCode, 401);
    // …while the same key is accepted where bearer credentials belong.
    assert.equal((await t.call(org.adminKey, 'GET', '/v1/suppliers')).statusCode, 200);
  });

  test('a member signs in with role member and may write data', async () => {
    const email = `member.${Date.now()}@example.com`;
    const password = 'correct horse battery staple';
    issued.push(password);
    const now = clock.now();
    const user = await insertUser(t.app.deps.db, { email, passwordHash: await hashPassword(password) }, now);
    await addMembership(t.app.deps.db, { orgId: org.orgId, userId: user.id, role: 'member' }, now);

    const response = await t.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().role, 'member');
    assert.equal(response.json().org.id, org.orgId);
    const session = { token: cookieOf(response, SESSION_COOKIE).value, csrf: response.json().csrf_token };

    const info = await withSession(session, 'GET', '/auth/session');
    assert.equal(info.json().role, 'member');
    assert.deepEqual(info.json().user, { id: user.id, email });
    const created = await withSession(session, 'POST', '/v1/suppliers', {
      body: { name: 'Member Supplier', country: 'IT' },
    });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal((await withSession(session, 'GET', `/v1/suppliers/${created.json().id}`)).statusCode, 200);
  });

  // A second app on the same database, configured behind https. (In this suite rather than a second
  // forEachEngine: node:test mis-nests a second async describe per file that awaits the shared
  // PostgreSQL probe.)
  test('both cookies are Secure on an https public URL', async () => {
    const https = await startTestApp(handle(), { env: { COHERA_PUBLIC_URL: 'https://cohera.example.com' } });
    try {
      const response = await https.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': FORM, origin: 'https://cohera.example.com' },
        payload: form({ email: org.email, password: org.password }),
      });
      assert.equal(response.statusCode, 303, response.body);
      const session = cookieOf(response, SESSION_COOKIE);
      const csrf = cookieOf(response, CSRF_COOKIE);
      assert.equal(session.attributes.get('secure'), true);
      assert.equal(session.attributes.get('httponly'), true);
      assert.equal(csrf.attributes.get('secure'), true);
      assert.ok(!csrf.attributes.has('httponly'));

      // The origin check follows the public URL: the same host over http is another origin.
      const foreign = await https.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { origin: 'http://cohera.example.com' },
        payload: { email: org.email, password: org.password },
      });
      assert.equal(foreign.statusCode, 403);
      assert.equal(foreign.json().code, 'csrf_failed');
    } finally {
      await https.close();
    }
  });

  // Last: it moves the shared clock.
  test('a session expires after 12 hours', async () => {
    const session = await login();
    clock.advance(SESSION_TTL_MS - 60_000);
    assert.equal((await withSession(session, 'GET', '/auth/session')).statusCode, 200);
    clock.advance(60_000);
    const expired = await withSession(session, 'GET', '/auth/session');
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.json().code, 'invalid_credential');
    const read = await withSession(session, 'GET', '/v1/suppliers');
    assert.equal(read.statusCode, 401);
  });

  test('no password, session token or CSRF token appears in the logs', () => {
    assert.ok(issued.length > 10);
    const logs = capturedLogs.join('\n');
    assert.match(logs, /"action":"user.login"/, 'sign-ins were logged (as audit events)');
    for (const secret of issued) assert.ok(!logs.includes(secret), 'a secret reached the logs');
  });
});
