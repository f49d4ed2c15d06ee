/**
 * Redirect URIs reach the consent page's Content-Security-Policy (issue 14): a host like
 * `x;frame-ancestors` used to end `form-action` early and add a `frame-ancestors` that let another origin
 * frame the sign-in and consent pages. The class, not the example:
 * - registration refuses every host that is not a DNS name of LDH labels or an IP literal, and every URI a
 *   URL parser would read differently from another (whitespace, backslash, percent-encoded host), each with
 *   a sentence that says what to change; good URIs (IDN → xn--, loopback http, IP literals, ports, `;` in a
 *   path) are accepted and stored canonical;
 * - whatever the list holds, the policy a page gets starts with `frame-ancestors 'none'` and every source
 *   in it matches a strict origin grammar (support/csp.ts), including for an app registered before the rules
 *   (a row written straight into the database, before migration 0008 and after it): the migration flags its
 *   bad URIs, the console object names them, and the authorize step refuses them with an error page.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkRedirectUri, newId } from '@cohera/shared';
import fc from 'fast-check';
import { Kysely, type Migration, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { pageCsp } from '../../src/http/html-page.ts';
import { foundation } from '../../src/storage/migrations/0001-foundation.ts';
import { apiKeyLifecycle } from '../../src/storage/migrations/0002-api-key-lifecycle.ts';
import { serviceAccounts } from '../../src/storage/migrations/0003-service-accounts.ts';
import { oauth } from '../../src/storage/migrations/0004-oauth.ts';
import { audit } from '../../src/storage/migrations/0005-audit.ts';
import { idempotency } from '../../src/storage/migrations/0006-idempotency.ts';
import { orgUsage } from '../../src/storage/migrations/0007-org-usage.ts';
import { createSqliteDialect } from '../../src/storage/sqlite-dialect.ts';
import { createKey, createMember, createOrg, type TestOrg } from '../support/app.ts';
import { assertStrictCsp, assertUnframeable, STRICT_ORIGIN } from '../support/csp.ts';
import { type EngineHandle, forEachEngine } from '../support/engines.ts';
import {
  authorizationRequest,
  Browser,
  type OAuthTestServer,
  REDIRECT_URI,
  registerClient,
  startOAuthServer,
} from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';

/** Hostile URIs, and what the refusal must mention. Each is refused whole, whatever else is listed. */
const HOSTILE: ReadonlyArray<[string, RegExp]> = [
  ['https://x;frame-ancestors/cb', /semicolon/],
  ['https://evil.example;frame-ancestors/cb', /semicolon/],
  ['https://a*b.example/cb', /asterisk/],
  ['https://*.example/cb', /asterisk/],
  ["https://a'b.example/cb", /single quote/],
  ["https://x';script-src/cb", /single quote/],
  ['https://a,b.example/cb', /comma/],
  ['https://a b.example/cb', /space/],
  ['https://x;frame-ancestors https://attacker.example/cb', /space/],
  ['https://a\tb.example/cb', /tab/],
  ['https://app.example\n/cb', /line break/],
  ['https://a"b.example/cb', /double quote/],
  ['https://app.example\\@evil.example/cb', /backslash/],
  ['https://app.example\\cb', /backslash/],
  ['https://x%3Bframe-ancestors/cb', /percent-encoded host/],
  ['https://x%20y.example/cb', /percent-encoded host/],
  ['https://x%2Cy.example/cb', /percent-encoded host/],
  ['https://x%27y.example/cb', /percent-encoded host/],
  ['https://x\uFF1Bframe-ancestors/cb', /semicolon/], // full-width ；, which IDNA maps to ;
  ['https://x\uFF0Cy.example/cb', /comma/],
  ['https://example.com./cb', /ends with a dot/],
  ['https://a..b.example/cb', /empty label/],
  ['https://.a.example/cb', /empty label/],
  [`https://${'a'.repeat(64)}.example/cb`, /longer than 63/],
  [`https://${Array.from({ length: 5 }, () => 'b'.repeat(60)).join('.')}/cb`, /longer than 253/],
  ['https://-app.example/cb', /hyphen/],
  ['https://app_1.example/cb', /letters, digits, hyphens and dots/],
  ['https://user:pass@app.example/cb', /credentials/],
  ['https://user@app.example/cb', /credentials/],
  ['https://app.example/cb#frag', /fragment/],
  ['https://app.example/cb#', /fragment/],
  ['ftp://app.example/cb', /https/],
  ['myapp://callback', /https/],
  ['javascript:alert(1)', /https/],
  ['JavaScript:alert(document.domain)//', /https/],
  ['data:text/html,<script>alert(1)</script>', /https/],
  ['http://app.example/cb', /http is allowed only for loopback/],
  ['https:app.example/cb', /https:\/\/host\/path/],
  ['https:///cb', /no host/],
  ['/callback', /absolute/],
  ['https://0x7f.1/cb', /IPv4/],
  ['https://127.1/cb', /IPv4/],
  ['https://010.0.0.1/cb', /IPv4/],
  ['https://[::1/cb', /IPv6/],
  ['https://[fe80::1%25eth0]/cb', /IPv6/],
  ['https://app.example:/cb', /port/],
  ['https://app.example:0/cb', /port/],
  ['https://app.example:99999/cb', /port/],
  ['https://app.example/caf\u00e9', /percent-encode/],
  ['https://app.example/cb?next=<script>', /percent-encode/],
  ['https://app.example/cb?x=%zz', /percent-encoded byte/],
];

/** Good URIs and what is stored: the host canonical (lower case, A-labels, IPv6 compressed), the rest as typed. */
const GOOD: ReadonlyArray<[string, string]> = [
  ['https://app.example.com/callback', 'https://app.example.com/callback'],
  ['https://App.Example.COM/Callback', 'https://app.example.com/Callback'],
  ['https://bücher.example/cb', 'https://xn--bcher-kva.example/cb'],
  // A homograph of apple.com in Cyrillic: accepted, but stored (and shown) as what it is.
  ['https://\u0430\u0440\u0440\u04cf\u0435.com/cb', 'https://xn--80ak6aa92e.com/cb'],
  ['https://xn--bcher-kva.example/cb', 'https://xn--bcher-kva.example/cb'],
  ['http://127.0.0.1:5173/callback', 'http://127.0.0.1:5173/callback'],
  ['http://127.8.9.10/cb', 'http://127.8.9.10/cb'],
  ['http://localhost:3000/cb', 'http://localhost:3000/cb'],
  ['http://[::1]:8080/cb', 'http://[::1]:8080/cb'],
  ['https://192.0.2.10/cb', 'https://192.0.2.10/cb'],
  ['https://[2001:db8::1]:8443/cb', 'https://[2001:db8::1]:8443/cb'],
  ['https://[2001:DB8:0:0:0:0:0:1]/cb', 'https://[2001:db8::1]/cb'],
  ['https://app.example.com:8443/oauth/cb', 'https://app.example.com:8443/oauth/cb'],
  ['https://app.example.com', 'https://app.example.com'],
  // `;`, quotes, `,` and `*` in the path or query are fine: a path never reaches a CSP origin.
  [
    "https://app.example.com/cb;jsessionid=a1;frame-ancestors?x='1',y=*",
    "https://app.example.com/cb;jsessionid=a1;frame-ancestors?x='1',y=*",
  ],
  [
    'https://app.example.com/cb?tenant=acme&next=%2Fhome',
    'https://app.example.com/cb?tenant=acme&next=%2Fhome',
  ],
];

function headersOf(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return headers;
}

/** A refusal must read as a sentence for a person, not as the pattern that refused it. */
function assertSentence(message: string, uri: string): void {
  assert.ok(message.length > 10, `${uri}: ${message}`);
  assert.doesNotMatch(
    message,
    /\[a-z|\\d|\(\?[:=!]|\{0,|\^\[|\$\//,
    `${uri}: reads like a regex: ${message}`,
  );
}

describe('redirect-URI rules (shared with the dashboard)', () => {
  test('every hostile URI is refused, with a sentence that names the problem', () => {
    for (const [uri, mentions] of HOSTILE) {
      const check = checkRedirectUri(uri);
      assert.equal(check.ok, false, `${JSON.stringify(uri)} was accepted`);
      if (check.ok) continue;
      assert.match(check.problem, mentions, JSON.stringify(uri));
      assertSentence(check.problem, uri);
    }
  });

  test('good URIs are accepted and made canonical; their origin matches the strict grammar', () => {
    for (const [uri, stored] of GOOD) {
      const check = checkRedirectUri(uri);
      assert.ok(check.ok, `${uri}: ${check.ok ? '' : check.problem}`);
      assert.equal(check.uri, stored);
      assert.match(check.origin, STRICT_ORIGIN, uri);
      assert.equal(check.origin, new URL(stored).origin);
    }
  });

  test('whatever string it is given, an accepted URI has a strict origin', () => {
    const hostChars = fc.constantFrom(...'abz09-._;,*\'"% \t\\@:[]/?#\u00fc\uff1b\u3002'.split(''));
    const uris = fc
      .tuple(
        fc.constantFrom('https://', 'http://', 'HTTPS://', 'https:', ''),
        fc.array(hostChars, { maxLength: 24 }).map((chars) => chars.join('')),
        fc.constantFrom('', ':8443', ':', ':0'),
        fc.constantFrom('', '/', '/cb;x', '/cb?a=1'),
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(uris, (uri) => {
        const check = checkRedirectUri(uri);
        if (!check.ok) return true;
        return STRICT_ORIGIN.test(check.origin) && !/[;,'"*\s\\%]/.test(check.origin);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the CSP of a page', () => {
  test("starts with frame-ancestors 'none' and lists only strict origins, whatever it is handed", () => {
    const handed = [
      'https://x;frame-ancestors',
      'https://attacker.example',
      "'unsafe-inline'",
      '*',
      'https:',
      'https://a b.example',
      'https://a,b.example',
      "https://a'b.example",
      'javascript:',
      'https://ok.example:8443',
      'http://[::1]:3000',
      'https://ok.example/path',
      'https://ok.example:99999',
    ];
    const csp = pageCsp(handed, ["'sha256-abc'", "'unsafe-eval'", `'sha256-${'A'.repeat(43)}='`]);
    const formAction = assertStrictCsp(csp, 'pageCsp');
    assert.deepEqual(formAction, [
      "'self'",
      'https://attacker.example',
      'https://ok.example:8443',
      'http://[::1]:3000',
    ]);
    assert.ok(csp.includes(`script-src 'sha256-${'A'.repeat(43)}='`), csp);
    assert.ok(!csp.includes('unsafe-eval'), csp);
  });

  test('holds for any list of strings (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 8 }), (handed) => {
        assertStrictCsp(pageCsp(handed), 'pageCsp');
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});

const MIGRATIONS_BEFORE_0008 = (dialect: 'sqlite' | 'postgres'): Record<string, Migration> => ({
  '0001-foundation': foundation(dialect),
  '0002-api-key-lifecycle': apiKeyLifecycle(dialect),
  '0003-service-accounts': serviceAccounts(dialect),
  '0004-oauth': oauth(dialect),
  '0005-audit': audit(dialect),
  '0006-idempotency': idempotency(dialect),
  '0007-org-usage': orgUsage(dialect),
});

/** A database as the release before this fix left it: migrated up to 0007, nothing after. */
async function openBefore0008(handle: EngineHandle): Promise<Kysely<unknown>> {
  const db =
    handle.engine === 'sqlite'
      ? new Kysely<unknown>({ dialect: createSqliteDialect(join(handle.dataDir, 'cohera.sqlite')) })
      : new Kysely<unknown>({
          dialect: new PostgresDialect({
            pool: new pg.Pool({ connectionString: handle.databaseUrl as string }),
          }),
        });
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS_BEFORE_0008(handle.engine) },
    migrationTableName: 'cohera_migrations',
    migrationLockTableName: 'cohera_migrations_lock',
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
  return db;
}

/** What an older release let through: the attack of the issue, next to URIs that were and stay fine. */
const LEGACY_URIS = [
  REDIRECT_URI,
  'https://x;frame-ancestors/cb',
  'https://attacker.example/cb',
  "https://x';script-src/cb",
  'https://x%3Bdefault-src/cb',
  'https://example.com./cb',
];
const LEGACY_BAD = LEGACY_URIS.slice(1).filter((uri) => uri !== 'https://attacker.example/cb');

/** A client row written as the old code did (or by hand), bypassing every check. Parameterized SQL only. */
async function insertRawClient(
  db: Kysely<unknown>,
  orgId: string,
  uris: readonly string[],
  name: string,
): Promise<string> {
  const id = newId('oauth_client', Date.now());
  const now = new Date().toISOString();
  await sql`
    insert into oauth_clients (id, org_id, mode, name, client_type, redirect_uris, scopes, secret_hash,
      secret_last4, previous_secret_hash, previous_secret_expires_at, created_by_kind, created_by_id,
      created_at, updated_at, deleted_at)
    values (${id}, ${orgId}, 'live', ${name}, 'public', ${JSON.stringify(uris)}, ${JSON.stringify(['read:certificates'])},
      null, null, null, null, 'user', 'usr_legacy', ${now}, ${now}, null)
  `.execute(db);
  return id;
}

interface ConsoleClient {
  id: string;
  redirect_uris: string[];
  redirect_uri_problems: { redirect_uri: string; problem: string }[];
}

forEachEngine('redirect URIs: registration, legacy clients and the pages’ CSP', (_engine, handle) => {
  let t: OAuthTestServer;
  let org: TestOrg;
  let legacy: {
    orgId: string;
    clientId: string;
    allBadId: string;
    member: { email: string; password: string };
  };
  let legacyKey: string;

  before(async () => {
    // The release before: a legacy org and app with the attack's URIs, then this release starts on it.
    const old = await openBefore0008(handle());
    const orgId = newId('organization', Date.now());
    const now = new Date().toISOString();
    await sql`
      insert into orgs (id, name, tier, rate_limit_per_minute, rate_limit_per_day, max_key_lifetime_days,
        key_rotation_days, created_at, updated_at)
      values (${orgId}, 'Legacy Apps Ltd', 'pro', null, null, null, null, ${now}, ${now})
    `.execute(old);
    const clientId = await insertRawClient(old, orgId, LEGACY_URIS, 'Legacy portal');
    const allBadId = await insertRawClient(old, orgId, ['https://x;frame-ancestors/cb'], 'Legacy broken');
    await old.destroy();

    t = await startOAuthServer(handle());
    org = await createOrg(t.app);
    const member = await createMember(t, { orgId }, 'owner');
    legacyKey = await createKey(t.app, { orgId, userId: member.userId }, ['admin']);
    legacy = { orgId, clientId, allBadId, member };
  });
  after(async () => {
    await t?.close();
  });

  test('registration refuses each hostile URI with 400 naming it and saying what to change', async () => {
    for (const [uri, mentions] of HOSTILE) {
      const res = await t.call(org.adminKey, 'POST', '/v1/oauth/clients', {
        name: 'Hostile',
        redirect_uris: ['https://ok.example.com/cb', uri],
        client_type: 'public',
        scopes: ['read:certificates'],
      });
      const problem = assertProblem(res, 400, 'validation_failed', 'body/redirect_uris/1');
      const message = problem.errors?.find((e) => e.field === 'body/redirect_uris/1')?.message ?? '';
      assert.match(message, mentions, JSON.stringify(uri));
      assertSentence(message, uri);
    }
    const list = await t.call(org.adminKey, 'GET', '/v1/oauth/clients?limit=100');
    assert.ok(
      !(list.json().data as ConsoleClient[]).some((client) =>
        client.redirect_uris.includes('https://ok.example.com/cb'),
      ),
      'nothing was registered',
    );
  });

  test('registration accepts good URIs, stores them canonical, and reports no problem', async () => {
    const res = await t.call(org.adminKey, 'POST', '/v1/oauth/clients', {
      name: 'Good',
      redirect_uris: GOOD.map(([uri]) => uri).slice(0, 10),
      client_type: 'confidential',
      scopes: ['read:certificates'],
    });
    assert.equal(res.statusCode, 201, res.body);
    const created = res.json() as ConsoleClient;
    assert.deepEqual(created.redirect_uris, [...new Set(GOOD.slice(0, 10).map(([, stored]) => stored))]);
    assert.deepEqual(created.redirect_uri_problems, []);
    const rest = await t.call(org.adminKey, 'POST', '/v1/oauth/clients', {
      name: 'Good too',
      redirect_uris: GOOD.map(([uri]) => uri).slice(10),
      client_type: 'public',
      scopes: ['read:certificates'],
    });
    assert.equal(rest.statusCode, 201, rest.body);
    assert.deepEqual(
      (rest.json() as ConsoleClient).redirect_uris,
      GOOD.slice(10).map(([, stored]) => stored),
    );
    const read = await t.call(org.adminKey, 'GET', `/v1/oauth/clients/${created.id}`);
    assert.deepEqual(
      (read.json() as ConsoleClient).redirect_uris,
      created.redirect_uris,
      'stored as returned',
    );
  });

  test('migration 0008 flags the legacy app’s bad URIs, and the console object says which and why', async () => {
    const row = await t.app.deps.db
      .selectFrom('oauth_clients')
      .select(['redirect_uri_problems'])
      .where('id', '=', legacy.clientId)
      .executeTakeFirstOrThrow();
    const recorded = JSON.parse(row.redirect_uri_problems) as { redirect_uri: string; problem: string }[];
    assert.deepEqual(
      recorded.map((p) => p.redirect_uri),
      LEGACY_BAD,
      'the migration recorded exactly the bad URIs',
    );

    const res = await t.call(legacyKey, 'GET', `/v1/oauth/clients/${legacy.clientId}`);
    assert.equal(res.statusCode, 200, res.body);
    const client = res.json() as ConsoleClient;
    assert.deepEqual(client.redirect_uris, LEGACY_URIS, 'the registration itself is shown as it is');
    assert.deepEqual(
      client.redirect_uri_problems.map((p) => p.redirect_uri),
      LEGACY_BAD,
    );
    for (const problem of client.redirect_uri_problems) {
      assert.match(problem.problem, /^This redirect URI /);
      assert.match(problem.problem, /refused/);
      assert.match(problem.problem, /Edit the app and replace it/);
      assertSentence(problem.problem, problem.redirect_uri);
    }
    assert.match(client.redirect_uri_problems[0]?.problem ?? '', /semicolon/);
    const listed = (await t.call(legacyKey, 'GET', '/v1/oauth/clients')).json().data as ConsoleClient[];
    assert.deepEqual(
      listed.find((c) => c.id === legacy.clientId)?.redirect_uri_problems,
      client.redirect_uri_problems,
    );
  });

  test('a row written around the API after the migration is flagged all the same (checked at run time)', async () => {
    const id = await insertRawClient(
      t.app.deps.db as unknown as Kysely<unknown>,
      legacy.orgId,
      [REDIRECT_URI, 'https://a,b.example/cb'],
      'Written by hand',
    );
    const client = (await t.call(legacyKey, 'GET', `/v1/oauth/clients/${id}`)).json() as ConsoleClient;
    assert.deepEqual(
      client.redirect_uri_problems.map((p) => p.redirect_uri),
      ['https://a,b.example/cb'],
    );
    const refused = await fetch(
      (
        await authorizationRequest(
          t.as,
          { client_id: id },
          ['read:certificates'],
          {},
          { redirectUri: 'https://a,b.example/cb' },
        )
      ).url,
      { redirect: 'manual' },
    );
    assert.equal(refused.status, 400);
    assert.equal(refused.headers.get('location'), null);
  });

  test('the authorize step refuses a flagged URI: an error page with the strict CSP, never a redirect', async () => {
    for (const uri of LEGACY_BAD) {
      const request = await authorizationRequest(
        t.as,
        { client_id: legacy.clientId },
        ['read:certificates'],
        {},
        {
          redirectUri: uri,
        },
      );
      const res = await fetch(request.url, { redirect: 'manual' });
      assert.equal(res.status, 400, uri);
      assert.equal(res.headers.get('location'), null, `${uri}: redirected`);
      assert.match(String(res.headers.get('content-type')), /^text\/html/);
      assertUnframeable(headersOf(res), `authorize with ${uri}`);
      const html = await res.text();
      assert.match(html, /invalid_redirect_uri/);
      assert.match(html, /registered before/);
      assert.match(html, /register the app again/);
    }
    // An app whose every URI is bad is unusable, and the page says why.
    const res = await fetch(
      (
        await authorizationRequest(
          t.as,
          { client_id: legacy.allBadId },
          ['read:certificates'],
          {},
          {
            redirectUri: 'https://x;frame-ancestors/cb',
          },
        )
      ).url,
      { redirect: 'manual' },
    );
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assertUnframeable(headersOf(res), 'authorize for an app with no usable URI');
    assert.match(await res.text(), /registered before/);
  });

  test('the legacy app’s sign-in and consent pages: frame-ancestors first, only strict origins', async () => {
    const browser = new Browser(t.baseUrl);
    const request = await authorizationRequest(
      t.as,
      { client_id: legacy.clientId },
      ['read:certificates'],
      {},
      {
        redirectUri: REDIRECT_URI,
      },
    );
    const { response } = await browser.navigate(request.url.href);
    assert.equal(response.status, 200);
    const interaction = new URL(response.url || request.url).pathname;
    const signIn = assertUnframeable(headersOf(response), 'sign-in page of the flow');
    const html = await response.text();
    assert.match(html, /name="password"/);
    const returnTo = /name="return_to" value="([^"]+)"/.exec(html)?.[1] as string;
    assert.match(returnTo, /^\/oauth\/interaction\//);

    // The same sign-in page as /auth/login?return_to=… (what an attacker would frame).
    const login = await browser.request(`${t.baseUrl}/auth/login?return_to=${encodeURIComponent(returnTo)}`);
    const loginActions = assertUnframeable(headersOf(login), '/auth/login?return_to=interaction');

    const consent = await browser.submit(`${t.baseUrl}/auth/login`, {
      email: legacy.member.email,
      password: legacy.member.password,
      return_to: returnTo,
    });
    assert.equal(consent.foreign, undefined);
    const consentHtml = await consent.response.text();
    assert.match(consentHtml, /name="decision"/, `expected the consent page after ${interaction}`);
    const consentActions = assertUnframeable(headersOf(consent.response), 'consent page');

    // The usable origins, and none of the flagged URIs' hosts.
    for (const actions of [signIn, loginActions, consentActions]) {
      assert.deepEqual(actions, ["'self'", new URL(REDIRECT_URI).origin, 'https://attacker.example']);
    }
  });

  test('the engine’s form_post pages carry the same policy, with their script hash and the app’s origin', async () => {
    const client = await registerClient(t, org.adminKey, {
      client_type: 'public',
      scopes: ['read:certificates'],
    });
    const assertFormPostPage = async (res: Response, where: string) => {
      const html = await res.text();
      assert.match(String(res.headers.get('content-type')), /^text\/html/, where);
      assert.match(html, /<form method="post" action="http:\/\/127\.0\.0\.1:9\/callback">/, html);
      const actions = assertUnframeable(headersOf(res), where);
      assert.deepEqual(actions, ["'self'", new URL(REDIRECT_URI).origin], where);
      // The page's one inline script runs (so the form posts itself), and nothing else could.
      const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
      const hash = createHash('sha256').update(script).digest('base64');
      const csp = String(res.headers.get('content-security-policy'));
      assert.ok(csp.includes(`script-src 'sha256-${hash}'`), `${where}: ${csp}`);
      return html;
    };
    // An error the engine answers through the requested response mode, at once.
    const refused = await authorizationRequest(t.as, client, ['openid', 'read:certificates'], {
      response_mode: 'form_post',
    });
    const error = await assertFormPostPage(
      await fetch(refused.url, { redirect: 'manual' }),
      'form_post error',
    );
    assert.match(error, /name="error" value="invalid_scope"/);

    // A granted authorization: after sign-in and consent, the engine resumes and posts the code.
    const browser = new Browser(t.baseUrl);
    const request = await authorizationRequest(t.as, client, ['read:certificates'], {
      response_mode: 'form_post',
    });
    const signIn = await browser.navigate(request.url.href);
    const returnTo = /name="return_to" value="([^"]+)"/.exec(await signIn.response.text())?.[1] as string;
    const consent = await browser.submit(`${t.baseUrl}/auth/login`, {
      email: org.email,
      password: org.password,
      return_to: returnTo,
    });
    const consentHtml = await consent.response.text();
    const action = /<form method="post" action="([^"]+)"/.exec(consentHtml)?.[1] as string;
    const granted = await browser.submit(new URL(action, t.baseUrl).href, {
      decision: 'allow',
      csrf_token: /name="csrf_token" value="([^"]+)"/.exec(consentHtml)?.[1] as string,
    });
    assert.equal(granted.foreign, undefined, 'form_post answers with a page, not a redirect');
    const code = await assertFormPostPage(granted.response, 'form_post with the code');
    assert.match(code, /name="code" value="[^"]+"/);
  });

  test('the engine’s error page for an unknown client is unframeable too', async () => {
    const res = await fetch(`${t.baseUrl}/oauth/authorize?client_id=cli_unknown&response_type=code`, {
      redirect: 'manual',
    });
    assert.equal(res.status, 400);
    assertUnframeable(headersOf(res), 'engine error page');
  });
});
