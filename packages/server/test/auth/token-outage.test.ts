/**
 * Service-account JWTs and OAuth access tokens while PostgreSQL cannot answer (issue 22): like API keys
 * (test/storage/outage.test.ts), a token storage confirmed recently keeps working while its re-read hangs
 * or fails, for at most STALE_SERVE_MAX_MS after that confirmation; a token this node never verified gets
 * 503, not 401; and a revocation that reached the database but not this node's bus (a lost message) is
 * refused at the first re-read once the database answers again.
 *
 * The database sits behind a TCP proxy that can freeze the connection (support/freezable-proxy.ts); the
 * manual clock moves time across the recheck and stale bounds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import pg from 'pg';
import type { AuthContext } from '../../src/auth/context.ts';
import {
  CREDENTIAL_RECHECK_MS,
  type VerifiedToken,
  VerifiedTokenCache,
} from '../../src/auth/verified-token-cache.ts';
import { ManualClock } from '../../src/clock.ts';
import { STALE_RETRY_MS, STALE_SERVE_MAX_MS } from '../../src/storage/stale-while-revalidate.ts';
import { isDatabaseUnavailable } from '../../src/storage/unavailable.ts';
import { createAccount, generateKey, mint, signerOf } from '../service-accounts/fixtures.ts';
import type { TestOrg } from '../support/app.ts';
import { createOrg } from '../support/app.ts';
import { tempDir } from '../support/config.ts';
import {
  createPostgresDatabase,
  type EngineHandle,
  POSTGRES_ADMIN_URL,
  postgresReachable,
} from '../support/engines.ts';
import { FreezableProxy } from '../support/freezable-proxy.ts';
import {
  authorize,
  Browser,
  type OAuthTestServer,
  registerClient,
  startOAuthServer,
} from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';

/** Waits for `check` to hold, polling; fails after a generous deadline (a bound on a hang, not a timing). */
async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(20);
  }
}

const reachable = await postgresReachable();
if (!reachable && process.env.CI) {
  throw new Error(`PostgreSQL is unreachable at ${POSTGRES_ADMIN_URL}; CI must run these tests`);
}

describe('tokens while PostgreSQL cannot answer', {
  skip: reachable ? false : 'PostgreSQL unreachable (set COHERA_TEST_POSTGRES_URL)',
}, () => {
  // Wall time at the start: OAuth tokens are stamped by the engine's own clock.
  const clock = new ManualClock(Date.now());
  const dir = tempDir();
  let proxy: FreezableProxy;
  let target: { url: string; drop(): Promise<void> };
  let a: OAuthTestServer;
  let org: TestOrg;

  before(async () => {
    target = await createPostgresDatabase();
    proxy = await FreezableProxy.start(target.url);
    const url = proxy.urlThrough(target.url);
    const handle: EngineHandle = {
      engine: 'postgres',
      env: {
        COHERA_DATA_DIR: dir.path,
        COHERA_DATABASE_URL: url,
        COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS: '1',
        COHERA_DATABASE_STATEMENT_TIMEOUT_SECONDS: '1',
        COHERA_DATABASE_QUERY_TIMEOUT_SECONDS: '2',
      },
      dataDir: dir.path,
      databaseUrl: url,
      open: () => Promise.reject(new Error('not used')),
      cleanup: async () => {},
    };
    a = await startOAuthServer(handle, { clock });
    org = await createOrg(a.app);
  });
  after(async () => {
    proxy?.thaw();
    await a?.close();
    await proxy?.close();
    await target?.drop();
    dir.remove();
  });

  /** A service-account token of a new account, signed by its new key. */
  async function serviceAccountToken(): Promise<{ jwt: string; accountId: string }> {
    const account = await createAccount(a, org.adminKey, ['read:*']);
    const file = await generateKey(a, org.adminKey, account.id);
    const claims = { sub: account.id, org_id: org.orgId, iss: file.issuer, aud: file.audience };
    const jwt = await mint(await signerOf(file), { ...claims, scopes: ['read:*'] }, clock.now(), {
      lifetime: 3600,
    });
    return { jwt, accountId: account.id };
  }

  /** An OAuth access token of the org's owner through a new app, and its authorization's id. */
  async function accessToken(): Promise<{ token: string; authorizationId: string }> {
    const client = await registerClient(a, org.adminKey);
    const tokens = await authorize(a, new Browser(a.baseUrl), org, client, ['read:certificates']);
    return {
      token: tokens.access_token,
      authorizationId: decodeJwt(tokens.access_token).authorization_id as string,
    };
  }

  const verifiers = () => ({
    serviceAccounts: a.app.deps.serviceAccounts,
    oauthTokens: a.app.deps.oauthTokens,
  });
  type Kind = keyof ReturnType<typeof verifiers>;
  const verify = (kind: Kind, token: string): Promise<AuthContext> =>
    Promise.resolve().then(() => verifiers()[kind].verify(token));
  const failure = (kind: Kind, token: string): Promise<unknown> =>
    verify(kind, token).then(
      (context) => assert.fail(`served: ${JSON.stringify(context)}`),
      (error: unknown) => error,
    );

  test('a cached token due for its re-read is served while frozen, then without asking; an unknown one is 503', async () => {
    const sa = await serviceAccountToken();
    const oauth = await accessToken();
    const cached = {
      serviceAccounts: await verify('serviceAccounts', sa.jwt),
      oauthTokens: await verify('oauthTokens', oauth.token),
    };
    // Made while the database answers, never verified on this node.
    const unknownSa = await serviceAccountToken();
    const unknownOauth = await accessToken();

    clock.advance(CREDENTIAL_RECHECK_MS + 1_000); // past the recheck: both are due for a re-read
    proxy.freeze();
    try {
      assert.deepEqual(await verify('serviceAccounts', sa.jwt), cached.serviceAccounts);
      assert.deepEqual(await verify('oauthTokens', oauth.token), cached.oauthTokens);
      // Once the re-read failed (the 2 s query timeout), the entry is served synchronously.
      await eventually(
        'the failed service-account re-read noticed',
        () => !(verifiers().serviceAccounts.verify(sa.jwt) instanceof Promise),
      );
      await eventually(
        'the failed OAuth re-read noticed',
        () => !(verifiers().oauthTokens.verify(oauth.token) instanceof Promise),
      );

      // Never verified here: the outage, not a 401.
      for (const [kind, token] of [
        ['serviceAccounts', unknownSa.jwt],
        ['oauthTokens', unknownOauth.token],
      ] as const) {
        const error = await failure(kind, token);
        assert.equal(isDatabaseUnavailable(error), true, `${kind}: ${String(error)}`);
      }
      const response = await a.call(unknownOauth.token, 'GET', '/health');
      assertProblem(response, 503, 'service_unavailable');
      assert.ok(response.headers['retry-after'], 'Retry-After');
    } finally {
      proxy.thaw();
    }

    // Past the bound after storage last confirmed them, the database must answer.
    clock.advance(STALE_SERVE_MAX_MS);
    proxy.freeze();
    try {
      for (const [kind, token] of [
        ['serviceAccounts', sa.jwt],
        ['oauthTokens', oauth.token],
      ] as const) {
        const error = await failure(kind, token);
        assert.equal(isDatabaseUnavailable(error), true, `${kind}: ${String(error)}`);
      }
    } finally {
      proxy.thaw();
    }
    // And once it answers, both are verified afresh.
    assert.deepEqual(await verify('serviceAccounts', sa.jwt), cached.serviceAccounts);
    assert.deepEqual(await verify('oauthTokens', oauth.token), cached.oauthTokens);
  });

  test('a revocation made while the node could not read is refused at its first re-read after', async () => {
    const sa = await serviceAccountToken();
    const oauth = await accessToken();
    await verify('serviceAccounts', sa.jwt);
    await verify('oauthTokens', oauth.token);

    clock.advance(CREDENTIAL_RECHECK_MS + 1_000);
    proxy.freeze();
    try {
      await verify('serviceAccounts', sa.jwt);
      await verify('oauthTokens', oauth.token);
      await eventually(
        'both served without asking',
        () =>
          !(verifiers().serviceAccounts.verify(sa.jwt) instanceof Promise) &&
          !(verifiers().oauthTokens.verify(oauth.token) instanceof Promise),
      );
      // Revoked in the database by another node (this one's connection is frozen, and no bus message
      // reaches it): the account deleted, the authorization revoked.
      const other = new pg.Client({ connectionString: target.url });
      await other.connect();
      try {
        const revokedAt = new Date(clock.now()).toISOString();
        await other.query('update service_accounts set deleted_at = $1 where id = $2', [
          revokedAt,
          sa.accountId,
        ]);
        await other.query('update oauth_authorizations set revoked_at = $1 where id = $2', [
          revokedAt,
          oauth.authorizationId,
        ]);
      } finally {
        await other.end();
      }
      // This node cannot know yet: still served.
      for (const [kind, token] of [
        ['serviceAccounts', sa.jwt],
        ['oauthTokens', oauth.token],
      ] as const) {
        const served = verifiers()[kind].verify(token);
        assert.ok(!(served instanceof Promise), `${kind}: served from the cache`);
        assert.equal(served.orgId, org.orgId);
      }
    } finally {
      proxy.thaw();
    }
    // Once the database answers, the next re-read (after the retry interval) refuses both, for good.
    clock.advance(STALE_RETRY_MS);
    for (const [kind, token] of [
      ['serviceAccounts', sa.jwt],
      ['oauthTokens', oauth.token],
    ] as const) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const error = await failure(kind, token);
        assert.equal((error as { code?: string }).code, 'revoked_credential', `${kind}: ${String(error)}`);
      }
    }
  });
});

describe('VerifiedTokenCache.verifyDue', () => {
  const context = Object.freeze({ orgId: 'org_1', principal: { kind: 'user', id: 'usr_1' } }) as AuthContext;
  const outage = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  const now = 1_000_000;
  function cacheWith(checkedAt: number) {
    const cache = new VerifiedTokenCache<VerifiedToken>(10, CREDENTIAL_RECHECK_MS);
    cache.remember('t', { context, validUntil: now + 3_600_000, checkedAt }, cache.generation);
    return cache;
  }

  test('an outage serves the entry and is not asked again until the retry time', async () => {
    const cache = cacheWith(now - CREDENTIAL_RECHECK_MS);
    assert.equal(cache.lookup('t', now), undefined, 'due for its re-read');
    let reads = 0;
    const failing = () => {
      reads++;
      return Promise.reject(outage());
    };
    assert.equal(await cache.verifyDue('t', now, () => now, failing), context);
    assert.equal(
      cache.verifyDue('t', now + STALE_RETRY_MS - 1, () => now, failing),
      context,
      'synchronous',
    );
    assert.equal(reads, 1);
    assert.equal(await cache.verifyDue('t', now + STALE_RETRY_MS, () => now, failing), context);
    assert.equal(reads, 2);
  });

  test('a refusal from storage removes the entry: the next request is verified again', async () => {
    const cache = cacheWith(now - CREDENTIAL_RECHECK_MS);
    const refused = new Error('revoked');
    const error = await Promise.resolve(
      cache.verifyDue(
        't',
        now,
        () => now,
        () => Promise.reject(refused),
      ),
    ).catch((e: unknown) => e);
    assert.equal(error, refused);
    let reads = 0;
    const outageError = await Promise.resolve(
      cache.verifyDue(
        't',
        now,
        () => now,
        () => {
          reads++;
          return Promise.reject(outage());
        },
      ),
    ).catch((e: unknown) => e);
    assert.equal(reads, 1);
    assert.equal(isDatabaseUnavailable(outageError), true, 'not served from a refused entry');
  });

  test(`an entry confirmed ${STALE_SERVE_MAX_MS / 60_000} minutes ago or more is never served`, async () => {
    const cache = cacheWith(now - STALE_SERVE_MAX_MS);
    assert.equal(cache.lookup('t', now), undefined);
    const error = await Promise.resolve(
      cache.verifyDue(
        't',
        now,
        () => now,
        () => Promise.reject(outage()),
      ),
    ).catch((e: unknown) => e);
    assert.equal(isDatabaseUnavailable(error), true);
  });
});
